"""The core's model of one VRRP router (RFC 5798 §6.4, keepalived 2.2 flavour).

Pure: no I/O, no clock, no randomness. Time is integer microseconds carried by
every stimulus; everything the router wants done leaves as data (actions).
``step(router, stimulus) -> (router, actions)`` is total: every (state,
stimulus) pair is decided on purpose, "impossible" ones are no-ops.

Theory of operation
===================

A router has one timer at a time: the Adver_Timer while MASTER, the
Master_Down_Timer while BACKUP, none otherwise. Each arming carries a fresh
*generation*; a ``VrrpTimerFired`` whose generation is not the armed one is stale
(the timer was re-armed or cancelled after it was scheduled) and is ignored.
The driver (the simulator, or a runtime) schedules ``VrrpTimerFired(due, gen)``
when it sees ``ArmVrrpTimer(due, gen)`` and never has to cancel anything.

Timers (RFC 5798 §6.1, keepalived ``VRRP_TIMER_SKEW``, integer µs)::

    Skew_Time            = ((256 - Priority) * Master_Adver_Interval) // 256
    Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time

where Priority is the *effective* priority and Master_Adver_Interval is the
interval learned from the master's adverts (our own before we heard any).

Rules (the numbers are the ones the tests are named after)
----------------------------------------------------------

R1  Start (from INIT or STOP). The address owner configured ``state MASTER``
    (priority 255 and ``start_as_master``) becomes MASTER at once: it sends
    an advert, arms the Adver_Timer and reports MASTER with no BACKUP before
    it. Every other router enters BACKUP (or FAULT while a fault is raised)
    with the down timer at the full Master_Down_Interval, ``state MASTER`` or
    not: measured on keepalived 2.2.7, a priority-200 ``state MASTER`` node
    alone takes over 1.61-1.62 s after its BACKUP line at advert_int 0.5 s
    (Master_Down_Interval 1.609 s, one interval plus skew would be 0.502 s),
    and a priority-255 node configured ``state BACKUP`` waits its 1.502 s.
    (``vrrp_init_state`` in keepalived's source has a one-interval path for
    ``state MASTER``; the lab shows it is not what 2.2.7 ends up doing, the
    measurement decides.) Preempt-delay bookkeeping is reset.
R2  BACKUP, down timer fires: send an advert, arm the Adver_Timer, MASTER.
R3  BACKUP, advert with priority 0: arm the down timer at Skew_Time (fast
    takeover after the master resigned).
R4  BACKUP, advert accepted — ``nopreempt``, or its priority >= ours, or a
    preempt delay is holding: adopt its interval as Master_Adver_Interval,
    re-arm the down timer at Master_Down_Interval. Equal priority is accepted:
    a backup never preempts an equal-priority master (seen on keepalived).
R5  BACKUP, advert of lower priority while preempting: discarded, so the
    down timer fires and this router takes over. With ``preempt_delay`` the
    first such advert after (re)start opens a hold of ``preempt_delay``
    (keepalived counts it from there, not from process start); until the hold
    ends, lower-priority adverts are treated as in R4.
R6  MASTER, Adver_Timer fires: send an advert, re-arm the Adver_Timer.
R7  MASTER, advert with priority 0: send an advert at once, re-arm.
R8  MASTER, advert of higher priority, or of equal priority from a
    numerically higher primary address (both are master: a healed
    partition): adopt its interval, arm the down timer, BACKUP.
R9  MASTER, any other advert (lower priority, or equal from a lower
    address): keepalived re-advertises at once (the RFC says discard; the
    Adver_Timer is left as it is) and writes ``MASTER_RX_LOWER_PRI`` with its
    own effective priority on the notify FIFO: ``LowerPriorityReported``.
R10 Shutdown: a MASTER sends a priority-0 advert; any running router cancels
    its timer and reports STOP (keepalived writes a STOP fifo line).
R11 FaultRaised: BACKUP or MASTER goes to FAULT (a master resigns with a
    priority-0 advert); FAULT ignores adverts and timers. FaultCleared:
    FAULT goes to BACKUP with the down timer at Master_Down_Interval. A fault
    raised while stopped is remembered for the next Start.
R12 PriorityChanged sets the effective priority (what track_script /
    track_interface weights or the core make it); it is advertised with the
    next advert and used for the next timer computation. No state change.
R13 Stale VrrpTimerFired (generation not the armed one) is ignored.
R14 Stimuli in states where they mean nothing (an advert to a stopped router,
    Start while running, ...) are no-ops.
R15 Advertisement intervals are what keepalived runs, never what was
    written: :func:`advert_interval_in_force_us` is the one source of truth
    (VRRPv3 centiseconds, rounded half up; below 0.01 s or above 255 s the
    value is ignored and the 1 s default runs; 40.96..255 s is clamped to
    40.95 s). ``VrrpConfig`` and ``AdvertReceived`` refuse any other value,
    naming the interval keepalived would run instead.

A router killed outright (SIGKILL) is not a stimulus: the driver forgets it
and starts again from ``VrrpRouter.initial(config)`` — no advert, no report.

Known differences from keepalived 2.2.7 (measured in the lab, 2 loaded cores;
docs/vrrp-model.md has the whole list and docs/vrrp-trials.md the figures)
-------------------------------------------------------------------------------

- No timing here at all (the core takes time as input). keepalived's start-up
  latency (launch to first down timer: median 90 ms, max 192 ms), late timers
  (Adver_Timer median 3.6 ms, max 49.7 ms; Master_Down_Timer median 2.4 ms,
  max 8.0 ms), notify lag (advert on the wire to the MASTER line: median
  14.5 ms, max 62.7 ms) and unicast sends peer by peer (0.1 ms apart, up to
  9.9 ms for a new master's first advert) are added by ``sims.vrrp_sim`` from
  lab samples. Without them simultaneous and equal-priority starts are decided
  by priority and address; keepalived's are a coin toss (12-13 of 25 lab
  trials either way).
- With that timing, a 3-node kill (150/120/100) makes n3 briefly master in 5 %
  of model runs, 0 of 25 lab trials (p = 0.61: within what 25 trials tell).
- keepalived's source has a one-interval start-up path for ``state MASTER``
  (``vrrp_init_state``) that 2.2.7 does not take in the lab; R1 follows the lab.
- Two address owners: keepalived lowers its own priority to 254; not here.
- ``preempt_delay`` with ``state MASTER``: keepalived clears it; refused here.
- Not modelled: gratuitous ARP, ``lower_prio_no_advert``,
  ``higher_prio_send_advert``, sync groups, ``down_timer_adverts`` other than 3,
  strict mode, VRRPv2, IPv6, VMAC, the timing of FAULT transitions.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass, replace

from hacore import codegen
from hacore.roles import VrrpStatus

__all__ = [
    "Action",
    "AdvertReceived",
    "ArmVrrpTimer",
    "CancelVrrpTimer",
    "FaultCleared",
    "FaultRaised",
    "LowerPriorityReported",
    "PriorityChanged",
    "SendAdvert",
    "Shutdown",
    "Start",
    "StateChanged",
    "Stimulus",
    "TimerKind",
    "VrrpConfig",
    "VrrpRouter",
    "VrrpTimerFired",
    "advert_interval_in_force_us",
    "check_advert_interval_us",
    "master_down_interval",
    "master_down_interval_us",
    "skew_time",
    "skew_time_us",
    "step",
]

MAX_PREEMPT_DELAY_US = 1000 * 1_000_000  # keepalived: preempt_delay 0..1000 s
OWNER_PRIORITY = 255
DOWN_TIMER_ADVERTS = 3  # keepalived's down_timer_adverts default
CENTISECOND_US = 10_000  # VRRPv3 carries the interval in centiseconds (12 bits)
MIN_ADVERT_INTERVAL_US = CENTISECOND_US
MAX_ADVERT_INTERVAL_US = 4095 * CENTISECOND_US  # 40.95 s
DEFAULT_ADVERT_INTERVAL_US = 1_000_000
_PARSER_MAX_US = 255 * 1_000_000  # keepalived's config parser refuses more than 255 s


# ---------------------------------------------------------------- timers ----


def _check_priority(priority: int) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"priority: must be an int, got {priority!r}")
    if not 1 <= priority <= 255:
        raise ValueError(f"priority: must be in 1..255, got {priority}")


def advert_interval_in_force_us(configured_us: int) -> int:
    """The advert interval keepalived 2.2.7 (VRRPv3) runs for a configured one, in µs.

    From ``vrrp_parser.c`` and ``vrrp.c``, and measured in the lab: 0.015 s is
    logged as "must be in units of 10ms - rounding" and runs as 0.02 s (a lone
    priority-200 node took over 65-67 ms after its BACKUP line: Master_Down_Interval
    at 0.02 s is 64 ms, at 0.015 s it would be 48 ms); 0.005 s is logged as "not
    valid ... ignoring" and the 1 s default runs (3.21 s to take over, 3.219 s at
    1 s). Values of 40.96 s and more are clamped to 40.95 s (12 bits).
    """
    if isinstance(configured_us, bool) or not isinstance(configured_us, int):
        raise ValueError(f"advert_interval_us: must be an int, got {configured_us!r}")
    if not MIN_ADVERT_INTERVAL_US <= configured_us <= _PARSER_MAX_US:
        return DEFAULT_ADVERT_INTERVAL_US
    if configured_us > MAX_ADVERT_INTERVAL_US:
        return MAX_ADVERT_INTERVAL_US
    rounded = configured_us + CENTISECOND_US // 2
    return min(MAX_ADVERT_INTERVAL_US, rounded - rounded % CENTISECOND_US)


def check_advert_interval_us(field: str, value: int) -> None:
    """Refuse an interval keepalived would not run as given (R15), naming the field and
    the interval it would run instead."""
    in_force = advert_interval_in_force_us(value)
    if value != in_force:
        raise ValueError(
            f"{field}: keepalived (VRRPv3) would run {in_force} µs, not {value} µs: an "
            f"interval must be a multiple of {CENTISECOND_US} µs in "
            f"{MIN_ADVERT_INTERVAL_US}..{MAX_ADVERT_INTERVAL_US} µs"
        )


def skew_time_us(priority: int, advert_interval_us: int) -> int:
    """Skew_Time in µs: ((256 - priority) * interval) // 256 (keepalived's integer maths)."""
    _check_priority(priority)
    if advert_interval_us <= 0:
        raise ValueError(f"advert_interval_us: must be > 0, got {advert_interval_us}")
    return ((256 - priority) * advert_interval_us) // 256


