"""Simulator speed: events per wall second, speed-up over real time, fuzz throughput.

Run: ``.venv/bin/python benchmarks/sim.py [--hours H] [--quick]``. Prints
``name: value unit`` lines, each with a ratio against a baseline measured or
fixed in the same run (the issue's targets: 200,000 simulated events/s and a
10,000x speed-up for the two-node day).

``--before REV`` (default: the commit just before the simulator moved onto the
runtime's dispatcher, issue 8) also runs each day on that revision's
``hacore`` and ``sims``, extracted with ``git archive`` into a temporary
directory and run in a child interpreter, and prints the after/before ratio
of the event rates: the same workload, measured in the same run.

Workload (the issue's): advert interval 1 s, a fault every 10 simulated
minutes (round-robin: partition the halves, crash the active, pause the
active, isolate the active, crash a standby), each healed 60 s later. The
issue names no client load, so each day runs twice: with idle clients (the
issue's workload as written) and with a client write every ~2 s (every write
moves the committed seqno that heartbeats carry, so most heartbeats are then
decided and logged: the log path's cost). Timed: the event loop only; the
end-of-run checks (log replay, re-decide, hash chains over the whole day) are
timed separately.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import pstats
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from sims.faults import SECOND, Fault
from sims.run import make_simulation
from sims.sim import SimParams

# main before issue 17 (simulator cost linear in the work) began.
BEFORE_REV = "eda7a03"
ROOT = Path(__file__).resolve().parent.parent
TARGET_EVENTS_PER_S = 200_000
TARGET_SPEEDUP = 10_000
TARGET_PEAK_MIB = 300  # the 5-node day with writes (issue 17)
MINUTE = 60 * SECOND


def day_schedule(hours: float, nodes: int) -> tuple[Fault, ...]:
    faults: list[Fault] = []
    cycle = [
        ("partition", "halves", "heal", ""),
        ("crash", "active", "restart", "all"),
        ("pause", "active", "resume", "all"),
        ("partition", "isolate-active", "heal", ""),
        ("crash", f"n{nodes}", "restart", f"n{nodes}"),
    ]
    end = int(hours * 3600 * SECOND)
    at, i = 10 * MINUTE, 0
    while at + MINUTE < end:
        kind, target, heal, heal_target = cycle[i % len(cycle)]
        faults.append(Fault(at, kind, target))
        faults.append(Fault(at + MINUTE, heal, heal_target))
        at += 10 * MINUTE
        i += 1
    return tuple(faults)


def checkpoints(hours: float) -> list[float]:
    """Simulated hours at which the run's CPU time is read (for the growth fit)."""
    marks = [h for h in (1.0, 2.0, 4.0, 8.0, 16.0) if h < hours]
    return [*marks, hours]


