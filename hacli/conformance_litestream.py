"""litestream conformance: the same scripted cases on the real binary and on
the simulator's fake (``sims/k3s.py``).

The real side is litestream 0.5 (``.venv/bin/litestream``) through the real
adapter (``adapters.litestream``) on two kine databases in a temporary
directory, each replicating into its own file replica and restoring from
its peer's (the lab's layout: one writer per replica); "the link is cut" is
the active's ``replicate`` SIGSTOPped (it cannot ship; it resumes shipping on
SIGCONT, as litestream does once a replica is reachable again). The fake is
:class:`sims.k3s.SimK3s` with its :class:`~sims.k3s.DatastoreFake` ports on
an unstarted two-node simulation (no core runs: the case drives the ports),
its clock advanced by the engine. A case returns outcome words (compared
exactly) and loss windows (seconds, compared within a tolerance).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from adapters.k3s import kine
from adapters.litestream.config import LitestreamConfig
from adapters.litestream.port import LitestreamDatastore
from adapters.litestream.quarantine import Quarantine
from adapters.litestream.replicator import Replicator
from hacore.ports import Done, Failed, Outcome
from sims.k3s import DatastoreFake
from sims.run import make_simulation

NODES = ("a", "b")
DEADLINE_S = 30.0


def tolerance_s(monitor_ms: int) -> float:
    """How far the median loss windows may differ: a quarter monitor interval
    plus 0.1 s for commit and scheduling noise on a loaded machine."""
    return monitor_ms / 4000 + 0.1


class Driver(Protocol):
    def clock(self) -> float: ...
    def wait(self, seconds: float) -> None: ...
    def write(self, n: str) -> str: ...
    def start_replication(self, n: str) -> Outcome: ...
    def stop_replication(self, n: str) -> Outcome: ...
    def restore(self, n: str) -> Outcome: ...
    def quarantine(self, n: str) -> Outcome: ...
    def kill(self, n: str) -> None: ...
    def settle(self, n: str) -> None: ...
    def cut(self, n: str) -> None: ...
    def heal(self, n: str) -> None: ...
    def empty_replica(self) -> None: ...
    def local(self, n: str) -> set[str]: ...
    def quarantined(self) -> set[str]: ...


# --------------------------------------------------------------- real ----


class RealDriver:
    def __init__(self, binary: str, monitor_ms: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hacore-lsconf-"))
        self.binary = binary
        self.ports: dict[str, LitestreamDatastore] = {}
        self.serial = 0
        for n in NODES:
            db = self.root / n / "db" / "state.db"
            db.parent.mkdir(parents=True)
            (self.root / n / "state").mkdir()
            conn = sqlite3.connect(db)
            conn.execute("PRAGMA journal_mode=wal")
            kine.create_schema(conn)
            conn.commit()
            conn.close()
            peer = NODES[1 - NODES.index(n)]
            config = LitestreamConfig(
                database=db,
                replica_dir=self.root / f"replica-{n}",
                restore_dir=self.root / f"replica-{peer}",
                socket=self.root / n / "state" / "ls.sock",
                monitor_interval_ms=monitor_ms,
                sync_interval_ms=monitor_ms,
            )
            replicator = Replicator(config, self.root / n / "state", binary)
            self.ports[n] = LitestreamDatastore(replicator, Quarantine(self.root / "quarantine"))

    def close(self) -> None:
        for port in self.ports.values():
            pid = port.replicator.pid()
            if pid is not None:
                os.kill(pid, signal.SIGCONT)
            port.replicator.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def _deadline(self, n: str) -> int:
        return self.ports[n].clock_us() + int(DEADLINE_S * 1e6)

    def clock(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def write(self, n: str) -> str:
        self.serial += 1
        label = f"{n}{self.serial}"
        conn = sqlite3.connect(self.ports[n].database, timeout=5.0)
        try:
            kine.insert_object(conn, f"/registry/conformance/{label}", label.encode())
        finally:
            conn.close()
        return label

    def start_replication(self, n: str) -> Outcome:
        return self.ports[n].start_replication(key=f"start-{n}", deadline=self._deadline(n))

    def stop_replication(self, n: str) -> Outcome:
        return self.ports[n].stop_replication(key=f"stop-{n}", deadline=self._deadline(n))

    def restore(self, n: str) -> Outcome:
        self.serial += 1
        return self.ports[n].restore_from_replica(
            key=f"restore-{n}-{self.serial}", deadline=self._deadline(n)
        )

    def quarantine(self, n: str) -> Outcome:
        self.serial += 1
        return self.ports[n].quarantine_newer_local(
            key=f"q-{n}-{self.serial}", deadline=self._deadline(n)
        )

    def kill(self, n: str) -> None:
        self.ports[n].replicator.kill()

    def _signal(self, n: str, sig: signal.Signals) -> None:
        pid = self.ports[n].replicator.pid()
        if pid is None:
            raise RuntimeError(f"{n}: replicate is not running")
        os.kill(pid, sig)

    def settle(self, n: str) -> None:
        """Until the replica holds what ``n`` committed (``sync -wait``)."""
        self.ports[n].replicator.wait_synced(until=time.monotonic() + DEADLINE_S)

    def cut(self, n: str) -> None:
        self._signal(n, signal.SIGSTOP)

    def heal(self, n: str) -> None:
        self._signal(n, signal.SIGCONT)
        self.settle(n)

    def empty_replica(self) -> None:
        for n in NODES:
            shutil.rmtree(self.root / f"replica-{n}", ignore_errors=True)

    @staticmethod
    def _labels(
        rows: Iterable[kine.KineRow],
    ) -> set[str]:
        return {
            r.name.rsplit("/", 1)[-1] for r in rows if r.name.startswith("/registry/conformance/")
        }

    def local(self, n: str) -> set[str]:
        return self._labels(kine.read_rows(self.ports[n].database))

    def quarantined(self) -> set[str]:
        return self._labels(self.ports[NODES[0]].quarantine.receipted_rows())


# --------------------------------------------------------------- fake ----


class FakeDriver:
    def __init__(self, seed: int, monitor_ms: int) -> None:
        sim = make_simulation("custom", seed, schedule=())
        sim.p = replace(sim.p, litestream_monitor_us=monitor_ms * 1000)
        self.sim = sim
        self.nodes = dict(zip(NODES, sim.data, strict=False))
        for node in self.nodes.values():
            node.up = True
            node.k3s_running = True
        self.ports = {n: DatastoreFake(sim.k3s, node) for n, node in self.nodes.items()}
        self.labels: dict[int, str] = {}
        self.serial = 0

    def close(self) -> None:
        pass

    def clock(self) -> float:
        return self.sim.now / 1e6

    def wait(self, seconds: float) -> None:
        self.sim.run_until(self.sim.now + round(seconds * 1e6))

    def write(self, n: str) -> str:
        self.serial += 1
        label = f"{n}{self.serial}"
        k3s = self.sim.k3s
        self.labels[k3s.next_object] = label
        k3s.write(self.nodes[n])
        return label

    def start_replication(self, n: str) -> Outcome:
        out = self.ports[n].start_replication(key="s", deadline=0)
        # The adapter's start returns once the replica is level (sync -wait).
        self.sim.k3s.stop(self.nodes[n])
        return (
            out if isinstance(out, Failed) else self.ports[n].start_replication(key="s", deadline=0)
        )

    def stop_replication(self, n: str) -> Outcome:
        return self.ports[n].stop_replication(key="t", deadline=0)

    def restore(self, n: str) -> Outcome:
        return self.ports[n].restore_from_replica(key="r", deadline=0)

    def quarantine(self, n: str) -> Outcome:
        return self.ports[n].quarantine_newer_local(key="q", deadline=0)

    def kill(self, n: str) -> None:
        self.sim._crash(self.nodes[n])

    def settle(self, n: str) -> None:
        self.wait((self.sim.p.litestream_monitor_us + self.sim.p.litestream_ship_us[1]) / 1e6)

    def cut(self, n: str) -> None:
        self.sim.blocked = {(0, 1), (1, 0)}

    def heal(self, n: str) -> None:
        self.sim.blocked = set()
        self.settle(n)

    def empty_replica(self) -> None:
        for node in self.nodes.values():
            node.replica = []

    def local(self, n: str) -> set[str]:
        return {self.labels[k] for k in self.nodes[n].k3s_db if k in self.labels}

    def quarantined(self) -> set[str]:
        return {self.labels[k] for k in self.sim.k3s.quarantined if k in self.labels}


# -------------------------------------------------------------- cases ----


@dataclass
class CaseResult:
    name: str
    what: str
    real: dict[str, str] = field(default_factory=dict)
    fake: dict[str, str] = field(default_factory=dict)
    real_windows: list[float] = field(default_factory=list)
    fake_windows: list[float] = field(default_factory=list)
    tolerance_s: float = 0.0
    error: str = ""

    def medians(self) -> tuple[float | None, float | None]:
        def med(xs: list[float]) -> float | None:
            return statistics.median(xs) if xs else None

        return med(self.real_windows), med(self.fake_windows)

    @property
    def mismatches(self) -> list[str]:
        out = [
            f"{k}: real {self.real.get(k)!r} / fake {self.fake.get(k)!r}"
            for k in sorted(set(self.real) | set(self.fake))
            if self.real.get(k) != self.fake.get(k)
        ]
        real, fake = self.medians()
        if real is not None and fake is not None and abs(real - fake) > self.tolerance_s:
            out.append(f"median loss window: real {real:.3f} s / fake {fake:.3f} s")
        return out

    @property
    def agree(self) -> bool:
        return not self.error and not self.mismatches


def _word(outcome: Outcome) -> str:
    return type(outcome).__name__


def _names(labels: set[str]) -> str:
    return ",".join(sorted(labels, key=lambda s: (s[0], int(s[1:])))) or "-"


def kill_during_writes(
    d: Driver, monitor_ms: int, rng: random.Random
) -> tuple[dict[str, str], float]:
    """The active writes every 25 ms and its replicate is SIGKILLed after a
    drawn 1-2 monitor intervals; the standby restores the replica."""
    out = {"start replication": _word(d.start_replication("a"))}
    acked: list[tuple[str, float]] = []
    run_for = monitor_ms / 1000 * (1 + rng.random())
    t0 = d.clock()
    while d.clock() - t0 < run_for:
        label = d.write("a")
        acked.append((label, d.clock()))
        d.wait(0.025)
    killed_at = d.clock()
    d.kill("a")
    out["restore on b"] = _word(d.restore("b"))
    got = d.local("b")
    order = [label for label, _ in acked]
    lost = [label for label in order if label not in got]
    prefix = order[: len(order) - len(lost)]
    out["restored is a clean prefix of the acknowledged writes"] = str(set(prefix) == got)
    window = killed_at - next(at for label, at in acked if label == lost[0]) if lost else 0.0
    out["loss window within one monitor interval + 0.25 s"] = str(
        window <= monitor_ms / 1000 + 0.25
    )
    return out, window


def clean_stop(d: Driver) -> dict[str, str]:
    d.start_replication("a")
    labels = {d.write("a") for _ in range(5)}
    out = {"stop replication": _word(d.stop_replication("a"))}
    out["restore on b"] = _word(d.restore("b"))
    out["b holds every write"] = str(labels <= d.local("b"))
    return out


def empty_replica(d: Driver) -> dict[str, str]:
    d.empty_replica()
    return {"restore on b from an empty replica": _word(d.restore("b"))}


def restore_quarantines_newer(d: Driver) -> dict[str, str]:
    d.start_replication("a")
    shipped = {d.write("a") for _ in range(2)}
    d.stop_replication("a")
    newer = d.write("b")
    out = {"restore on b": _word(d.restore("b"))}
    out["quarantined"] = _names(d.quarantined())
    out["b equals the replica"] = str(d.local("b") == shipped)
    out["newer local write quarantined"] = str(newer in d.quarantined())
    return out


def split_writes_both_sides(d: Driver) -> dict[str, str]:
    """a replicates; the link is cut; both sides write; b promoted from the
    replica meanwhile; the heal; a wins: b quarantines, then restores."""
    d.start_replication("a")
    before = {d.write("a") for _ in range(3)}
    d.settle("a")
    d.cut("a")
    a_side = {d.write("a") for _ in range(2)}
    d.wait(0.3)  # longer than a monitor interval: a would have shipped them
    out = {"b promotes: restore": _word(d.restore("b"))}
    out["b restored exactly the pre-cut writes"] = str(d.local("b") == before)
    b_side = {d.write("b") for _ in range(2)}
    d.heal("a")
    out["b (loser) quarantine"] = _word(d.quarantine("b"))
    out["quarantined"] = "b-side writes" if d.quarantined() == b_side else _names(d.quarantined())
    out["b (loser) restore"] = _word(d.restore("b"))
    out["b now equals a"] = str(d.local("b") == d.local("a") == before | a_side)
    everything = before | a_side | b_side
    out["every acknowledged write in a or quarantine"] = str(
        everything <= d.local("a") | d.quarantined()
    )
    return out


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    run: Callable[[Driver], dict[str, str]]
    monitor_ms: int = 100


CASES: tuple[Case, ...] = (
    Case(
        "clean-stop",
        "stop_replication ships the tail: the standby's restore holds every write",
        clean_stop,
    ),
    Case(
        "empty-replica",
        "a restore from an empty replica is refused, never an empty database",
        empty_replica,
    ),
    Case(
        "restore-quarantines-newer",
        "a local write the replica lacks is quarantined before the restore replaces it",
        restore_quarantines_newer,
    ),
    Case(
        "split-writes-both-sides",
        "link cut (replicate SIGSTOPped / link blocked), writes on both sides, heal; "
        "the loser quarantines and restores",
        split_writes_both_sides,
    ),
)

KILL_SETTINGS = (1000, 100)  # monitor-interval ms (sync-interval the same)


def run_all(
    binary: str | None, *, real_trials: int = 6, fake_trials: int = 200, seed: int = 1
) -> list[CaseResult]:
    """Every case on the fake, and on the real binary when ``binary`` is given."""
    results: list[CaseResult] = []
    for monitor_ms in KILL_SETTINGS:
        r = CaseResult(
            f"kill-during-writes-{monitor_ms}ms",
            f"SIGKILL of replicate after a drawn 1-2 monitor intervals of writes every 25 ms "
            f"(monitor- and sync-interval {monitor_ms} ms); the standby restores",
            tolerance_s=tolerance_s(monitor_ms),
        )
        rng = random.Random(f"{seed}/fake/{monitor_ms}")
        for trial in range(fake_trials):
            with closing(FakeDriver(seed * 1000 + trial, monitor_ms)) as d:
                words, window = kill_during_writes(d, monitor_ms, rng)
            r.fake = _merge(r.fake, words)
            r.fake_windows.append(window)
        if binary is not None:
            rng = random.Random(f"{seed}/real/{monitor_ms}")
            try:
                for _ in range(real_trials):
                    with closing(RealDriver(binary, monitor_ms)) as d:
                        words, window = kill_during_writes(d, monitor_ms, rng)
                    r.real = _merge(r.real, words)
                    r.real_windows.append(window)
            except Exception as exc:
                r.error = f"{type(exc).__name__}: {exc}"
        results.append(r)
    for case in CASES:
        r = CaseResult(case.name, case.what)
        with closing(FakeDriver(seed, case.monitor_ms)) as d:
            r.fake = case.run(d)
        if binary is not None:
            try:
                with closing(RealDriver(binary, case.monitor_ms)) as d:
                    r.real = case.run(d)
            except Exception as exc:
                r.error = f"{type(exc).__name__}: {exc}"
        results.append(r)
    return results


def _merge(seen: dict[str, str], words: dict[str, str]) -> dict[str, str]:
    """Over trials a word that varied reads "A | B" (so a rare mismatch shows)."""
    out = dict(seen)
    for k, v in words.items():
        old = out.get(k)
        if old is None:
            out[k] = v
        elif v not in old.split(" | "):
            out[k] = " | ".join(sorted([*old.split(" | "), v]))
    return out


def describe(outcome: Outcome) -> str:
    if isinstance(outcome, Done):
        return "Done"
    return f"{type(outcome).__name__}: {getattr(outcome, 'reason', '')}"