def master_down_interval_us(priority: int, advert_interval_us: int) -> int:
    """Master_Down_Interval in µs: 3 * interval + Skew_Time."""
    return DOWN_TIMER_ADVERTS * advert_interval_us + skew_time_us(priority, advert_interval_us)


def skew_time(priority: int, advert_interval: float) -> float:
    """Skew_Time in seconds (priority 100, 1 s -> 0.609375)."""
    _check_priority(priority)
    if advert_interval <= 0:
        raise ValueError(f"advert_interval: must be > 0, got {advert_interval}")
    return ((256 - priority) * advert_interval) / 256


def master_down_interval(priority: int, advert_interval: float) -> float:
    """Master_Down_Interval in seconds (priority 100, 1 s -> 3.609375)."""
    return DOWN_TIMER_ADVERTS * advert_interval + skew_time(priority, advert_interval)


@functools.lru_cache(maxsize=1024)
def _address_number(address: str) -> int:
    """The numeric value of a dotted IPv4 address (R8 compares them), parsed once.

    A cluster has a handful of addresses; a MASTER compares its own and the
    sender's on every advert it receives. Invalid text raises as before (an
    exception is never cached).
    """
    return int(ipaddress.IPv4Address(address))


# ----------------------------------------------------------------- state ----


class TimerKind(enum.StrEnum):
    NONE = "NONE"
    ADVER = "ADVER"  # Adver_Timer (MASTER)
    MASTER_DOWN = "MASTER_DOWN"  # Master_Down_Timer (BACKUP)


