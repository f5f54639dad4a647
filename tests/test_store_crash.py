"""Crash safety, for real: SIGKILL a writing process at random moments.

A child (``tests/crash_writer.py``) recovers node ``a`` from the store and
appends decision after decision with ``synchronous=FULL``, printing each
acknowledged sequence number only after ``append`` returned. The test kills
it with SIGKILL at a random moment, then opens the store: it must verify
(chain, sequence, commit markers) and hold every acknowledged record. The
same file is reused across trials, so each trial also checks that the dead
writer's lock did not outlive it and that recovery continues the chain.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from crash_writer import CONFIG

from adapters.store import SqliteStore
from hacore.node import Node

WRITER = str(Path(__file__).with_name("crash_writer.py"))
TRIALS = 50


def _run_and_kill(db: str, seed: int, delay: float) -> list[int]:
    child = subprocess.Popen(  # noqa: S603 - our interpreter, fixed argv
        [sys.executable, WRITER, db, "a", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert child.stdout is not None
    try:
        ready = child.stdout.readline()
        assert ready == b"ready\n", child.stderr.read() if child.stderr else ready
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out = child.stdout.read()  # everything it acknowledged before dying
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return [int(line) for line in out.split()]


def test_every_acknowledged_record_survives_sigkill(tmp_path: Path) -> None:
    rng = random.Random(20240514)
    acknowledged_total: dict[str, int] = {}
    killed_while_writing = 0
    for trial in range(TRIALS):
        # A fresh file every 10 trials keeps recovery (a full replay) short.
        db = str(tmp_path / f"crash-{trial // 10}.db")
        acknowledged = _run_and_kill(db, seed=trial, delay=rng.uniform(0.0, 0.1))
        with SqliteStore.open(db) as store:  # verifies chain, sequence, markers
            durable = store.verify().get("a", 0)
            assert acknowledged == sorted(acknowledged)
            if acknowledged:
                killed_while_writing += 1
                assert acknowledged[-1] <= durable, (
                    f"trial {trial}: acknowledged seq {acknowledged[-1]} "
                    f"but only {durable} records survived"
                )
            earlier = acknowledged_total.get(db, 0)
            assert durable >= earlier, f"trial {trial}: lost records acknowledged earlier"
            acknowledged_total[db] = max([earlier, *acknowledged])
            if trial % 10 == 9:  # the surviving log is one the node can recover from
                Node.recover(CONFIG, "a", store.log_for("a"))
    assert sum(acknowledged_total.values()) > 500  # the children really were writing
    assert killed_while_writing > TRIALS // 2
