"""One port for both apps: reads to the query app, everything else to the command app."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

COMMAND_DOCS_PREFIX = "/commands/"


class CombinedApp:
    """GET and HEAD go to the query app, except the command app's own docs."""

    def __init__(self, commands: ASGIApp, queries: ASGIApp) -> None:
        self.commands = commands
        self.queries = queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the process, not the apps, owns start and stop
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        reading = scope.get("method") in ("GET", "HEAD")
        if reading and not scope["path"].startswith(COMMAND_DOCS_PREFIX):
            await self.queries(scope, receive, send)
        else:
            await self.commands(scope, receive, send)