@dataclass(frozen=True, slots=True)
class VrrpConfig:
    """One router's configuration (one keepalived vrrp_instance)."""

    priority: int
    advert_interval_us: int
    address: str
    preempt: bool = True
    preempt_delay_us: int = 0
    start_as_master: bool = False

    def __post_init__(self) -> None:
        _check_priority(self.priority)
        check_advert_interval_us("advert_interval_us", self.advert_interval_us)  # R15
        try:
            ipaddress.IPv4Address(self.address)
        except (ipaddress.AddressValueError, ValueError, TypeError):
            raise ValueError(
                f"address: must be an IPv4 dotted address, got {self.address!r}"
            ) from None
        if not isinstance(self.preempt, bool):
            raise ValueError(f"preempt: must be a bool, got {self.preempt!r}")
        if isinstance(self.preempt_delay_us, bool) or not isinstance(self.preempt_delay_us, int):
            raise ValueError(f"preempt_delay_us: must be an int, got {self.preempt_delay_us!r}")
        if not 0 <= self.preempt_delay_us <= MAX_PREEMPT_DELAY_US:
            raise ValueError(f"preempt_delay_us: must be in 0..1000 s, got {self.preempt_delay_us}")
        if not isinstance(self.start_as_master, bool):
            raise ValueError(f"start_as_master: must be a bool, got {self.start_as_master!r}")
        if not self.preempt and self.start_as_master:
            raise ValueError("preempt: nopreempt requires start_as_master=False (state BACKUP)")
        if self.preempt_delay_us and self.start_as_master:
            # keepalived clears it: "preempt delay will not work with initial state MASTER"
            raise ValueError("preempt_delay_us: keepalived ignores it with start_as_master=True")

    @property
    def address_int(self) -> int:
        return _address_number(self.address)

    @property
    def starts_as_master(self) -> bool:
        """R1: only the address owner configured ``state MASTER`` skips BACKUP."""
        return self.start_as_master and self.priority == OWNER_PRIORITY


