"""Galera conformance: the same scripted cases on the real lab and on the model.

The model is :class:`sims.galera_model.GaleraModel`; the real side is the lab's
MariaDB Galera (``adapters.lab.galera``). A case is a function of a
:class:`Driver` returning its *outcome* (words compared exactly: states,
sizes, transfers, refusals, whether data agree) and its *times* (seconds from
the case's fault, compared within :data:`TOLERANCE_S`). Cases run in groups
that share one freshly formed cluster (``RUNS``), in order.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from adapters.galera.ops import GaleraNode
from adapters.galera.sql import SqlUnavailable, connect
from adapters.lab.galera import APP, GaleraLab, sql_root
from adapters.lab.lab import Lab, default_nodes
from hacli import conformance_case
from sims.galera_model import SECOND, GaleraModel, Proc

TOLERANCE_S = 2.0
WAIT_S = 30.0


class Driver(Protocol):
    def clock(self) -> float: ...
    def kill(self, n: str) -> None: ...
    def stop(self, n: str) -> None: ...
    def start(self, n: str, *, new_cluster: bool = False, recover: bool = False) -> None: ...
    def partition(self, groups: Sequence[Sequence[str]]) -> None: ...
    def heal(self) -> None: ...
    def bootstrap(self, n: str) -> None: ...
    def make_primary(self, n: str) -> str: ...
    def set_safe(self, n: str) -> None: ...
    def remove_state(self, n: str) -> None: ...
    def write(self, n: str, count: int) -> int: ...
    def status(self, n: str) -> tuple[str, int]: ...
    def grastate(self, n: str) -> str: ...
    def same_rows(self, a: str, b: str) -> bool: ...
    def transfer(self, n: str) -> str: ...
    def exit_reason(self, n: str) -> str: ...
    def sleep(self, seconds: float) -> None: ...


def wait(d: Driver, pred: Callable[[], bool], timeout: float = WAIT_S) -> float:
    """Seconds until ``pred()`` held (``timeout`` + 1 when it never did)."""
    t0 = d.clock()
    while not pred():
        if d.clock() - t0 > timeout:
            return timeout + 1
        d.sleep(0.02)
    return d.clock() - t0


def _st(d: Driver, n: str) -> str:
    word, size = d.status(n)
    return f"{word}/{size}" if word in ("Primary", "non-Primary") else word


# ----------------------------------------------------------------- cases --

Case = Callable[[Driver], tuple[dict[str, str], dict[str, float]]]


def kill_one_of_two(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.kill("n1")
    t = wait(d, lambda: d.status("n2")[0] == "non-Primary")
    return {"n2": _st(d, "n2")}, {"n2 non-Primary after SIGKILL of n1": t}


def crash_rejoin(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.bootstrap("n2")
    d.write("n2", 3)
    d.start("n1", recover=True)
    wait(d, lambda: d.status("n1") == ("Primary", 2))
    return {"n1": _st(d, "n1"), "n1 transfer": d.transfer("n1"),
            "rows agree": str(d.same_rows("n1", "n2"))}, {}  # fmt: skip


def graceful_stop(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.write("n1", 2)
    d.stop("n1")
    d.sleep(1.0)
    out = {"n2": _st(d, "n2"), "n1 grastate": d.grastate("n1")}
    out["n2 accepts writes"] = str(d.write("n2", 1) == 1)
    d.stop("n2")
    out["n2 grastate (last out)"] = d.grastate("n2")
    return out, {}


def bootstrap_gate(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.start("n2", new_cluster=True)  # the last one out: safe_to_bootstrap 1
    wait(d, lambda: d.status("n2")[0] == "Primary")
    d.start("n1")
    wait(d, lambda: d.status("n1") == ("Primary", 2))
    d.write("n2", 3)
    d.kill("n1")
    d.kill("n2")
    before = d.grastate("n1")
    d.start("n1", new_cluster=True)
    wait(d, lambda: d.status("n1")[0] == "down", 20)
    return {"n1 grastate after kill": before, "n1 start --wsrep-new-cluster": _st(d, "n1"),
            "n1 refusal": d.exit_reason("n1"),
            "n1 grastate after": d.grastate("n1")}, {}  # fmt: skip


def cold_bootstrap(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.set_safe("n1")
    d.start("n1", new_cluster=True, recover=True)
    wait(d, lambda: d.status("n1")[0] == "Primary")
    d.start("n2", recover=True)
    wait(d, lambda: d.status("n2") == ("Primary", 2))
    return {"n1": _st(d, "n1"), "n2": _st(d, "n2"),
            "rows agree": str(d.same_rows("n1", "n2"))}, {}  # fmt: skip


def kill_with_garbd(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.kill("n1")
    t = wait(d, lambda: d.status("n2")[1] == 2)
    return {"n2": _st(d, "n2"), "n2 accepts writes": str(d.write("n2", 1) == 1)}, {
        "n2 view without n1 (garbd keeps quorum)": t
    }


def partition_two(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.partition([["n1"], ["n2"]])
    t = wait(d, lambda: all(d.status(n)[0] == "non-Primary" for n in ("n1", "n2")))
    return {"n1": _st(d, "n1"), "n2": _st(d, "n2"),
            "n1 accepts writes": str(d.write("n1", 1) == 1)}, {"both non-Primary": t}  # fmt: skip


def two_primaries_never_merge(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.bootstrap("n1")
    d.bootstrap("n2")
    d.write("n1", 2)
    d.write("n2", 4)
    d.heal()
    d.sleep(5.0)
    return {"n1": _st(d, "n1"), "n2": _st(d, "n2")}, {}


def behind_restarts_plainly(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.stop("n1")  # n1 is behind (2 writes against 4)
    d.start("n1")
    wait(d, lambda: d.status("n1") == ("Primary", 2))
    return {"n1": _st(d, "n1"), "n1 transfer": d.transfer("n1"),
            "rows agree": str(d.same_rows("n1", "n2"))}, {}  # fmt: skip


def ahead_restarts_plainly(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.partition([["n1"], ["n2"]])
    wait(d, lambda: all(d.status(n)[0] == "non-Primary" for n in ("n1", "n2")))
    d.bootstrap("n1")
    d.bootstrap("n2")
    d.write("n1", 4)  # n1 is ahead
    d.write("n2", 2)
    d.heal()
    d.sleep(3.0)
    d.stop("n1")
    d.start("n1")
    wait(d, lambda: d.status("n1")[0] == "down", 20)
    d.sleep(7.0)  # past the suspect timeout: n2's view no longer counts the aborted joiner
    return {"n1": _st(d, "n1"), "n1 exit": d.exit_reason("n1"), "n2": _st(d, "n2")}, {}


def forced_sst(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.remove_state("n1")
    d.start("n1")
    wait(d, lambda: d.status("n1") == ("Primary", 2))
    return {"n1": _st(d, "n1"), "n1 transfer": d.transfer("n1"),
            "rows agree": str(d.same_rows("n1", "n2"))}, {}  # fmt: skip


def kill_then_make_primary(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.kill("n2")
    t0 = d.clock()
    outcome = d.make_primary("n1")  # at once, as a promotion right after the crash would
    t = d.clock() - t0
    return {"n1 make_primary": outcome, "n1": _st(d, "n1"),
            "n1 accepts writes": str(d.write("n1", 1) == 1)}, {
        "make_primary (bootstrap allowed) returns after SIGKILL of n2": t}  # fmt: skip


def isolate_one_of_three(d: Driver) -> tuple[dict[str, str], dict[str, float]]:
    d.partition([["n3"]])
    t0 = d.clock()
    acked = d.write("n1", 1)
    stall = d.clock() - t0
    wait(d, lambda: d.status("n3")[0] == "non-Primary")
    out = {"n1 write during detection": "acked" if acked == 1 else "failed",
           "n1": _st(d, "n1"), "n3": _st(d, "n3")}  # fmt: skip
    d.write("n1", 3)
    d.heal()
    wait(d, lambda: d.status("n3") == ("Primary", 3))
    out |= {"n3 after heal": _st(d, "n3"), "n3 transfer": d.transfer("n3")}
    return out, {"commit stall while n3 is suspected": stall}


@dataclass(frozen=True)
class Run:
    nodes: int
    witness: bool
    cases: tuple[tuple[str, str, Case], ...]  # (name, title, function)


RUNS: tuple[Run, ...] = (
    Run(2, False, (
        ("kill-one-of-two", "SIGKILL one of two: the survivor goes non-Primary after the "
         "suspect timeout", kill_one_of_two),
        ("crash-rejoin-ist", "the killed node restarts from its recovered position into the "
         "bootstrapped survivor: IST", crash_rejoin),
    )),
    Run(2, False, (
        ("graceful-stop", "a graceful stop leaves the peer Primary; the last one out gets "
         "safe_to_bootstrap 1", graceful_stop),
        ("bootstrap-gate", "after SIGKILL of both, --wsrep-new-cluster without "
         "safe_to_bootstrap is refused and resets seqno to -1", bootstrap_gate),
        ("cold-bootstrap", "safe_to_bootstrap set on the chosen node: it bootstraps, the "
         "other joins", cold_bootstrap),
    )),
    Run(2, True, (
        ("kill-with-garbd", "SIGKILL of one data node with garbd: the survivor stays Primary",
         kill_with_garbd),
    )),
    Run(2, False, (
        ("partition-two", "a 2-node partition: both non-Primary after the suspect timeout",
         partition_two),
        ("two-primaries-never-merge", "both sides bootstrapped: after the heal they never "
         "merge", two_primaries_never_merge),
        ("behind-restarts-plainly", "the side behind restarted plainly joins by IST with "
         "silently different data", behind_restarts_plainly),
    )),
    Run(2, False, (
        ("ahead-restarts-plainly", "the side ahead restarted plainly aborts (reversing "
         "history)", ahead_restarts_plainly),
        ("forced-sst", "saved state removed: the loser joins by SST and its data equals the "
         "winner's", forced_sst),
        ("kill-then-make-primary", "make_primary with bootstrap allowed right after SIGKILL "
         "of the peer waits for the view change, then bootstraps", kill_then_make_primary),
    )),
    Run(3, False, (
        ("isolate-one-of-three", "3 nodes, one isolated: commits stall for the detection "
         "window, the majority stays Primary, the isolated node rejoins by IST",
         isolate_one_of_three),
    )),
)  # fmt: skip


# ---------------------------------------------------------------- drivers --


class ModelDriver:
    def __init__(self, run: Run) -> None:
        data = [f"n{i + 1}" for i in range(run.nodes)]
        self.m = GaleraModel.formed(data, "w" if run.witness else None)

    def clock(self) -> float:
        return self.m.now / SECOND

    def kill(self, n: str) -> None:
        self.m.kill(n)

    def stop(self, n: str) -> None:
        self.m.stop(n)

    def start(self, n: str, *, new_cluster: bool = False, recover: bool = False) -> None:
        self.m.start(n, new_cluster=new_cluster, start_position=recover)

    def partition(self, groups: Sequence[Sequence[str]]) -> None:
        self.m.partition(groups)

    def heal(self) -> None:
        self.m.heal()

    def bootstrap(self, n: str) -> None:
        self.m.pc_bootstrap(n)

    def make_primary(self, n: str) -> str:
        """The port's rule as the simulator's fake applies it (sims.galera.GaleraFake:
        the step waits for the view change, then forces primary if still needed)."""
        whole = len(self.m.members)
        wait(self, lambda: self.m.status(n) != ("Primary", whole), 10.0)
        if self.m.status(n)[0] != "Primary":
            self.m.pc_bootstrap(n)
        return "Done" if self.m.status(n)[0] == "Primary" else "Failed"

    def set_safe(self, n: str) -> None:
        self.m.set_safe_to_bootstrap(n)

    def remove_state(self, n: str) -> None:
        self.m.remove_saved_state(n)

    def write(self, n: str, count: int) -> int:
        return len(self.m.write(n, count)[0])

    def status(self, n: str) -> tuple[str, int]:
        return self.m.status(n)

    def grastate(self, n: str) -> str:
        g = self.m.member(n).grastate
        if g is None:
            return "none"
        return (
            f"seqno {'-1' if g.seqno < 0 else '>=0'}, safe_to_bootstrap {int(g.safe_to_bootstrap)}"
        )

    def same_rows(self, a: str, b: str) -> bool:
        return sorted(self.m.member(a).history) == sorted(self.m.member(b).history)

    def transfer(self, n: str) -> str:
        return self.m.member(n).last_transfer or "none"

    def exit_reason(self, n: str) -> str:
        return _reason(self.m.member(n).exit_reason) if self.m.member(n).proc is Proc.DOWN else ""

    def sleep(self, seconds: float) -> None:
        self.m.sleep(int(seconds * SECOND))


def _grastate_words(seqno: int, safe: bool) -> str:
    return f"seqno {'-1' if seqno < 0 else '>=0'}, safe_to_bootstrap {int(safe)}"


def _reason(text: str) -> str:
    if "Reversing history" in text:
        return "reversing history"
    if "not be safe to bootstrap" in text:
        return "not safe to bootstrap"
    return "none"


class RealDriver:
    def __init__(self, g: GaleraLab) -> None:
        self.g = g
        self.t0 = time.monotonic()
        self.ids: Iterator[int] = itertools.count(1)
        # a transfer is read from the log written after the case's start, not the lab's up
        self.offsets = {n.name: g.server(n.name).log_offset() for n in g.lab.state.nodes}

    def clock(self) -> float:
        return time.monotonic() - self.t0

    def _node(self, n: str) -> GaleraNode:
        return GaleraNode(self.g.server(n), self.g.endpoint(n), self.g.credentials())

    def kill(self, n: str) -> None:
        self.g.server(n).kill()

    def stop(self, n: str) -> None:
        self.g.server(n).stop(timeout=20.0)

    def start(self, n: str, *, new_cluster: bool = False, recover: bool = False) -> None:
        server = self.g.server(n)
        position = server.recover() if recover else None
        self.offsets[n] = server.log_offset()
        server.start(new_cluster=new_cluster, start_position=position)

    def partition(self, groups: Sequence[Sequence[str]]) -> None:
        self.g.lab.partition(groups)

    def heal(self) -> None:
        self.g.lab.heal()

    def bootstrap(self, n: str) -> None:
        self._node(n).make_primary(bootstrap_allowed=True)

    def make_primary(self, n: str) -> str:
        """Through the runtime's port (GaleraPortAdapter), as a promotion calls it."""
        from adapters.galera.port import GaleraPortAdapter, monotonic_us

        port = GaleraPortAdapter(
            self._node(n), n, len(self.g.lab.state.nodes) + (1 if self.g.lab.state.witness else 0),
            ["app"], self.g.lab.dir / "conformance-quarantine", epoch=lambda: 1,
        )  # fmt: skip
        outcome = port.make_primary(
            bootstrap_allowed=True, key=f"conformance/{n}/make_primary",
            deadline=monotonic_us() + 30_000_000,
        )  # fmt: skip
        return type(outcome).__name__

    def set_safe(self, n: str) -> None:
        from adapters.galera.state_files import set_safe_to_bootstrap

        set_safe_to_bootstrap(self.g.server(n).grastate_path)

    def remove_state(self, n: str) -> None:
        for name in ("grastate.dat", "galera.cache", "gvwstate.dat"):
            (self.g.server(n).datadir / name).unlink(missing_ok=True)

    def write(self, n: str, count: int) -> int:
        ok = 0
        try:
            conn = connect(self.g.endpoint(n), APP, 20.0)
        except SqlUnavailable:
            return 0
        try:
            for _ in range(count):
                try:
                    with conn.cursor() as cur:
                        cur.execute("INSERT INTO app.t VALUES (%s, %s)", (next(self.ids), n))
                    ok += 1
                except Exception:  # a refused commit is simply not acknowledged
                    pass
        finally:
            conn.close()
        return ok

    def status(self, n: str) -> tuple[str, int]:
        server = self.g.server(n)
        if not server.running():
            return ("down", 0)
        s = self.g.probe(n, 1.0).status
        if s is None or (s.primary and not s.local_state_comment.startswith(("Synced", "Donor"))):
            return ("no-sql", 0)  # not serving yet (a joiner receiving its state transfer)
        return ("Primary" if s.primary else "non-Primary", s.cluster_size)

    def grastate(self, n: str) -> str:
        g = self.g.server(n).grastate()
        if g is None:
            return "none"
        return (
            f"seqno {'-1' if g.seqno < 0 else '>=0'}, safe_to_bootstrap {int(g.safe_to_bootstrap)}"
        )

    def same_rows(self, a: str, b: str) -> bool:
        def rows(n: str) -> list[int]:
            return sorted(int(str(r[0])) for r in sql_root(self.g, n, "SELECT id FROM app.t"))

        return rows(a) == rows(b)

    def transfer(self, n: str) -> str:
        return self.g.server(n).state_transfer_since(self.offsets[n]) or "none"

    def exit_reason(self, n: str) -> str:
        server = self.g.server(n)
        if server.running():
            return ""
        try:
            with open(server.error_log, "rb") as f:
                f.seek(self.offsets[n])
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            text = ""
        return _reason(text)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# ----------------------------------------------------------------- runner --


class CaseResult(conformance_case.CaseResult):
    TOLERANCE_S: ClassVar[float] = TOLERANCE_S


def run_model(run: Run) -> list[CaseResult]:
    d = ModelDriver(run)
    out = []
    for name, title, case in run.cases:
        outcome, times = case(d)
        out.append(CaseResult(name, title, model=outcome, model_times=times))
    return out


def run_real(run: Run, results: list[CaseResult], state_dir: str) -> None:
    lab = Lab.up(default_nodes(run.nodes), name="galera-conf", state_dir=state_dir,
                 witness=run.witness)  # fmt: skip
    try:
        g = GaleraLab.up(lab, witness=run.witness)
        sql_root(g, "n1", "CREATE TABLE app.t (id INT PRIMARY KEY, origin VARCHAR(8))")
        d = RealDriver(g)
        for (_name, _title, case), res in zip(run.cases, results, strict=True):
            try:
                res.real, res.real_times = case(d)
            except Exception as exc:  # a broken case is a disagreement, reported
                res.error = f"real run failed: {type(exc).__name__}: {exc}"
                break
    finally:
        lab.down()
