"""The racy cases, lab against model as distributions; and the timing figures from the lab.

Some keepalived outcomes are not decided by the rules but by timing that varies from
run to run: who wins when equal priorities start together, whether a lower
priority is briefly master at a simultaneous start, which backup moves first when
the master dies between two unicast sends. For those a single comparison proves
nothing; here each case runs >= 20 times on the lab (``adapters.lab.trials``) and
>= 200 times on the model (``sims.vrrp_sim`` with :mod:`sims.keepalived_timing`, a
different seed per run), each run is reduced to one outcome word, and the two
outcome counts are compared with Fisher's exact test (two-sided, 2 x 2: the
case's outcome of interest against all others). The model agrees when p >= ALPHA.

The same lab trials give the figures the model's timing is drawn from
(:func:`timing_figures`): keepalived's start-up latency and late first timers,
the notify lag between an advert on the wire and the fifo line, and the gap
between the unicast sends of one advert to successive peers.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from adapters.lab.lab import SUBNET, LabNodeSpec
from adapters.lab.trials import TrialRecord, TrialSpec, TrialStep, WireAdvert
from hacore.vrrp import VrrpConfig, master_down_interval_us
from sims.keepalived_timing import KeepalivedTiming
from sims.vrrp_sim import VrrpSim

ALPHA = 0.01  # Fisher's exact test, two-sided
STATE_WORDS = ("BACKUP", "MASTER", "FAULT", "STOP")
KILL_AT = 1.0


@dataclass(frozen=True)
class RacyCase:
    kind: str
    title: str
    interest: str  # the outcome word whose frequency is compared
    spec: Callable[[int], TrialSpec]


def _solo(i: int) -> TrialSpec:
    # n2's namespace is there (its address answers ARP, so n1's unicast adverts go on
    # the wire) but its keepalived is never started: n1 is alone
    return TrialSpec("solo", (LabNodeSpec("n1", 200), LabNodeSpec("n2", 100)), "0.1", 1.0, ("n1",))


def _equal(first: str) -> Callable[[int], TrialSpec]:
    other = "n2" if first == "n1" else "n1"

    def spec(i: int) -> TrialSpec:
        nodes = (LabNodeSpec("n1", 100), LabNodeSpec("n2", 100))
        return TrialSpec(f"equal-{first}-first", nodes, "0.1", 1.0, (first, other))

    return spec


def _together3(i: int) -> TrialSpec:
    nodes = (LabNodeSpec("n1", 150), LabNodeSpec("n2", 120), LabNodeSpec("n3", 100))
    return TrialSpec("together-3", nodes, "0.1", 1.0, ("n1", "n2", "n3"))


def _kill3(i: int) -> TrialSpec:
    nodes = (LabNodeSpec("n1", 150), LabNodeSpec("n2", 120), LabNodeSpec("n3", 100))
    # the kill lands at a different phase of n1's advert cycle in every trial
    phase = round((i * 0.0373) % 0.1, 4)
    return TrialSpec(
        "kill-3", nodes, "0.1", 1.8, ("n1",),
        (
            TrialStep(0.15, "start", "n2"),
            TrialStep(0.15, "start", "n3"),
            TrialStep(KILL_AT + phase, "kill", "n1"),
        ),
    )  # fmt: skip


CASES: tuple[RacyCase, ...] = (
    RacyCase(
        "equal-n1-first",
        "equal priorities (100/100) started together, n1 launched first",
        "n1",
        _equal("n1"),
    ),
    RacyCase(
        "equal-n2-first",
        "equal priorities (100/100) started together, n2 launched first",
        "n1",
        _equal("n2"),
    ),
    RacyCase(
        "together-3",
        "3 nodes 150/120/100 started together: a lower priority briefly master",
        "lower-was-master",
        _together3,
    ),
    RacyCase(
        "kill-3",
        "3 nodes 150/120/100, SIGKILL of the master at a random phase: n3 briefly master",
        "n3-was-master",
        _kill3,
    ),
)
SOLO = RacyCase("solo", "one node (200) alone: timing figures only", "", _solo)


def case(kind: str) -> RacyCase:
    for c in (*CASES, SOLO):
        if c.kind == kind:
            return c
    raise ValueError(f"unknown racy case {kind!r}")


# ----------------------------------------------------------------- outcomes --


def outcome(kind: str, lines: Sequence[tuple[float, str, str]], after: float = 0.0) -> str:
    """One word for a run, from its fifo state lines ``(t, node, state)`` in time order."""
    seen = [n for t, n, state in lines if t >= after and state == "MASTER"]
    if kind.startswith("equal"):  # who is master at the end
        final: dict[str, str] = {}
        for _t, n, state in lines:
            final[n] = state
        return "+".join(sorted(n for n, state in final.items() if state == "MASTER")) or "none"
    if kind == "together-3":
        return "lower-was-master" if any(n != "n1" for n in seen) else "n1-only"
    if kind == "kill-3":
        return "n3-was-master" if "n3" in seen else (seen[0] if seen else "none")
    raise ValueError(f"no outcome for {kind!r}")


def real_outcome(rec: TrialRecord) -> str:
    after = max((t for op, _n, t in rec.ops if op == "kill"), default=0.0)
    lines = [(x.t, x.node, x.word) for x in rec.fifo if x.word in STATE_WORDS]
    return outcome(rec.spec, lines, after)


def model_outcome(kind: str, seed: int, timing: KeepalivedTiming) -> str:
    spec = case(kind).spec(seed)
    interval_us = int(Decimal(spec.advert_int) * 1_000_000)
    configs = {
        n.name: VrrpConfig(n.priority, interval_us, f"{SUBNET}.{i}")
        for i, n in enumerate(spec.nodes, start=1)
    }
    sim = VrrpSim(configs, seed=seed, timing=timing)
    for name in spec.launch:
        sim.at(0, "start", name)
    kill_at = 0.0
    for st in spec.steps:
        sim.at(round(st.at * 1_000_000), st.op, st.node)
        if st.op == "kill":
            kill_at = st.at
    sim.run_until(round(spec.duration * 1_000_000))
    lines = [(x.time_us / 1e6, x.node, x.word) for x in sim.fifo_lines() if x.word in STATE_WORDS]
    return outcome(kind, lines, kill_at)


# ---------------------------------------------------------------- statistics --


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for [[a, b], [c, d]] (rows: lab, model;
    columns: outcome of interest, other): the sum of the probabilities of every table
    with the same margins that is no more likely than the one observed."""
    row1, col1, n = a + b, a + c, a + b + c + d

    def p(x: int) -> float:
        return math.comb(col1, x) * math.comb(n - col1, row1 - x) / math.comb(n, row1)

    observed = p(a)
    lo, hi = max(0, row1 + col1 - n), min(row1, col1)
    return min(1.0, sum(p(x) for x in range(lo, hi + 1) if p(x) <= observed * (1 + 1e-9)))