@dataclass(frozen=True, slots=True)
class VrrpRouter:
    """The whole state of one router. Construct with ``VrrpRouter.initial(config)``."""

    config: VrrpConfig
    state: VrrpStatus
    priority: int  # effective priority (config.priority adjusted by weights/core)
    master_adver_interval_us: int
    timer_kind: TimerKind
    timer_due: int | None
    timer_generation: int
    fault: bool = False  # a fault is raised (FAULT now, or FAULT at next Start)
    preempt_hold_until: int | None = None  # end of the preempt-delay hold, once opened

    @classmethod
    def initial(cls, config: VrrpConfig) -> VrrpRouter:
        return cls(
            config=config,
            state=VrrpStatus.INIT,
            priority=config.priority,
            master_adver_interval_us=config.advert_interval_us,
            timer_kind=TimerKind.NONE,
            timer_due=None,
            timer_generation=0,
        )

    @property
    def skew_time_us(self) -> int:
        return skew_time_us(self.priority, self.master_adver_interval_us)

    @property
    def master_down_interval_us(self) -> int:
        return master_down_interval_us(self.priority, self.master_adver_interval_us)


# Copies of a router with the named fields set positionally (generated:
# hacore.codegen): ``dataclasses.replace`` was most of ``step``'s cost in the
# simulator.
_set_timer = codegen.slot_copier(VrrpRouter, "timer_kind", "timer_due", "timer_generation")
# A role change or an accepted advert: the interval and the new timer at once.
_set_interval_timer = codegen.slot_copier(
    VrrpRouter, "master_adver_interval_us", "timer_kind", "timer_due", "timer_generation"
)
_set_state_interval_timer = codegen.slot_copier(
    VrrpRouter, "state", "master_adver_interval_us", "timer_kind", "timer_due", "timer_generation"
)


# -------------------------------------------------------------- stimuli ----


@dataclass(frozen=True, slots=True)
class Start:
    at: int


@dataclass(frozen=True, slots=True)
class Shutdown:
    at: int


@dataclass(frozen=True, slots=True)
class AdvertReceived:
    at: int
    priority: int  # 0 = the master resigns
    interval_us: int
    sender: str  # the sender's primary IPv4 address

    def __post_init__(self) -> None:
        if not 0 <= self.priority <= 255:
            raise ValueError(f"priority: must be in 0..255, got {self.priority}")
        check_advert_interval_us("interval_us", self.interval_us)  # R15: centiseconds on the wire
        try:
            ipaddress.IPv4Address(self.sender)
        except (ipaddress.AddressValueError, ValueError, TypeError):
            raise ValueError(
                f"sender: must be an IPv4 dotted address, got {self.sender!r}"
            ) from None


@dataclass(frozen=True, slots=True)
class VrrpTimerFired:
    at: int
    generation: int


@dataclass(frozen=True, slots=True)
class PriorityChanged:
    at: int
    priority: int  # the new effective priority

    def __post_init__(self) -> None:
        _check_priority(self.priority)


