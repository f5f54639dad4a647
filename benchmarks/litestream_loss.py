"""How many acknowledged commits a SIGKILLed ``litestream replicate`` loses.

For each interval setting: start replicate (real litestream 0.5.17, file
replica in a temporary directory), wait until the replica is level, commit
a row every ``--gap-ms`` for ``--commits`` commits, SIGKILL replicate, restore
the replica and count the acknowledged commits missing from it. Prints
``name: value unit`` lines (medians over ``--trials``) and the ratio of each
setting's loss to the baseline (litestream's default 1000 ms intervals)
measured in the same process. Not a test: nothing is asserted; timing on a
shared machine is noisy.

Run: ``.venv/bin/python benchmarks/litestream_loss.py [--trials 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from litestream_helpers import KineSite

SETTINGS = {
    "default_1000ms": (1000, 1000),
    "sync_only_100ms": (1000, 100),
    "both_100ms": (100, 100),
}


def one_trial(monitor_ms: int, sync_ms: int, commits: int, gap_s: float) -> int:
    site = KineSite(monitor_interval_ms=monitor_ms, sync_interval_ms=sync_ms)
    try:
        started = site.port.start_replication(key="b", deadline=site.port.clock_us() + 10**7)
        if type(started).__name__ != "Done":
            raise SystemExit(f"litestream_loss: replication did not start: {started}")
        acked = []
        for _ in range(commits):
            acked.append(site.write())
            time.sleep(gap_s)
        site.port.replicator.kill()
        return len(set(acked) - site.replica_ids())
    finally:
        site.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per setting (default 5)")
    parser.add_argument("--commits", type=int, default=40, help="commits per trial (default 40)")
    parser.add_argument("--gap-ms", type=int, default=25, help="ms between commits (default 25)")
    args = parser.parse_args()
    if args.trials < 1 or args.commits < 1 or args.gap_ms < 0:
        parser.error("--trials and --commits must be >= 1, --gap-ms >= 0")
    medians = {}
    for name, (monitor_ms, sync_ms) in SETTINGS.items():
        lost = [
            one_trial(monitor_ms, sync_ms, args.commits, args.gap_ms / 1000)
            for _ in range(args.trials)
        ]
        medians[name] = statistics.median(lost)
        print(f"lost_commits_{name}_median: {medians[name]} commits")
        print(f"lost_commits_{name}_max: {max(lost)} commits")
    base = medians["default_1000ms"]
    for name, value in medians.items():
        ratio = value / base if base else float("nan")
        print(f"lost_commits_{name}_vs_default: {ratio:.2f} ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