@dataclass(frozen=True)
class Comparison:
    case: RacyCase
    real: dict[str, int]
    model: dict[str, int]
    p_value: float

    @property
    def agree(self) -> bool:
        return self.p_value >= ALPHA


def compare_counts(c: RacyCase, real: Sequence[str], model: Sequence[str]) -> Comparison:
    a = sum(1 for x in real if x == c.interest)
    m = sum(1 for x in model if x == c.interest)
    p = fisher_exact(a, len(real) - a, m, len(model) - m)
    return Comparison(c, _counts(real), _counts(model), p)


def _counts(xs: Sequence[str]) -> dict[str, int]:
    return {k: xs.count(k) for k in sorted(set(xs))}


# -------------------------------------------------------------- the figures --


def _mdi_s(priority: int, advert_int: str) -> float:
    return master_down_interval_us(priority, int(Decimal(advert_int) * 1_000_000)) / 1e6


FIGURE_NAMES = (
    "start_latency_us",
    "launch_gap_us",
    "timer_late_us",
    "down_timer_late_us",
    "backup_line_us",
    "notify_lag_master_us",
    "notify_lag_backup_us",
    "send_gap_first_us",
    "send_gap_us",
)


def _us(x: float) -> int:
    return round(x * 1_000_000)


def _bursts(sends: Sequence[WireAdvert], npeers: int) -> list[list[WireAdvert]]:
    """One node's sends grouped into adverts: up to ``npeers`` sends within 20 ms."""
    out: list[list[WireAdvert]] = []
    for w in sends:
        if out and len(out[-1]) < npeers and w.t - out[-1][0].t <= 0.02:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def timing_figures(records: Sequence[TrialRecord]) -> dict[str, list[int]]:
    """Samples (µs) of each figure the model draws, from the lab trials."""
    f: dict[str, list[int]] = {name: [] for name in FIGURE_NAMES}
    solo_first: list[tuple[float, float]] = []  # (first advert, BACKUP line) of lone nodes
    for rec in records:
        spec = case(rec.spec).spec(rec.index)
        prio = {n.name: n.priority for n in spec.nodes}
        interval = float(spec.advert_int)
        sends = sorted(rec.wire, key=lambda w: w.t)
        lines = sorted(rec.fifo, key=lambda x: x.t)
        for node in prio:
            mine = [w for w in sends if w.src == node]
            bursts = _bursts(mine, len(spec.nodes) - 1)
            for k, b in enumerate(bursts):
                gaps = [_us(v.t - u.t) for u, v in itertools.pairwise(b)]
                new_mastership = k == 0 or b[0].t - bursts[k - 1][0].t > 1.5 * interval
                f["send_gap_first_us" if new_mastership else "send_gap_us"] += gaps
                if not new_mastership:
                    late = b[0].t - bursts[k - 1][0].t - interval
                    if late > -0.25 * interval:  # else a re-advertisement (R7/R9), not a timer
                        f["timer_late_us"].append(max(0, _us(late)))
        # launch order: the start-up BACKUP lines of successive launches
        if len(spec.launch) > 1:
            first_backup = {}
            for x in lines:
                if x.word == "BACKUP" and x.node not in first_backup:
                    first_backup[x.node] = x.t
            for u, v in itertools.pairwise(spec.launch):
                if u in first_backup and v in first_backup:
                    f["launch_gap_us"].append(_us(first_backup[v] - first_backup[u]))
        if rec.spec == "kill-3":  # the backup that takes over: how late its down timer was
            kill = max(t for op, _n, t in rec.ops if op == "kill")
            after = [w for w in sends if w.t > kill and w.src != "n1"]
            if after:
                node = after[0].src
                heard = [w.t for w in sends if w.src == "n1" and w.dst == node and w.t <= kill]
                if heard:
                    due = heard[-1] + _mdi_s(prio[node], spec.advert_int)
                    f["down_timer_late_us"].append(max(0, _us(after[0].t - due)))
        if rec.spec == "solo":
            first = next((w.t for w in sends if w.src == "n1"), None)
            backup = next((x.t for x in lines if x.word == "BACKUP"), None)
            if first is not None and backup is not None:
                solo_first.append((first - _mdi_s(prio["n1"], spec.advert_int), backup))
        for x in lines:
            before = [y for y in lines if y.node == x.node and y.t < x.t]
            if x.word == "MASTER":  # the node's first advert after its line before
                since = before[-1].t if before else 0.0
                adv = next((w.t for w in sends if w.src == x.node and w.t >= since), None)
                if adv is not None and adv <= x.t:
                    f["notify_lag_master_us"].append(_us(x.t - adv))
            elif x.word == "BACKUP" and before and before[-1].word == "MASTER":
                # preempted: the first higher-priority advert that reached it as master
                adv = next(
                    (
                        w.t
                        for w in sends
                        if w.dst == x.node and w.priority > prio[x.node] and w.t >= before[-1].t
                    ),
                    None,
                )
                if adv is not None and adv <= x.t:
                    f["notify_lag_backup_us"].append(_us(x.t - adv))
    # a lone node's first down timer is late too: take the median lateness off its start
    late = statistics.median(f["timer_late_us"]) / 1e6 if f["timer_late_us"] else 0.0
    for armed, backup in solo_first:
        f["start_latency_us"].append(max(0, _us(armed - late)))
        f["backup_line_us"].append(max(0, _us(backup - (armed - late))))
    return {k: sorted(v) for k, v in f.items()}


def thin(xs: Sequence[int], keep: int = 101) -> tuple[int, ...]:
    """At most ``keep`` values spread over the sorted samples (every percentile of many)."""
    xs = sorted(xs)
    if len(xs) <= keep:
        return tuple(xs)
    return tuple(xs[round(i * (len(xs) - 1) / (keep - 1))] for i in range(keep))


def quantile(xs: Sequence[int], q: float) -> int:
    if not xs:
        return 0
    return sorted(xs)[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]


def describe(xs: Sequence[int]) -> str:
    if not xs:
        return "no samples"
    ms = [x / 1000 for x in xs]
    return (
        f"n={len(xs)} min {min(ms):.1f} median {statistics.median(ms):.1f} "
        f"p95 {quantile(xs, 0.95) / 1000:.1f} max {max(ms):.1f} ms"
    )