@dataclass(frozen=True, slots=True)
class FaultRaised:
    at: int


@dataclass(frozen=True, slots=True)
class FaultCleared:
    at: int


Stimulus = (
    Start
    | Shutdown
    | AdvertReceived
    | VrrpTimerFired
    | PriorityChanged
    | FaultRaised
    | FaultCleared
)


# -------------------------------------------------------------- actions ----


@dataclass(frozen=True, slots=True)
class SendAdvert:
    priority: int
    interval_us: int


@dataclass(frozen=True, slots=True)
class LowerPriorityReported:
    """R9: the MASTER heard a lower-priority advert; keepalived writes
    ``INSTANCE "VI_1" MASTER_RX_LOWER_PRI <own effective priority>`` on the FIFO."""

    priority: int


@dataclass(frozen=True, slots=True)
class ArmVrrpTimer:
    due: int
    generation: int


@dataclass(frozen=True, slots=True)
class CancelVrrpTimer:
    pass


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: VrrpStatus
    new: VrrpStatus
    priority: int


Action = SendAdvert | ArmVrrpTimer | CancelVrrpTimer | StateChanged | LowerPriorityReported


# ----------------------------------------------------------------- step ----

_Result = tuple[VrrpRouter, tuple[Action, ...]]


def _arm(r: VrrpRouter, kind: TimerKind, due: int) -> tuple[VrrpRouter, ArmVrrpTimer]:
    gen = r.timer_generation + 1
    return _set_timer(r, kind, due, gen), ArmVrrpTimer(due, gen)


def _cancel(r: VrrpRouter) -> tuple[VrrpRouter, CancelVrrpTimer]:
    # A new generation makes any VrrpTimerFired already scheduled stale.
    gen = r.timer_generation + 1
    return _set_timer(r, TimerKind.NONE, None, gen), CancelVrrpTimer()


def _become_master(r: VrrpRouter, at: int) -> _Result:
    old = r.state
    interval = r.config.advert_interval_us
    due, gen = at + interval, r.timer_generation + 1
    r = _set_state_interval_timer(r, VrrpStatus.MASTER, interval, TimerKind.ADVER, due, gen)
    arm = ArmVrrpTimer(due, gen)
    return r, (
        SendAdvert(r.priority, interval),
        arm,
        StateChanged(old, VrrpStatus.MASTER, r.priority),
    )


def _become_backup(r: VrrpRouter, at: int, interval_us: int) -> _Result:
    old = r.state
    due = at + master_down_interval_us(r.priority, interval_us)
    gen = r.timer_generation + 1
    r = _set_state_interval_timer(
        r, VrrpStatus.BACKUP, interval_us, TimerKind.MASTER_DOWN, due, gen
    )
    return r, (ArmVrrpTimer(due, gen), StateChanged(old, VrrpStatus.BACKUP, r.priority))


def _on_start(r: VrrpRouter, s: Start) -> _Result:
    if r.state not in (VrrpStatus.INIT, VrrpStatus.STOP):
        return r, ()  # R14
    old = r.state
    r = replace(
        r,
        master_adver_interval_us=r.config.advert_interval_us,
        preempt_hold_until=None,
    )
    if r.fault:
        r = replace(r, state=VrrpStatus.FAULT)
        return r, (StateChanged(old, VrrpStatus.FAULT, r.priority),)
    if r.config.starts_as_master:
        return _become_master(r, s.at)
    r = replace(r, state=VrrpStatus.BACKUP)
    r, arm = _arm(r, TimerKind.MASTER_DOWN, s.at + r.master_down_interval_us)
    return r, (arm, StateChanged(old, VrrpStatus.BACKUP, r.priority))


def _on_shutdown(r: VrrpRouter, s: Shutdown) -> _Result:
    if r.state in (VrrpStatus.INIT, VrrpStatus.STOP):
        return r, ()  # R14
    old = r.state
    actions: list[Action] = []
    if old is VrrpStatus.MASTER:
        actions.append(SendAdvert(0, r.config.advert_interval_us))
    r, cancel = _cancel(r)
    r = replace(r, state=VrrpStatus.STOP)
    actions.append(cancel)
    actions.append(StateChanged(old, VrrpStatus.STOP, r.priority))
    return r, tuple(actions)