def growth_exponent(points: list[tuple[float, float]]) -> float:
    """b of the least-squares fit cpu = a * hours^b (log-log); 1.0 is linear."""
    xs = [math.log(h) for h, _ in points]
    ys = [math.log(c) for _, c in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def run_day(
    nodes: int, hours: float, profile: bool = False, write_s: float = 2.0
) -> dict[str, Any]:
    sched = day_schedule(hours, nodes)
    params = SimParams(write_interval_us=int(write_s * SECOND))
    sim = make_simulation("custom", 1, nodes=nodes, schedule=sched, params=params)
    sim.start()
    prof = cProfile.Profile() if profile else None
    wall = time.perf_counter()
    cpu0 = time.process_time()
    if prof is not None:
        prof.enable()
    # The same run, paused at each checkpoint to read the CPU time spent so far.
    cpu_at: list[tuple[float, float]] = []
    for h in checkpoints(hours):
        sim.run_until(min(int(h * 3600 * SECOND), sim.end))
        cpu_at.append((h, time.process_time() - cpu0))
    sim.run_until(sim.end)
    if prof is not None:
        prof.disable()
    loop_s = time.perf_counter() - wall
    t = time.perf_counter()
    result = sim.finish(loop_s)
    check_s = time.perf_counter() - t
    if prof is not None:
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    return {
        "events": result.events,
        "sim_s": result.sim_us / 1e6,
        "loop_s": loop_s,
        "check_s": check_s,
        "ok": float(result.ok),
        "records": float(sum(len(v) for v in result.logs.values())),
        "cpu_at": cpu_at,
    }


# Runs one day on another revision's tree (cwd): the same workload as run_day.
_BEFORE_SCRIPT = """
import json, resource, sys, time
sys.path.insert(0, ".")
from benchmarks_day import day_schedule, checkpoints
from sims.run import make_simulation
from sims.sim import SimParams
from sims.faults import SECOND
nodes, hours, write_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
params = SimParams(write_interval_us=int(write_s * SECOND))
sim = make_simulation("custom", 1, nodes=nodes, schedule=day_schedule(hours, nodes), params=params)
sim.start()
wall = time.perf_counter()
cpu0 = time.process_time()
cpu_at = []
for h in checkpoints(hours):
    sim.run_until(min(int(h * 3600 * SECOND), sim.end))
    cpu_at.append((h, time.process_time() - cpu0))
sim.run_until(sim.end)
loop_s = time.perf_counter() - wall
sim.finish(loop_s)  # the end-of-run checks, as hacore simulate runs them
mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"events": sim.events, "loop_s": loop_s, "sim_s": sim.now / 1e6, "cpu_at": cpu_at}
out["maxrss_mib"] = mib
print(json.dumps(out))
"""


def extract(rev: str, into: Path) -> None:
    """``hacore`` and ``sims`` of ``rev`` into ``into`` (git archive, no shell)."""
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(  # noqa: S603 - fixed argv, our own repository
            ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "hacore", "sims"],
            stdout=out,
            check=True,
            timeout=60,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    # The workload's schedule, from this file: both sides run the same faults.
    source = Path(__file__).read_text(encoding="utf-8")
    start = source.index("def day_schedule")
    end = source.index("def growth_exponent")
    header = "from sims.faults import SECOND, Fault\nMINUTE = 60 * SECOND\n\n\n"
    (into / "benchmarks_day.py").write_text(header + source[start:end], encoding="utf-8")


def run_day_child(
    code: Path, workdir: Path, nodes: int, hours: float, write_s: float
) -> dict[str, Any]:
    """One day in a fresh interpreter on the ``code`` tree (``workdir`` holds
    ``benchmarks_day.py``): its loop, end checks and peak resident set."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(workdir), str(code)])
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed argv
        [sys.executable, "-c", _BEFORE_SCRIPT, str(nodes), str(hours), str(write_s)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_day_before(tree: Path, nodes: int, hours: float, write_s: float) -> dict[str, Any]:
    return run_day_child(tree, tree, nodes, hours, write_s)


def fuzz_throughput(examples: int) -> float:
    from sims.fuzz import run_fuzz

    t = time.perf_counter()
    outcome = run_fuzz(examples=examples, nodes=2, seed=0)
    elapsed = time.perf_counter() - t
    return outcome.examples_run / elapsed * 60


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--fuzz-examples", type=int, default=60)
    ap.add_argument("--nodes", type=int, nargs="*", default=[2, 5])
    ap.add_argument(
        "--write-interval",
        type=float,
        nargs="*",
        default=[1e9, 2.0],
        help="client write every ~N s (1e9: idle); default: both",
    )
    ap.add_argument(
        "--before",
        default=BEFORE_REV,
        metavar="REV",
        help=f"also run each day on this revision and print the ratio (default {BEFORE_REV}; "
        "'none' to skip)",
    )
    ap.add_argument(
        "--memory",
        action="store_true",
        help="also run each day (and its end checks) in a fresh interpreter on this tree "
        "and print its peak resident set, beside the --before revision's",
    )
    args = ap.parse_args()
    after_dir: tempfile.TemporaryDirectory[str] | None = None
    if args.memory:
        after_dir = tempfile.TemporaryDirectory(prefix="hacore-bench-after-")
        source = Path(__file__).read_text(encoding="utf-8")
        start, end = source.index("def day_schedule"), source.index("def growth_exponent")
        header = "from sims.faults import SECOND, Fault\nMINUTE = 60 * SECOND\n\n\n"
        day = header + source[start:end]
        (Path(after_dir.name) / "benchmarks_day.py").write_text(day, encoding="utf-8")
    before_dir: tempfile.TemporaryDirectory[str] | None = None
    if args.before != "none":
        before_dir = tempfile.TemporaryDirectory(prefix="hacore-bench-before-")
        try:
            extract(args.before, Path(before_dir.name))
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"before {args.before}: skipped (cannot extract it: {exc})")
            before_dir.cleanup()
            before_dir = None
    for nodes, write_s in [(n, w) for n in args.nodes for w in args.write_interval]:
        r = run_day(nodes, args.hours, args.profile, write_s)
        eps = r["events"] / r["loop_s"]
        speedup = r["sim_s"] / r["loop_s"]
        total_speedup = r["sim_s"] / (r["loop_s"] + r["check_s"])
        load = "idle" if write_s >= 1e6 else f"writes/{write_s:g}s"
        tag = f"{nodes}-node {args.hours:g} h {load}"
        print(f"{tag} events: {int(r['events'])} events ({int(r['records'])} log records)")
        print(
            f"{tag} event rate: {eps:,.0f} events/s "
            f"(x{eps / TARGET_EVENTS_PER_S:.2f} of the 200,000 target)"
        )
        print(
            f"{tag} speed-up: {speedup:,.0f} x real time "
            f"(x{speedup / TARGET_SPEEDUP:.2f} of the 10,000x target)"
        )
        print(
            f"{tag} speed-up incl. end checks: {total_speedup:,.0f} x real time "
            f"(checks {r['check_s']:.2f} s; x{total_speedup / speedup:.2f} of loop-only)"
        )
        print(f"{tag} invariants: {'all hold' if r['ok'] else 'VIOLATED'}")
        cpu_at: list[tuple[float, float]] = r["cpu_at"]
        if len(cpu_at) >= 2:
            b_exp = growth_exponent(cpu_at)
            first_h, first_cpu = cpu_at[0]
            last_h, last_cpu = cpu_at[-1]
            per_first, per_all = first_cpu / first_h, last_cpu / last_h
            print(
                f"{tag} CPU growth exponent: {b_exp:.3f} (cpu ~ hours^b over "
                f"{first_h:g}..{last_h:g} h; 1.000 is linear; CPU per hour "
                f"{per_first:.3f} s over the first {first_h:g} h, "
                f"{per_all:.3f} s over all {last_h:g} h: x{per_all / per_first:.2f})"
            )
        mem_after: float | None = None
        if after_dir is not None:
            m = run_day_child(ROOT, Path(after_dir.name), nodes, args.hours, write_s)
            mem_after = float(m["maxrss_mib"])
            print(
                f"{tag} peak RSS: {mem_after:,.0f} MiB (fresh interpreter, loop and end checks; "
                f"x{mem_after / TARGET_PEAK_MIB:.2f} of the {TARGET_PEAK_MIB} MiB target "
                "set for the 5-node day)"
            )
        if before_dir is not None:
            b = run_day_before(Path(before_dir.name), nodes, args.hours, write_s)
            b_eps = b["events"] / b["loop_s"]
            print(
                f"{tag} event rate before ({args.before}): {b_eps:,.0f} events/s "
                f"({int(b['events'])} events); after/before: x{eps / b_eps:.2f}"
            )
            print(
                f"{tag} speed-up before: {b['sim_s'] / b['loop_s']:,.0f} x real time; "
                f"after/before: x{speedup / (b['sim_s'] / b['loop_s']):.2f}"
            )
            if mem_after is not None and "maxrss_mib" in b:
                print(
                    f"{tag} peak RSS before: {b['maxrss_mib']:,.0f} MiB; "
                    f"after/before: x{mem_after / b['maxrss_mib']:.2f}"
                )
            b_at = [(float(h), float(c)) for h, c in b.get("cpu_at", [])]
            if len(b_at) >= 2 and len(cpu_at) >= 2:
                print(
                    f"{tag} CPU growth exponent before: {growth_exponent(b_at):.3f}; "
                    f"after - before: {growth_exponent(cpu_at) - growth_exponent(b_at):+.3f}"
                )
    if before_dir is not None:
        before_dir.cleanup()
    if after_dir is not None:
        after_dir.cleanup()
    try:
        spm = fuzz_throughput(args.fuzz_examples)
    except ImportError:
        print("fuzz throughput: skipped (sims.fuzz.run_fuzz not available)")
    else:
        print(f"fuzz throughput: {spm:,.0f} schedules/min (x{spm / 60:.1f} of one per second)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
