"""End-to-end failover time on the lab (needs root; not a test).

Per trial (``--trials``, default 5), a fresh lab (tests/e2e_lab.py): real
keepalived in two namespaces, an ``hacore agent`` on each, the real
litestream replicating k3s's kine database, the k3s STAND-IN (not k3s)
started by the plans; with ``--galera`` real MariaDB Galera on both nodes
too, with ``--gluster`` a real Gluster pool, each through its real adapter. Every
daemon of the active is SIGKILLed; the standby's event log gives:

- detection: SIGKILL -> the promotion plan starts (keepalived's
  Master_Down_Interval, the FIFO, the agent's decision and durable append);
- each step of the plan: restore_k3s_db (litestream restore + verify +
  install), start_k3s (the stand-in ready on /readyz), start_replication
  (replicate running and the replica level), and the rest;
- total: SIGKILL -> the plan finished.

Then (``--partition-trials``, default 5) availability-first's window of two
k3s: a partition (nft, both ways) until the stand-in answers on both sides,
and from the heal until the loser's ``stop_k3s`` completed (k3s on one node).

Beside it, in the same process: the Master_Down_Interval for the lab's
parameters (advert 0.1 s, the standby's priority 100) and the simulator's
breakdown of the same failover (``active-crash`` at the same advert interval;
the simulator runs every service and draws step durations from its model),
median over ``--sim-seeds``. Ratios: real total / simulated total, real
detection / Master_Down_Interval. Prints ``name: value unit`` lines. Timings
on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from e2e_lab import E2ELab, last_promotion  # noqa: E402

from hacore import events as ev  # noqa: E402
from hacore import vrrp  # noqa: E402
from hacore.roles import PlanKind  # noqa: E402
from sims.faults import SECOND, Fault  # noqa: E402
from sims.params import SimParams  # noqa: E402
from sims.run import make_simulation  # noqa: E402

ADVERT_US = 100_000  # the lab's advert_int 0.1 s
STANDBY_PRIORITY = 100
BUDGET_S = 120.0


def _until(pred: object, what: str) -> None:
    assert callable(pred)
    end = time.monotonic() + BUDGET_S
    while not pred():
        if time.monotonic() > end:
            raise SystemExit(f"e2e_failover: not within {BUDGET_S:.0f} s: {what}")
        time.sleep(0.05)


def real_trial(index: int, galera: bool, gluster: bool) -> dict[str, float]:
    d = Path("/run/hacore-lab-test") / f"e2e-bench-{os.getpid()}-{index}-{time.monotonic_ns()}"
    lab = E2ELab(d, galera=galera, gluster=gluster)
    try:
        for name in ("a", "b"):
            lab.start_agent(name)
        lab.lab.start_together()
        lab.wait_roles({"a": "active", "b": "standby"}, BUDGET_S)
        _until(lambda: lab.readyz("a") == 200, "the stand-in ready on a")
        lab.put("a", [f"configmaps/bench-{i}" for i in range(20)])
        lab.wait_replica_level("a")
        killed_at = lab.kill_node("a")
        _until(
            lambda: (p := last_promotion(lab.log("b"))) is not None and p.started > killed_at,
            "b's promotion completed",
        )
        promotion = last_promotion(lab.log("b"))
        assert promotion is not None
        out = {f"step_{k}": v / 1e6 for k, v in promotion.steps.items()}
        out["detection"] = (promotion.started - killed_at) / 1e6
        out["total"] = (promotion.finished - killed_at) / 1e6
        return out
    finally:
        lab.down()


def _stop_k3s_after(lab: E2ELab, name: str, since_us: int) -> int | None:
    for m in lab.log(name):
        if isinstance(m, ev.StepCompleted) and m.step.value == "stop_k3s" and m.at > since_us:
            return m.at
    return None


def partition_trial(index: int) -> dict[str, float]:
    """availability-first: a partition leaves k3s on both sides; how long after
    the heal until it runs on one node only (the loser's stop_k3s completed)."""
    d = Path("/run/hacore-lab-test") / f"e2e-split-{os.getpid()}-{index}-{time.monotonic_ns()}"
    lab = E2ELab(d)
    try:
        for name in ("a", "b"):
            lab.start_agent(name)
        lab.lab.start_together()
        lab.wait_roles({"a": "active", "b": "standby"}, BUDGET_S)
        _until(lambda: lab.readyz("a") == 200, "the stand-in ready on a")
        cut_at = time.time_ns() // 1000
        lab.lab.partition([["a"], ["b"]])
        _until(lambda: lab.readyz("b") == 200, "k3s on both sides")
        both_at = time.time_ns() // 1000
        lab.put("b", ["configmaps/b-side"])
        lab.lab.heal()
        healed_at = time.time_ns() // 1000
        _until(lambda: _stop_k3s_after(lab, "b", healed_at) is not None, "k3s stopped on b")
        stopped = _stop_k3s_after(lab, "b", healed_at)
        assert stopped is not None
        return {
            "split_to_two_k3s": (both_at - cut_at) / 1e6,
            "heal_to_one_k3s": (stopped - healed_at) / 1e6,
        }
    finally:
        lab.down()


def sim_trial(seed: int) -> dict[str, float]:
    crash_at = 40 * SECOND
    sim = make_simulation(
        "custom",
        seed,
        schedule=(Fault(crash_at, "crash", "n1"),),
        params=SimParams(advert_us=ADVERT_US),
        duration_us=90 * SECOND,
    )
    result = sim.run()
    msgs = [r.message() for r in result.logs["n2"]]
    plan = next(
        m
        for m in msgs
        if isinstance(m, ev.PlanStarted) and m.kind is PlanKind.PROMOTION and m.at > crash_at
    )
    started: dict[str, int] = {}
    out: dict[str, float] = {"detection": (plan.at - crash_at) / 1e6}
    for m in msgs:
        if getattr(m, "plan_id", None) != plan.plan_id:
            continue
        if isinstance(m, ev.StepStarted):
            started.setdefault(m.step.value, m.at)
        elif isinstance(m, ev.StepCompleted):
            out[f"step_{m.step.value}"] = (m.at - started[m.step.value]) / 1e6
        elif isinstance(m, ev.PlanFinished):
            out["total"] = (m.at - crash_at) / 1e6
    return out


def medians(trials: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted({k for t in trials for k in t})
    return {k: statistics.median([t[k] for t in trials if k in t]) for k in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="lab trials (default 5)")
    parser.add_argument(
        "--partition-trials", type=int, default=5, help="lab partition trials (default 5)"
    )
    parser.add_argument(
        "--galera",
        action="store_true",
        help="real MariaDB Galera on both nodes too (default: off; ~1 min more per trial)",
    )
    parser.add_argument(
        "--gluster",
        action="store_true",
        help="a real Gluster pool (replica volume per node) too (default: off)",
    )
    parser.add_argument("--sim-seeds", type=int, default=20, help="simulator seeds (default 20)")
    args = parser.parse_args()
    if args.trials < 1 or args.sim_seeds < 1 or args.partition_trials < 0:
        parser.error("--trials and --sim-seeds must be >= 1, --partition-trials >= 0")
    if os.geteuid() != 0:
        print("e2e_failover: needs root (network namespaces, keepalived)", file=sys.stderr)
        return 2
    mdi = vrrp.master_down_interval_us(STANDBY_PRIORITY, ADVERT_US) / 1e6
    real = medians([real_trial(i, args.galera, args.gluster) for i in range(args.trials)])
    sim = medians([sim_trial(seed) for seed in range(1, args.sim_seeds + 1)])
    split = medians([partition_trial(i) for i in range(args.partition_trials)])
    print(f"trials: {args.trials} count")
    print(f"real_galera: {int(args.galera)} flag")
    print(f"real_gluster: {int(args.gluster)} flag")
    print(f"sim_seeds: {args.sim_seeds} count")
    print(f"load_average_1min: {os.getloadavg()[0]:.1f} load")
    print(f"master_down_interval: {mdi:.3f} s")
    for k, v in real.items():
        print(f"real_{k}_median: {v:.3f} s")
    for k, v in sim.items():
        print(f"sim_{k}_median: {v:.3f} s")
    for k, v in split.items():
        print(f"real_partition_{k}_median: {v:.3f} s")
    print(f"real_detection_vs_master_down_interval: {real['detection'] / mdi:.2f} ratio")
    print(f"real_total_vs_sim_total: {real['total'] / sim['total']:.2f} ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
