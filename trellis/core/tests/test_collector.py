"""Start-up's objects leave the collector's passes once the application is loaded."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from trellis.core.collector import settle_collector


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settling_freezes_what_is_alive_and_collects_what_is_not(unfrozen: None) -> None:
    class Cycle:
        other: object

    kept = [[n] for n in range(1000)]  # lists are tracked by the collector
    dropped = Cycle()
    dropped.other = dropped  # unreachable once the name goes: only a collection frees it
    gone = weakref.ref(dropped)
    del dropped
    assert gc.get_freeze_count() == 0 and gone() is not None
    settle_collector()
    assert gone() is None
    assert gc.get_freeze_count() > len(kept)


def test_the_served_application_is_settled_when_it_loads() -> None:
    """`trellis serve` loads trellis.wsgi: in a fresh interpreter, importing it leaves the
    loaded application's objects frozen."""
    code = (
        "import gc, os; os.environ.setdefault('TRELLIS_ENV', 'test'); "
        "import trellis.wsgi; print(gc.get_freeze_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert int(out.stdout.strip().splitlines()[-1]) > 10_000
