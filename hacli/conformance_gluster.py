"""Gluster conformance: the same scripted cases on real glusterd and on the fake.

The fake is :class:`sims.gluster.SimGluster` (with its port,
:class:`sims.gluster.GlusterFake`) in a small world of two bricks; the real
side is the lab's two-node pool (``adapters.lab.gluster``) driven through the
real adapter (:class:`adapters.gluster.port.GlusterPortAdapter`). A case is a
function of a :class:`Driver` returning its *outcome* (words compared
exactly: which files are in split-brain, which are still pending, what the
port's heal answered, whether the bricks agree, copies quarantined) and its
*times* (seconds from the case's heal, compared within :data:`TOLERANCE_S`).
All cases share one pool, in order, each on files of its own.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from adapters.gluster.ops import start_dead_bricks, volume_status
from adapters.gluster.port import GlusterPortAdapter
from adapters.gluster.quarantine import Quarantine
from adapters.gluster.split_brain import Entries, entries
from adapters.lab.gluster import VOLUME, GlusterLab
from adapters.lab.lab import Lab, default_nodes
from hacli import conformance_case
from sims.engine import Engine
from sims.gluster import SECOND, GlusterFake, GlusterTiming, SimGluster
from sims.simnode import SimNode

TOLERANCE_S = 3.0
WAIT_S = 30.0
SHORT_CUT_S = 8.0  # well under the keepalive window: the self-heal daemon sees nothing
LONG_CUT_S = 60.0  # past it
LOOK_AFTER_S = 15.0  # how long after a short cut's heal the entries are looked at
REPORTED = "(reported, not compared)"  # a time key so marked is shown, not held to the tolerance
LONG_WAIT_S = 90.0  # a noticed cut: the self-heal daemon's reconnect may take a minute


class Driver(Protocol):
    def clock(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def write(self, n: str, name: str) -> None: ...
    def partition(self) -> None: ...
    def heal_net(self) -> None: ...
    def kill_brick(self, n: str) -> None: ...
    def start_force(self) -> None: ...
    def split(self) -> list[str]: ...
    def pending(self) -> list[str]: ...
    def agree(self, name: str) -> bool: ...
    def port_heal(self, n: str) -> str: ...
    def quarantined(self) -> int: ...


def wait(d: Driver, pred: Callable[[], bool], timeout: float = WAIT_S) -> float:
    """Seconds until ``pred()`` held (``timeout`` + 1 when it never did)."""
    t0 = d.clock()
    while not pred():
        if d.clock() - t0 > timeout:
            return timeout + 1
        d.sleep(0.2)
    return d.clock() - t0


def _words(names: list[str]) -> str:
    return ", ".join(sorted(names)) or "none"


# ----------------------------------------------------------------- cases --

Outcome = tuple[dict[str, str], dict[str, float]]


def same_file(d: Driver) -> Outcome:
    d.write("n1", "same")
    wait(d, lambda: d.agree("same") and not d.pending())
    before = d.quarantined()
    d.partition()
    d.write("n1", "same")
    d.write("n2", "same")
    d.heal_net()
    wait(d, lambda: bool(d.split()))
    out = {"split-brain after the heal": _words(d.split())}
    out["port heal on n1"] = d.port_heal("n1")
    out["bricks agree after"] = str(d.agree("same") and not d.split())
    out["copies quarantined"] = str(d.quarantined() - before)
    return out, {}


def different_files_short_cut(d: Driver) -> Outcome:
    for name in ("left", "right"):
        d.write("n1", name)
    wait(d, lambda: d.agree("right") and not d.pending())
    before = d.quarantined()
    d.partition()
    t = d.clock()
    d.write("n1", "left")
    d.write("n2", "right")
    d.sleep(max(0.0, SHORT_CUT_S - (d.clock() - t)))
    d.heal_net()
    d.sleep(LOOK_AFTER_S)
    out = {
        "split-brain after the heal": _words(d.split()),
        f"still pending {LOOK_AFTER_S:.0f} s after the heal {REPORTED}": _words(d.pending()),
    }
    out["port heal on n1"] = d.port_heal("n1")
    out["bricks agree after"] = str(d.agree("left") and d.agree("right"))
    out["copies quarantined"] = str(d.quarantined() - before)
    return out, {}


def different_files_long_cut(d: Driver) -> Outcome:
    d.partition()
    t = d.clock()
    d.write("n1", "long-n1")
    d.write("n2", "long-n2")
    d.sleep(max(0.0, LONG_CUT_S - (d.clock() - t)))
    d.heal_net()
    healed = wait(d, lambda: not d.pending() and not d.split(), LONG_WAIT_S)
    out = {
        "split-brain after the heal": _words(d.split()),
        f"healed by itself within {LONG_WAIT_S:.0f} s {REPORTED}": str(healed <= LONG_WAIT_S),
    }
    out["port heal on n1"] = d.port_heal("n1")
    out["bricks agree after"] = str(d.agree("long-n1") and d.agree("long-n2"))
    return out, {f"healed by itself after the heal {REPORTED}": healed}


def kill_brick_during_writes(d: Driver) -> Outcome:
    d.kill_brick("n2")
    for name in ("k1", "k2", "k3"):
        d.write("n1", name)
    mine = ("k1", "k2", "k3")
    out = {"pending while n2's brick is dead": _words([x for x in d.pending() if x in mine])}
    d.start_force()
    healed = wait(d, lambda: not [x for x in d.pending() if x in mine])
    out["split-brain"] = _words(d.split())
    out["healed by itself"] = str(healed <= WAIT_S)
    out["bricks agree after"] = str(all(d.agree(n) for n in mine))
    return out, {"healed by itself after start force": healed}


CASES: tuple[tuple[str, str, Callable[[Driver], Outcome]], ...] = (
    ("same-file", "the same existing file written on both sides of a cut: split-brain, "
     "resolved by the port's heal towards n1 with n2's copy quarantined", same_file),
    ("different-files-short-cut", f"different files written on each side of a "
     f"{SHORT_CUT_S:.0f} s cut: no split-brain; healed by the port's heal (whether the "
     "self-heal daemon got there first is reported)", different_files_short_cut),
    ("different-files-long-cut", f"different files written on each side of a "
     f"{LONG_CUT_S:.0f} s cut: no split-brain; healed by the port's heal (whether and when "
     "the self-heal daemon healed them by itself is reported)", different_files_long_cut),
    ("kill-brick-during-writes", "SIGKILL n2's brick while n1 writes: pending on n1; "
     "after volume start force they heal by themselves", kill_brick_during_writes),
)  # fmt: skip


# ---------------------------------------------------------------- drivers --


class _Bricks(Engine):
    """The fake's world: two bricks, a cut between them, a virtual clock."""

    def __init__(self) -> None:
        super().__init__(seed=1)
        self.data = [SimNode(i, f"n{i + 1}", None) for i in range(2)]
        for n in self.data:
            n.up = True
        self.blocked: set[tuple[int, int]] = set()
        self.timeline: list[tuple[int, str, str]] = []

    def connected(self, a: SimNode, b: SimNode) -> bool:
        return a.up and b.up and (a.index, b.index) not in self.blocked


