"""Keeps CPython's full collections short in processes whose heap is mostly long-lived.

A full (generation 2) collection walks every object the collector tracks. In a
serving process most of them live as long as it does: modules, the apps and, with
the in-process store, the read models. Under B2's load that walk took 180-240 ms
every two seconds, and every request in flight waited for it. ``gc.freeze()``
moves what is alive now out of the collector's sight, so later collections walk
only what was allocated since.

A frozen object is never collected as part of a cycle, so a freeze must happen
when little is short-lived: once a process has started, and after each replay of
the event store (at start, on reconnection, on a rebuild's switch), the moments
its heap grows in bulk. What a request in flight then holds is the bounded cost.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Collects what is garbage now, then exempts every survivor from later collections."""
    gc.collect()
    gc.freeze()
