"""Galera failover and rejoin speed on the real 2-node lab (needs root; not a test).

Per trial (``--trials``, default 5): SIGKILL of the active's mariadbd (n1), then
the survivor (n2) under availability-first, broken into steps:
- detection: SIGKILL -> n2 reports non-Primary (Galera's suspect timeout);
- plan: the core's decision on the loss (PeerLost + VRRP MASTER -> a promotion
  plan with bootstrap allowed), timed in process;
- bootstrap: ``make_primary`` (pc.bootstrap) -> n2 Primary;
- first write: n2 Primary -> the first acknowledged INSERT;
- total: SIGKILL -> the first acknowledged write.
Then n1 rejoins: by IST (crash recovery of the position, then start) and, after a
quarantine dump, by forced SST; the log says which transfer happened.

Baseline in the same run: a graceful stop of n1 (the peer stays Primary), to
n2's first acknowledged write; ratio = median kill total / median graceful.
And the SST/IST rejoin ratio. Timings on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from galera_lab import GALERA_TOOLS, Writer, core_promotion, galera_lab, ids, lab_config, node  # noqa: E402

from adapters.galera.quarantine import quarantine  # noqa: E402
from adapters.lab.galera import GaleraLab  # noqa: E402
from hacore.roles import Mode  # noqa: E402


def _poll(pred: object, timeout: float = 60.0, every: float = 0.01) -> float:
    assert callable(pred)
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("timed out")
        time.sleep(every)
    return time.monotonic()


def _first_write(g: GaleraLab, writer: Writer) -> float:
    return _poll(lambda: writer.write(1, timeout=1.0) == 1)


def kill_trial(g: GaleraLab, writer: Writer) -> dict[str, float]:
    t0 = time.monotonic()
    g.server("n1").kill()
    t1 = _poll(lambda: (s := g.probe("n2", 0.5).status) is not None and not s.primary)
    p0 = time.perf_counter()
    plan = core_promotion(lab_config(g, Mode.AVAILABILITY_FIRST), "n2", 0)
    plan_s = time.perf_counter() - p0
    assert plan is not None and plan.bootstrap_allowed
    t2 = time.monotonic()
    out = node(g, "n2").make_primary(bootstrap_allowed=plan.bootstrap_allowed)
    assert out.ok, out
    t3 = time.monotonic()
    t4 = _first_write(g, writer)
    return {
        "detection": t1 - t0,
        "plan": plan_s,
        "bootstrap": t3 - t2,
        "first_write": t4 - t3,
        "total": t4 - t0,
    }


def rejoin(g: GaleraLab, *, sst: bool) -> tuple[float, str | None]:
    server = g.server("n1")
    n1 = node(g, "n1")
    q: Path | None = None
    if sst:
        # the SST path of a split-brain loser: quarantine first, then forced SST
        r = quarantine(
            g.endpoint("n1"), g.credentials(), schemas=["app"], root=g.lab.dir / "q",
            node="n1", epoch=1, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        q = r.directory
    offset = server.log_offset()
    t0 = time.monotonic()
    out = n1.rejoin(force_sst=sst, quarantine=q)
    elapsed = time.monotonic() - t0
    assert out.ok, out
    return elapsed, server.state_transfer_since(offset)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    if args.trials < 1:
        print("galera_failover: --trials must be >= 1", file=sys.stderr)
        return 2
    missing = [b for b in GALERA_TOOLS if shutil.which(b) is None]
    if os.geteuid() != 0 or missing:
        print(f"galera_failover: needs root and {', '.join(GALERA_TOOLS)}", file=sys.stderr)
        return 1
    kills: list[dict[str, float]] = []
    graceful: list[float] = []
    ist: list[float] = []
    sst: list[float] = []
    with galera_lab(2) as g:
        writer = Writer(g, "n2", ids(1))
        for _ in range(args.trials):
            kills.append(kill_trial(g, writer))
            seconds, kind = rejoin(g, sst=False)
            if kind == "IST":
                ist.append(seconds)
            # force an SST on the now-synced n1 (a quarantined split-brain loser's path)
            seconds, kind = rejoin(g, sst=True)
            if kind == "SST":
                sst.append(seconds)
            t0 = time.monotonic()
            assert node(g, "n1").stop().ok
            graceful.append(_first_write(g, writer) - t0)
            seconds, _ = rejoin(g, sst=False)
    print(f"trials: {len(kills)} count")
    for key in ("detection", "plan", "bootstrap", "first_write", "total"):
        med = statistics.median(k[key] for k in kills)
        unit = ("us", 1e6) if key == "plan" else ("ms", 1e3)
        print(f"kill_{key}_median: {med * unit[1]:.1f} {unit[0]}")
    base = statistics.median(graceful)
    total = statistics.median(k["total"] for k in kills)
    print(f"graceful_stop_to_write_median: {base * 1000:.1f} ms")
    print(f"kill_vs_graceful_ratio: {total / base:.1f} x")
    if ist and sst:
        print(f"rejoin_ist_median: {statistics.median(ist) * 1000:.0f} ms ({len(ist)} runs)")
        print(f"rejoin_sst_median: {statistics.median(sst) * 1000:.0f} ms ({len(sst)} runs)")
        print(f"rejoin_sst_vs_ist_ratio: {statistics.median(sst) / statistics.median(ist):.2f} x")
    else:
        print(f"galera_failover: transfers seen: IST {len(ist)}, SST {len(sst)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