class ModelDriver:
    def __init__(self) -> None:
        self.w = _Bricks()
        self.g = SimGluster(self.w, GlusterTiming(files=64))
        self.ids: dict[str, int] = {}

    def _node(self, n: str) -> SimNode:
        return next(m for m in self.w.data if m.name == n)

    def _id(self, name: str) -> int:
        return self.ids.setdefault(name, len(self.ids))

    def clock(self) -> float:
        return self.w.now / SECOND

    def sleep(self, seconds: float) -> None:
        self.w.run_until(self.w.now + int(seconds * SECOND))

    def write(self, n: str, name: str) -> None:
        self.g.write(self._node(n), file=self._id(name))

    def partition(self) -> None:
        self.w.blocked = {(0, 1), (1, 0)}
        self.g.sync()

    def heal_net(self) -> None:
        self.w.blocked = set()
        self.g.sync()

    def kill_brick(self, n: str) -> None:
        self._node(n).up = False
        self.g.sync()

    def start_force(self) -> None:
        for m in self.w.data:
            m.up = True
        self.g.sync()

    def split(self) -> list[str]:
        return [x for x, f in self.ids.items() if any(f in s for s in self.g.split.values())]

    def pending(self) -> list[str]:
        a, b = self.w.data
        differ = [
            x
            for x, f in self.ids.items()
            if self.g.last[a.name].get(f) != self.g.last[b.name].get(f)
        ]
        return [x for x in differ if x not in self.split()]

    def agree(self, name: str) -> bool:
        f = self._id(name)
        a, b = self.w.data
        return self.g.last[a.name].get(f) == self.g.last[b.name].get(f) is not None

    def port_heal(self, n: str) -> str:
        port = GlusterFake(self.g, self._node(n))
        return type(port.heal(key=f"conformance/heal/{n}", deadline=0)).__name__

    def quarantined(self) -> int:
        return self.g.quarantined_copies


