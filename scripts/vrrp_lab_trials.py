#!/usr/bin/env python3
"""Lab trials of keepalived for the racy cases and the model's timing figures.

    .venv/bin/python scripts/vrrp_lab_trials.py collect [--trials 20] [--out FILE]
    .venv/bin/python scripts/vrrp_lab_trials.py report [--runs FILE] [--model-runs 200]

(FILE defaults to runs/vrrp-trials.json.)

``collect`` needs root, keepalived, nft and ip; it runs every racy case and the
lone-node timing case ``--trials`` times on fresh labs and saves every fifo line
and every advert on the wire. ``report`` derives the timing figures, writes them
to sims/keepalived_samples.py, runs the model ``--model-runs`` times per case and
writes docs/vrrp-trials.md (figures, outcome counts, Fisher's exact test).
Exit 0 when every case agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from adapters.lab import trials
from hacli import vrrp_trials as vt

ROOT = Path(__file__).resolve().parent.parent


def collect(count: int, out: Path) -> int:
    records = []
    started = time.monotonic()
    for c in (vt.SOLO, *vt.CASES):
        for i in range(count):
            rec = trials.run_trial(
                c.spec(i), i, state_dir=f"/run/hacore-lab-trials-{os.getpid()}/{c.kind}-{i}",
                name=f"tr-{c.kind}-{i}",
            )  # fmt: skip
            records.append(rec)
            word = vt.real_outcome(rec) if c.interest else "-"
            print(f"{c.kind} #{i}: {word}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    trials.save(records, out)
    print(f"{len(records)} trials in {time.monotonic() - started:.0f} s -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--trials", type=int, default=20)
    c.add_argument("--out", default=str(ROOT / "runs" / "vrrp-trials.json"))
    r = sub.add_parser("report")
    r.add_argument("--runs", default=str(ROOT / "runs" / "vrrp-trials.json"))
    r.add_argument("--model-runs", type=int, default=200)
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        if args.trials < 1:
            ap.error("--trials: must be >= 1")
        return collect(args.trials, Path(args.out))
    from hacli.vrrp_trials_report import report  # the model side

    return report(Path(args.runs), args.model_runs, ROOT)


if __name__ == "__main__":
    sys.exit(main())
