"""How long keepalived 2.2.7 takes to do things, as measured in the lab: the model's draws.

The rules of ``hacore.vrrp`` say *what* keepalived does; these samples say *when*,
beyond the RFC's timers. Each field is a tuple of measured values in µs; the
simulator draws one with its seeded random stream (``draw``), so a run is still
reproducible from its seed. ``EXACT`` has none (no latency, no lag, all unicast
sends at once): the RFC's timers to the microsecond.
``MEASURED`` is written by ``scripts/vrrp_lab_trials.py`` from lab trials (see
docs/vrrp-trials.md for how each figure is taken and the machine's load).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace

from sims.keepalived_samples import SAMPLES

__all__ = ["EXACT", "MEASURED", "KeepalivedTiming", "draw", "typical"]


@dataclass(frozen=True, slots=True)
class KeepalivedTiming:
    # process launch -> the first down timer is armed, late first timer included
    # (from lone nodes: first advert on the wire minus Master_Down_Interval)
    start_latency_us: tuple[int, ...] = ()
    # nodes launched together, one after another: this launch's start minus the one before
    # (from the BACKUP lines of successive launches; can be negative)
    launch_gap_us: tuple[int, ...] = ()
    # how late the master's Adver_Timer fires (an advert's spacing minus advert_int)
    timer_late_us: tuple[int, ...] = ()
    # how late a backup's Master_Down_Timer fires (after a kill: the new master's first
    # advert minus the last advert it heard minus its Master_Down_Interval)
    down_timer_late_us: tuple[int, ...] = ()
    # the timer armed at start -> the start-up BACKUP line on the fifo
    backup_line_us: tuple[int, ...] = ()
    # the node's first advert as master on the wire -> its MASTER line
    notify_lag_master_us: tuple[int, ...] = ()
    # the higher-priority advert on the wire -> the preempted master's BACKUP line
    # (also used for every other line written on receipt or on stop)
    notify_lag_backup_us: tuple[int, ...] = ()
    # between the unicast sends to successive peers: a new master's first advert
    send_gap_first_us: tuple[int, ...] = ()
    # ... and every later advert
    send_gap_us: tuple[int, ...] = ()


def typical(t: KeepalivedTiming) -> KeepalivedTiming:
    """Every figure at its median, as the only sample (a model with no randomness left),
    without start-up latency or launch gaps: for replaying a lab run whose start times
    are known. Its adverts drift as keepalived's do on average."""

    def median(xs: tuple[int, ...]) -> tuple[int, ...]:
        return (sorted(xs)[len(xs) // 2],) if xs else ()

    replayed = ("start_latency_us", "launch_gap_us")
    return replace(
        t, **{f.name: () if f.name in replayed else median(getattr(t, f.name)) for f in fields(t)}
    )


def draw(rng: random.Random, samples: tuple[int, ...]) -> int:
    """One of the measured values (0 when there are none), from the run's stream."""
    if not samples:
        return 0
    return samples[rng.randrange(len(samples))]


EXACT = KeepalivedTiming()
MEASURED = KeepalivedTiming(**SAMPLES)
