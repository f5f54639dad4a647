"""``hacore simulate --log FILE``: the node logs of a run, in the SQLite event store.

The simulator keeps its logs in memory (:class:`sims.sim.SimLog`) and writes
them at the end in one transaction through ``adapters.store.SqliteStore`` (the
only part of ``adapters`` that ``sims`` may use), so ``hacore log verify`` and
replay read a simulated run exactly like a real node's log.
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
