"""FastAPI's native OpenTelemetry, switched off.

FastAPI (0.16x) asks the global OpenTelemetry providers on every request whether
tracing, metrics or logs are configured; each ask reads environment variables,
which py-spy put at 23% of the query process's busy time under load. tasktrail
configures no provider, so the apps say so once instead.
"""

from __future__ import annotations

from fastapi.telemetry import TelemetryConfig

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
