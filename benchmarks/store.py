"""Benchmark of the SQLite event store, against plain sqlite3 in the same run.

Prints one figure per line, ``name: value unit``:

* ``append_<sync>_batch<N>``: records/s through ``SqliteLog.append`` (chain
  hashing, head check, commit marker, one transaction per call);
* ``plain_<sync>_batch<N>``: the same rows through plain ``sqlite3``
  ``executemany``, one transaction per batch, same PRAGMAs, no hashing;
* ``ratio_<sync>_batch<N>``: the two divided (target >= 0.5 for FULL, batch 100);
* ``forced_full_normal_batch<N>``: the share of those NORMAL batches the
  store commits with FULL anyway (they hold an event that changes role or
  epoch or precedes an effect: ``_core.needs_full_sync``); plain sqlite3
  never does, which is most of the NORMAL ratios' gap;
* ``hash_chain_only``: records/s through ``hacore.log.make_records`` alone,
  the cost every append pays before SQLite sees a row;
* ``replay``: events/s from the file through decode and ``evolve``
  (target >= 200,000); ``evolve_only``: the same fold over already decoded
  events, the ceiling the core allows, and ``replay_to_evolve_only``, their
  ratio; ``verify``: records/s through the chain check on open.

Run: ``.venv/bin/python benchmarks/store.py [--quick]``. Not a test: no
figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from adapters.store import SqliteStore
from adapters.store import _core as core
from hacore import codec
from hacore import events as ev
from hacore.config import ClusterConfig
from hacore.evolve import evolve
from hacore.log import EVENT, GENESIS_HASH, InMemoryLog, LogRecord, make_records
from hacore.node import Node
from hacore.state import NodeState

# The realistic workload (a node driven through promotions, timers, peers) is
# the one the tests use; load it from there rather than keep two copies.
_spec = importlib.util.spec_from_file_location(
    "crash_writer", Path(__file__).resolve().parent.parent / "tests" / "crash_writer.py"
)
assert _spec is not None and _spec.loader is not None
_workload = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_workload)
CONFIG: ClusterConfig = _workload.CONFIG
drive: Callable[..., Iterator[int]] = _workload.drive


def realistic_log(decisions: int) -> list[LogRecord]:
    node = Node(CONFIG, "a", InMemoryLog("a"))
    for _ in drive(node, decisions, seed=42):
        pass
    return list(node.log.records())


def bench_store(directory: str, sync: str, batch: int, messages: list[codec.Message]) -> float:
    path = os.path.join(directory, f"store-{sync}-{batch}.db")
    with SqliteStore.open(path, synchronous=sync) as store:
        log = store.log_for("a")
        start = time.perf_counter()
        for i in range(0, len(messages), batch):
            log.append(messages[i : i + batch], 0)
        elapsed = time.perf_counter() - start
    return len(messages) / elapsed


def bench_plain(directory: str, sync: str, batch: int, rows: list[tuple[object, ...]]) -> float:
    path = os.path.join(directory, f"plain-{sync}-{batch}.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {sync}")
    conn.execute(core.SCHEMA[2])  # the same records table
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(core.INSERT_RECORD, rows[i : i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    parser.add_argument("--dir", help="where to put the files (default: a temp dir)")
    args = parser.parse_args(argv)
    scale = 1 if args.quick else 4
    source = realistic_log(1500 * scale)
    messages = [r.message() for r in source]
    print(f"records_in_workload: {len(source)} records")
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        run = 0

        def fresh() -> str:
            nonlocal run
            run += 1
            sub = os.path.join(directory, str(run))
            os.mkdir(sub)
            return sub

        for sync in (core.FULL, core.NORMAL):
            for batch in (1, 10, 100):
                count = min(len(messages), 1000 * scale * batch)
                sample = messages[:count]
                # The baseline writes exactly the rows the store writes.
                records = InMemoryLog("a").append(sample, 0)
                rows = core.record_rows(records)
                # Best of three, interleaved: this VM's fsync time is noisy.
                plain = max(bench_plain(fresh(), sync, batch, rows) for _ in range(3))
                ours = max(bench_store(fresh(), sync, batch, sample) for _ in range(3))
                name = f"{sync.lower()}_batch{batch}"
                print(f"append_{name}: {ours:,.0f} records/s")
                print(f"plain_{name}: {plain:,.0f} records/s")
                print(f"ratio_{name}: {ours / plain:.2f} x")
                if sync == core.NORMAL:
                    chunks = [records[i : i + batch] for i in range(0, len(records), batch)]
                    forced = sum(core.needs_full_sync(chunk) for chunk in chunks) / len(chunks)
                    print(f"forced_full_{name}: {forced:.0%} of batches")
        # The floor under every append: the core's chain (canonical JSON + SHA-256).
        start = time.perf_counter()
        for i in range(0, len(messages), 100):
            make_records("a", i + 1, GENESIS_HASH, 0, messages[i : i + 100])
        print(f"hash_chain_only: {len(messages) / (time.perf_counter() - start):,.0f} records/s")

        # Replay from file: a long log written in one bulk transaction.
        big = realistic_log(25_000 * scale)
        path = os.path.join(directory, "replay.db")
        with SqliteStore.open(path, config=CONFIG, synchronous=core.NORMAL) as store:
            store.write_run({"a": big})
        events = sum(1 for r in big if r.kind == EVENT)
        with SqliteStore.open(path, verify=False) as store:
            start = time.perf_counter()
            state = store.replay("a")
            replay_s = time.perf_counter() - start
            start = time.perf_counter()
            store.verify()
            verify_s = time.perf_counter() - start
        decoded = [r.message() for r in big if r.kind == EVENT]
        start = time.perf_counter()
        folded = NodeState(name="a")
        for message in decoded:
            assert isinstance(message, ev.Event)
            folded = evolve(folded, message)
        evolve_s = time.perf_counter() - start
        assert folded == state
        print(f"replay_events: {events} events")
        print(f"replay: {events / replay_s:,.0f} events/s")
        print(f"evolve_only: {events / evolve_s:,.0f} events/s")
        print(f"replay_to_evolve_only: {evolve_s / replay_s:.2f} x")
        print(f"verify: {len(big) / verify_s:,.0f} records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
