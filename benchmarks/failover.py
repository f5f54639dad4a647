"""Failover speed on the real lab, next to the core's Master_Down_Interval (needs root).

SIGKILL of the master's keepalived process group -> the backup's MASTER line on
its notify_fifo, over --trials trials (default 20), with advert_int 0.1 s (or
--advert-int). Baseline measured in the same run: the Master_Down_Interval the
core computes for the backup's priority; the ratio is median takeover / MDI.
Also the core's decision time per notify line (parse the fifo line, make it a
``VrrpReported`` input, ``hacore.decider.step``), and the VRRP model's step per
line, medians over 20000 lines. One figure per line: ``name: value unit``.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from adapters.keepalived.fifo import parse_line
from adapters.keepalived.ingest import to_core_input
from adapters.lab import Lab, LabError, LabNodeSpec
from hacore.config import ClusterConfig, NodeSpec
from hacore.context import Context
from hacore.decider import initial_state
from hacore.decider import step as core_step
from hacore.vrrp import (
    AdvertReceived,
    Start,
    VrrpConfig,
    VrrpRouter,
    VrrpTimerFired,
    master_down_interval,
    step,
)

MASTER_PRIO, BACKUP_PRIO = 200, 150


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]


def takeover_trials(trials: int, advert_int: str, state_dir: Path, seed: int) -> list[float]:
    lab = Lab.up(
        [LabNodeSpec("n1", MASTER_PRIO), LabNodeSpec("n2", BACKUP_PRIO)],
        name="bench",
        advert_int=advert_int,
        state_dir=state_dir,
    )
    out: list[float] = []
    rng = random.Random(seed)
    interval = float(advert_int)
    try:
        for _ in range(trials):
            if lab.wait_for_one_master(10) != "n1":
                raise LabError("n1 is not the master before a trial")
            # A crash comes at any phase of the advert cycle; without this jitter the kill
            # would always follow the quiet period at the same phase (just after an advert).
            time.sleep(rng.uniform(0, interval))
            seen = len(lab.transitions())
            t_kill = lab.kill("n1")
            deadline = time.monotonic() + 10
            t_master = None
            while t_master is None and time.monotonic() < deadline:
                for tr in lab.transitions()[seen:]:
                    if tr.node == "n2" and tr.record.state == "MASTER" and tr.t >= t_kill:
                        t_master = tr.t
                        break
                time.sleep(0.002)
            if t_master is None:
                raise LabError("no takeover within 10 s")
            out.append(t_master - t_kill)
            lab.start("n1")
    finally:
        lab.down()
    return out


def decision_times_us(n: int = 20000) -> list[float]:
    """Per notify line: parse it, make it the core's input, let the core decide (and evolve)."""
    cluster = ClusterConfig(
        (NodeSpec("n1", "10.77.0.1", MASTER_PRIO), NodeSpec("n2", "10.77.0.2", BACKUP_PRIO))
    )
    ctx = Context(cluster, "n2")
    state = initial_state(cluster, "n2")
    lines = ['INSTANCE "VI_1" BACKUP 150', 'INSTANCE "VI_1" MASTER 150']
    times = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        received = to_core_input(parse_line(lines[i % 2], i), i * 1000)
        assert received is not None
        state = core_step(ctx, state, received).state
        times.append((time.perf_counter_ns() - t0) / 1000)
    return times


def vrrp_step_times_us(n: int = 20000) -> list[float]:
    """Per notify line, the VRRP model's side: parse it and step a router with a stimulus."""
    cfg = VrrpConfig(priority=BACKUP_PRIO, advert_interval_us=100_000, address="10.77.0.2")
    router, _ = step(VrrpRouter.initial(cfg), Start(0))
    lines = ['INSTANCE "VI_1" MASTER 200', 'INSTANCE "VI_1" BACKUP 150']
    times = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        rec = parse_line(lines[i % 2], i)
        stim = (
            AdvertReceived(i * 1000, rec.priority, 100_000, "10.77.0.1")
            if rec.state == "MASTER"
            else VrrpTimerFired(i * 1000, router.timer_generation + 1)
        )
        router, _actions = step(router, stim)
        times.append((time.perf_counter_ns() - t0) / 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--advert-int", default="0.1")
    ap.add_argument("--state-dir", default="/run/hacore-lab/bench")
    ap.add_argument("--seed", type=int, default=1, help="seeds the kill-phase jitter")
    args = ap.parse_args(argv)
    dec = decision_times_us()
    print(f"core_decision_per_line_median: {statistics.median(dec):.2f} us")
    print(f"core_decision_per_line_p95: {p95(dec):.2f} us")
    vst = vrrp_step_times_us()
    print(f"vrrp_model_step_per_line_median: {statistics.median(vst):.2f} us")
    print(f"vrrp_model_step_per_line_p95: {p95(vst):.2f} us")
    mdi = master_down_interval(BACKUP_PRIO, float(args.advert_int))
    try:
        takeovers = takeover_trials(args.trials, args.advert_int, Path(args.state_dir), args.seed)
    except LabError as exc:
        print(f"failover: {exc}", file=sys.stderr)
        return 1
    med = statistics.median(takeovers)
    print(f"advert_int: {float(args.advert_int):.3f} s")
    print(f"trials: {len(takeovers)} count")
    print(f"takeover_median: {med * 1000:.1f} ms")
    print(f"takeover_p95: {p95(takeovers) * 1000:.1f} ms")
    print(f"takeover_min: {min(takeovers) * 1000:.1f} ms")
    print(f"takeover_max: {max(takeovers) * 1000:.1f} ms")
    print(f"master_down_interval_core: {mdi * 1000:.1f} ms")
    print(f"ratio_median_to_mdi: {med / mdi:.3f} x")
    print(f"ratio_p95_to_mdi: {p95(takeovers) / mdi:.3f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
