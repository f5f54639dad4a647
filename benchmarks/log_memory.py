"""Peak memory of ``hacore log verify`` and ``hacore log replay`` on a large store.

Prints ``name: value unit`` lines, each with a ratio against a baseline from
the same run: the target (a 2-million-record store in at most 100 MiB), and
with ``--before REV`` the same commands run on that revision's code against
the same file.

The store is written by a real node (the tests' realistic workload,
``tests/crash_writer.py``: promotions, timers, peers) through :class:`SinkLog`,
which chains records like any log but keeps only its head and writes rows
straight into the store's tables in large transactions, so building the file
does not hold the log in memory either. Each command runs in its own child
interpreter; its peak resident set is the kernel's ``ru_maxrss`` for that
child (``os.wait4``).

Run: ``.venv/bin/python benchmarks/log_memory.py [--records N] [--before REV]``.
Not a test: no figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from adapters.store import SqliteStore
from adapters.store import _core as core
from hacore import codec
from hacore.config import ClusterConfig
from hacore.log import GENESIS_HASH, LogRecord, make_records
from hacore.node import Node

ROOT = Path(__file__).resolve().parent.parent
TARGET_MIB = 100.0
BEFORE_REV = "eda7a03"  # main before issue 17

_spec = importlib.util.spec_from_file_location("crash_writer", ROOT / "tests" / "crash_writer.py")
assert _spec is not None and _spec.loader is not None
_workload = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_workload)
CONFIG: ClusterConfig = _workload.CONFIG
drive: Callable[..., Iterator[int]] = _workload.drive


class SinkLog:
    """An :class:`hacore.log.EventLog` that writes through to a store file and
    keeps only its head: rows are inserted in transactions of ``chunk`` records."""

    def __init__(self, conn: sqlite3.Connection, node: str, chunk: int = 20_000) -> None:
        self.node = node
        self.conn = conn
        self.chunk = chunk
        self.count = 0
        self.head = GENESIS_HASH
        self.rows: list[tuple[object, ...]] = []
        self.marks: list[tuple[str, int, int, str]] = []

    def append(self, entries: Sequence[codec.Message], epoch: int) -> list[LogRecord]:
        new = make_records(self.node, self.count + 1, self.head, epoch, entries)
        self.count += len(new)
        self.head = new[-1].hash
        self.rows.extend(core.record_rows(new))
        self.marks.append(core.batch_row(self.node, new))
        if len(self.rows) >= self.chunk:
            self.flush()
        return new

    def flush(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(core.INSERT_RECORD, self.rows)
        self.conn.executemany(core.INSERT_BATCH, self.marks)
        self.conn.execute("COMMIT")
        self.rows, self.marks = [], []

    def records(self, since: int = 1) -> Iterator[LogRecord]:
        raise NotImplementedError("a sink keeps no records")

    def verify(self) -> int:
        return self.count

    def __len__(self) -> int:
        return self.count


def build_store(path: str, records: int) -> int:
    with SqliteStore.open(path, config=CONFIG, synchronous=core.NORMAL) as store:
        store.log_for("a")  # registers the node (its lock byte) like any writer
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # a benchmark fixture, not a node's log
    sink = SinkLog(conn, "a")
    node = Node(CONFIG, "a", sink)
    for length in drive(node, 10**9, seed=42):
        if length >= records:
            break
    sink.flush()
    conn.close()
    return sink.count


def peak_mib(
    argv: list[str], cwd: str, env: dict[str, str], budget_s: float = 3600.0
) -> tuple[float, float, int]:
    """(peak RSS in MiB, wall seconds, exit code) of one child process.

    ``cwd`` is not the repository: ``python -c`` puts the working directory
    first on ``sys.path``, which would shadow a ``--before`` tree. A child
    still running after ``budget_s`` is killed (by its pid) and reported."""
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed argv
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > budget_s:
            child.kill()
            pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.05)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, child.returncode


def extract(rev: str, into: Path) -> None:
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(  # noqa: S603 - fixed argv, our own repository
            ["git", "-C", str(ROOT), "archive", "--format=tar", rev, *PACKAGES],
            stdout=out,
            check=True,
            timeout=60,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")


PACKAGES = ("hacore", "adapters", "hacli", "sims", "hacontracts")
CLI = "import sys; from hacli.main import main; sys.argv[0] = 'hacore'; sys.exit(main())"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--dir", help="where to put the store (default: a temp dir)")
    parser.add_argument(
        "--before", default=BEFORE_REV, metavar="REV", help="'none' to skip (default %(default)s)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        path = os.path.join(directory, "big.db")
        start = time.perf_counter()
        count = build_store(path, args.records)
        size = os.path.getsize(path) / 2**20
        print(
            f"store_records: {count} records ({size:,.0f} MiB file, "
            f"built in {time.perf_counter() - start:.0f} s)"
        )
        base = [sys.executable, "-c", CLI, "log"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = str(ROOT)
        after: dict[str, float] = {}
        for command in ("verify", "replay"):
            mib, wall, rc = peak_mib([*base, command, path], directory, env)
            after[command] = mib
            print(
                f"log_{command}_peak_rss: {mib:,.1f} MiB (x{mib / TARGET_MIB:.2f} of the "
                f"{TARGET_MIB:.0f} MiB target; {wall:.1f} s; exit {rc})"
            )
        if args.before != "none":
            tree = Path(directory) / "before"
            tree.mkdir()
            try:
                extract(args.before, tree)
            except (OSError, subprocess.SubprocessError) as exc:
                print(f"before {args.before}: skipped (cannot extract it: {exc})")
                return 0
            env["PYTHONPATH"] = str(tree)
            for command in ("verify", "replay"):
                mib, wall, rc = peak_mib([*base, command, path], directory, env)
                print(
                    f"log_{command}_peak_rss_before ({args.before}): {mib:,.1f} MiB "
                    f"({wall:.1f} s; exit {rc}); after/before: x{after[command] / mib:.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
