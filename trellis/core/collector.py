"""The garbage collector in a serving process.

A Trellis process holds a few hundred thousand objects from start-up (Django, the apps,
the URL patterns, the translations, the instruments) that live as long as it does.
CPython's collector walks the objects of a generation each time it collects it, and a full
collection walks all of them: in a server process that is a pause of 150 to 330 ms every
few thousand requests, taken from whichever requests are in flight. `settle_collector`
runs once the application is loaded: it collects what start-up left behind, then moves
everything still alive to the permanent generation (`gc.freeze`), which no collection
walks. Later collections walk only what requests made. Objects frozen are never freed,
which for start-up's objects is what happens anyway. (docs/performance.md, "The
collector".)
"""

from __future__ import annotations

import gc


def settle_collector() -> None:
    """Collect start-up's garbage, then keep every object alive now out of later passes."""
    gc.collect()
    gc.freeze()
