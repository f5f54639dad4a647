"""``hacore simulate --log FILE``: the node logs of a run, in the SQLite event store.

The simulator keeps its logs in memory (:class:`sims.sim.SimLog`); the
``hacore`` command writes them at the end in one transaction through
``adapters.store.SqliteStore``, so ``hacore log verify`` and replay read a
simulated run exactly like a real node's log. It lives here, in the top
layer, because ``sims`` and ``adapters`` do not import each other.
"""

from __future__ import annotations

from adapters.store import NORMAL, SqliteStore
from sims.sim import RunResult


def write_logs(path: str, result: RunResult) -> dict[str, int]:
    store = SqliteStore.open(path, config=result.params.config(), synchronous=NORMAL)
    try:
        return store.write_run(result.logs)
    finally:
        store.close()