class RealDriver:
    def __init__(self, g: GlusterLab) -> None:
        self.g = g
        self.written = 0
        self.quarantine = Path(g.lab.dir) / "conformance-quarantine"
        self.keys = 0

    def clock(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def write(self, n: str, name: str) -> None:
        self.written += 1  # every write a content of its own
        (self.g.mount_view(n) / name).write_text(f"{n} write {self.written}\n")

    def partition(self) -> None:
        self.g.lab.partition([["n1"], ["n2"]])

    def heal_net(self) -> None:
        self.g.lab.heal()

    def kill_brick(self, n: str) -> None:
        status = volume_status(self.g.cli("n1"), VOLUME, timeout_s=30)
        ip = self.g.lab.node(n).ip
        (brick,) = [b for b in status.bricks if b.hostname == ip]
        assert brick.pid is not None
        os.kill(brick.pid, signal.SIGKILL)
        wait(
            self, lambda: bool(volume_status(self.g.cli("n1"), VOLUME, timeout_s=30).dead_bricks())
        )

    def start_force(self) -> None:
        start_dead_bricks(self.g.cli("n1"), VOLUME, until=time.monotonic() + 60)

    def _found(self) -> Entries:
        return entries(self.g.cli("n1"), VOLUME, timeout_s=30, need_all=False)

    def split(self) -> list[str]:
        return [e.lstrip("/") for e in self._found().to_resolve()]

    def pending(self) -> list[str]:
        found = self._found()
        split = set(found.to_resolve())
        names = {f for files in found.pending.values() for f in files}
        return sorted(f.lstrip("/") for f in names - split if f != "/")

    def agree(self, name: str) -> bool:
        copies = []
        for node in self.g.lab.state.nodes:
            path = self.g.brick_dir(node.name) / name
            copies.append(path.read_bytes() if path.exists() else None)
        return copies[0] is not None and all(c == copies[0] for c in copies)

    def port_heal(self, n: str) -> str:
        self.keys += 1
        port = GlusterPortAdapter(
            cli=self.g.cli(n),
            volume=VOLUME,
            brick=self.g.brick(n),
            brick_path=self.g.brick_dir(n),
            mount=str(self.g.mount_dir(n)),
            quarantine_root=self.quarantine,
        )
        deadline = time.monotonic_ns() // 1000 + 120 * SECOND
        return type(port.heal(key=f"conformance/heal/{self.keys}", deadline=deadline)).__name__

    def quarantined(self) -> int:
        return len(Quarantine(self.quarantine).receipts())


# ---------------------------------------------------------------- results --


class CaseResult(conformance_case.CaseResult):
    TOLERANCE_S: ClassVar[float] = TOLERANCE_S

    def compared(self, key: str) -> bool:
        return REPORTED not in key  # self-healing timing varies run to run: reported only


def run_model() -> list[CaseResult]:
    d = ModelDriver()
    out = []
    for name, title, case in CASES:
        outcome, times = case(d)
        out.append(CaseResult(name, title, model=outcome, model_times=times))
    return out


@dataclass
class _Pool:
    state_dir: str
    lab: Lab | None = None

    def __enter__(self) -> GlusterLab:
        self.lab = Lab.up(default_nodes(2), name="gluster-conf", state_dir=self.state_dir,
                          start=False)  # fmt: skip
        try:
            return GlusterLab.up(self.lab)
        except BaseException:
            self.lab.down()
            raise

    def __exit__(self, *exc: object) -> None:
        if self.lab is not None:
            self.lab.down()


def run_real(results: list[CaseResult], state_dir: str) -> None:
    with _Pool(state_dir) as g:
        d = RealDriver(g)
        for (_name, _title, case), res in zip(CASES, results, strict=True):
            try:
                res.real, res.real_times = case(d)
            except Exception as exc:  # a broken case is a disagreement, reported
                res.error = f"real run failed: {type(exc).__name__}: {exc}"
                break


def names() -> Iterator[str]:
    return (name for name, _, _ in CASES)