def _on_advert(r: VrrpRouter, a: AdvertReceived) -> _Result:
    if r.state is VrrpStatus.BACKUP:
        if a.priority == 0:  # R3
            r, arm = _arm(r, TimerKind.MASTER_DOWN, a.at + r.skew_time_us)
            return r, (arm,)
        accept = not r.config.preempt or a.priority >= r.priority
        if not accept and r.config.preempt_delay_us > 0:  # R5, the hold
            if r.preempt_hold_until is None:
                r = replace(r, preempt_hold_until=a.at + r.config.preempt_delay_us)
            assert r.preempt_hold_until is not None
            accept = a.at < r.preempt_hold_until
        if not accept:
            return r, ()  # R5: the down timer will fire
        # R4: adopt the interval, re-arm the down timer (one copy of the router)
        due = a.at + master_down_interval_us(r.priority, a.interval_us)
        gen = r.timer_generation + 1
        r = _set_interval_timer(r, a.interval_us, TimerKind.MASTER_DOWN, due, gen)
        return r, (ArmVrrpTimer(due, gen),)
    if r.state is VrrpStatus.MASTER:
        if a.priority == 0:  # R7
            r, arm = _arm(r, TimerKind.ADVER, a.at + r.config.advert_interval_us)
            return r, (SendAdvert(r.priority, r.config.advert_interval_us), arm)
        own = _address_number(r.config.address)
        sender = _address_number(a.sender)
        if a.priority > r.priority or (a.priority == r.priority and sender > own):  # R8
            return _become_backup(r, a.at, a.interval_us)
        if sender == own:
            return r, ()  # our own advert looped back
        return r, (  # R9
            SendAdvert(r.priority, r.config.advert_interval_us),
            LowerPriorityReported(r.priority),
        )
    return r, ()  # R14: INIT, STOP, FAULT


def _on_timer(r: VrrpRouter, t: VrrpTimerFired) -> _Result:
    if t.generation != r.timer_generation or r.timer_kind is TimerKind.NONE:
        return r, ()  # R13
    if r.state is VrrpStatus.BACKUP and r.timer_kind is TimerKind.MASTER_DOWN:
        return _become_master(r, t.at)  # R2
    if r.state is VrrpStatus.MASTER and r.timer_kind is TimerKind.ADVER:  # R6
        r, arm = _arm(r, TimerKind.ADVER, t.at + r.config.advert_interval_us)
        return r, (SendAdvert(r.priority, r.config.advert_interval_us), arm)
    return r, ()  # a timer of the wrong kind for the state: cannot be armed, ignore


def _on_fault_raised(r: VrrpRouter, f: FaultRaised) -> _Result:
    if r.state in (VrrpStatus.BACKUP, VrrpStatus.MASTER):
        old = r.state
        actions: list[Action] = []
        if old is VrrpStatus.MASTER:
            actions.append(SendAdvert(0, r.config.advert_interval_us))
        r, cancel = _cancel(r)
        r = replace(r, state=VrrpStatus.FAULT, fault=True)
        actions += [cancel, StateChanged(old, VrrpStatus.FAULT, r.priority)]
        return r, tuple(actions)
    return replace(r, fault=True), ()


def _on_fault_cleared(r: VrrpRouter, f: FaultCleared) -> _Result:
    r = replace(r, fault=False)
    if r.state is VrrpStatus.FAULT:
        return _become_backup(r, f.at, r.config.advert_interval_us)
    return r, ()


def step(router: VrrpRouter, stimulus: Stimulus) -> _Result:
    """Apply one stimulus; return the new router and the actions to perform, in order."""
    match stimulus:
        case Start():
            return _on_start(router, stimulus)
        case Shutdown():
            return _on_shutdown(router, stimulus)
        case AdvertReceived():
            return _on_advert(router, stimulus)
        case VrrpTimerFired():
            return _on_timer(router, stimulus)
        case PriorityChanged():
            return replace(router, priority=stimulus.priority), ()  # R12
        case FaultRaised():
            return _on_fault_raised(router, stimulus)
        case FaultCleared():
            return _on_fault_cleared(router, stimulus)
    raise TypeError(f"not a VRRP stimulus: {stimulus!r}")  # pragma: no cover
