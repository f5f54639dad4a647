"""One writer per node log: a second writer gets a typed error, not interleaved records."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from crash_writer import CONFIG

from adapters.store import ConcurrentWriteError, SqliteStore, StoreError, WriterBusyError
from hacore import inputs as inp

HOLDER = """
import sys
from adapters.store import SqliteStore
store = SqliteStore.open(sys.argv[1])
store.log_for(sys.argv[2]).append([__import__("hacore.inputs").inputs.Booted(1)], 0)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_second_store_object_cannot_write_the_same_node(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with SqliteStore.open(db, config=CONFIG) as first, SqliteStore.open(db) as second:
        first.log_for("a")
        with pytest.raises(WriterBusyError, match="node a") as info:
            second.log_for("a")
        assert info.value.node == "a"
        assert first.log_for("a") is first.log_for("a")  # the holder keeps its log


def test_another_process_holding_a_node_log_blocks_writers_until_it_dies(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "s.db")
    SqliteStore.open(db, config=CONFIG).close()
    child = subprocess.Popen(  # noqa: S603 - our interpreter, fixed argv
        [sys.executable, "-c", HOLDER, db, "a"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with SqliteStore.open(db) as store:
            with pytest.raises(WriterBusyError, match=f"pid {child.pid}"):
                store.log_for("a")
            store.log_for("b").append([inp.Booted(1)], 0)  # other nodes are free
            child.send_signal(signal.SIGKILL)  # a crash: no cleanup runs in the holder
            child.wait(timeout=10)
            log = store.log_for("a")  # the kernel released the lock with the process
            assert log.append([inp.Booted(2)], 0)[0].seq == 2
            assert store.verify() == {"a": 2, "b": 1}
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_two_writers_of_different_nodes_share_one_file(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with SqliteStore.open(db, config=CONFIG) as one, SqliteStore.open(db) as two:
        a, b = one.log_for("a"), two.log_for("b")
        for t in range(1, 21):
            a.append([inp.Booted(t)], 0)
            b.append([inp.Booted(t), inp.Booted(t)], 0)
        assert one.verify() == {"a": 20, "b": 40}


def test_a_writer_that_bypassed_the_lock_is_detected_before_writing(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with SqliteStore.open(db, config=CONFIG) as one, SqliteStore.open(db) as two:
        stale = one.log_for("a")
        stale.append([inp.Booted(1)], 0)
        one._lock.release(stale._node_id)  # as if locks did not work (NFS, a bug)
        two.log_for("a").append([inp.Booted(2)], 0)
        with pytest.raises(ConcurrentWriteError, match="node a"):
            stale.append([inp.Booted(3)], 0)
        assert two.verify() == {"a": 2}


def test_a_closed_log_refuses_appends(tmp_path: Path) -> None:
    with SqliteStore.open(str(tmp_path / "s.db"), config=CONFIG) as store:
        log = store.log_for("a")
        log.close()
        with pytest.raises(StoreError, match="closed"):
            log.append([inp.Booted(1)], 0)
        assert store.log_for("a") is not log  # the lock can be taken again
