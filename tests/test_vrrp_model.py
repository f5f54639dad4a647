"""The core's VRRP model, one test per rule of hacore/vrrp.py (R1..R14)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hacore.roles import VrrpStatus
from hacore.vrrp import (
    AdvertReceived,
    ArmVrrpTimer,
    CancelVrrpTimer,
    FaultCleared,
    FaultRaised,
    LowerPriorityReported,
    PriorityChanged,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
    Stimulus,
    TimerKind,
    VrrpConfig,
    VrrpRouter,
    VrrpTimerFired,
    advert_interval_in_force_us,
    master_down_interval,
    master_down_interval_us,
    skew_time,
    skew_time_us,
    step,
)

SEC = 1_000_000
PEER = "10.0.0.2"
ME = "10.0.0.5"


def cfg(priority: int = 100, **kw: object) -> VrrpConfig:
    return VrrpConfig(priority=priority, advert_interval_us=SEC, address=ME, **kw)  # type: ignore[arg-type]


def started(config: VrrpConfig, at: int = 0) -> VrrpRouter:
    r, _ = step(VrrpRouter.initial(config), Start(at))
    return r


def master(config: VrrpConfig) -> VrrpRouter:
    r = started(config)
    r, _ = step(r, VrrpTimerFired(r.timer_due or 0, r.timer_generation))
    assert r.state is VrrpStatus.MASTER
    return r


def arm_of(actions: tuple[object, ...]) -> ArmVrrpTimer:
    arms = [a for a in actions if isinstance(a, ArmVrrpTimer)]
    assert len(arms) == 1
    return arms[0]


# ----------------------------------------------------------------- timers --


def test_skew_and_master_down_interval_match_rfc_example() -> None:
    assert skew_time(100, 1.0) == 0.609375
    assert master_down_interval(100, 1.0) == 3.609375
    assert skew_time_us(100, SEC) == 609_375
    assert master_down_interval_us(100, SEC) == 3_609_375


@given(st.integers(1, 255), st.integers(1, 10 * SEC))
def test_master_down_interval_is_three_intervals_plus_skew(prio: int, interval: int) -> None:
    skew = skew_time_us(prio, interval)
    assert 0 <= skew < interval
    assert master_down_interval_us(prio, interval) == 3 * interval + skew


@given(st.integers(1, 254), st.integers(1, 10 * SEC))
def test_higher_priority_never_waits_longer(prio: int, interval: int) -> None:
    assert master_down_interval_us(prio + 1, interval) <= master_down_interval_us(prio, interval)


@pytest.mark.parametrize("bad", [0, 256, -1])
def test_priority_outside_1_255_is_refused_naming_the_field(bad: int) -> None:
    with pytest.raises(ValueError, match="priority"):
        cfg(bad)


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("advert_interval_us", {"advert_interval_us": 0}),
        ("advert_interval_us", {"advert_interval_us": 15_000}),
        ("advert_interval_us", {"advert_interval_us": 5_000}),
        ("advert_interval_us", {"advert_interval_us": 41 * SEC}),
        ("address", {"address": "10.0.0.300"}),
        ("preempt_delay_us", {"preempt_delay_us": 1001 * SEC}),
        ("preempt", {"preempt": False, "start_as_master": True}),
        ("preempt_delay_us", {"preempt_delay_us": SEC, "start_as_master": True}),
    ],
)
def test_config_errors_name_the_field(field: str, kw: dict[str, object]) -> None:
    base: dict[str, object] = {"priority": 100, "advert_interval_us": SEC, "address": ME}
    base.update(kw)
    with pytest.raises(ValueError, match=field):
        VrrpConfig(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------- rules --


def test_r1_start_enters_backup_with_master_down_timer() -> None:
    r, actions = step(VrrpRouter.initial(cfg(100)), Start(5))
    assert r.state is VrrpStatus.BACKUP
    assert StateChanged(VrrpStatus.INIT, VrrpStatus.BACKUP, 100) in actions
    assert arm_of(actions).due == 5 + master_down_interval_us(100, SEC)


@pytest.mark.parametrize(
    "config",
    [cfg(100, start_as_master=True), cfg(254, start_as_master=True), cfg(255)],
    ids=["state-master-100", "state-master-254", "owner-state-backup"],
)
def test_r1_start_as_master_below_255_waits_the_full_master_down_interval(
    config: VrrpConfig,
) -> None:
    """keepalived 2.2.7 in the lab: `state MASTER` below 255 (and 255 with `state
    BACKUP`) enters BACKUP and waits Master_Down_Interval, not one interval + skew."""
    r, actions = step(VrrpRouter.initial(config), Start(7))
    assert r.state is VrrpStatus.BACKUP
    assert StateChanged(VrrpStatus.INIT, VrrpStatus.BACKUP, config.priority) in actions
    assert arm_of(actions).due == 7 + master_down_interval_us(config.priority, SEC)


def test_r1_lower_priority_state_master_shows_no_transient_mastership() -> None:
    """A low `state MASTER` node whose higher-priority peer's first advert comes two
    intervals after its start (the peer started later) stays BACKUP: its down timer
    is Master_Down_Interval (3.8 s here), not one interval + skew (1.8 s)."""
    r = started(cfg(50, start_as_master=True))
    assert r.timer_due == master_down_interval_us(50, SEC)
    for k in range(2, 10):  # the master's adverts, every second from t = 2 s
        r, _ = step(r, AdvertReceived(k * SEC, 200, SEC, PEER))
        assert r.state is VrrpStatus.BACKUP and r.timer_due is not None
        assert r.timer_due > (k + 1) * SEC  # always beyond the next advert


def test_r1_owner_with_state_master_is_master_at_once() -> None:
    r, actions = step(VrrpRouter.initial(cfg(255, start_as_master=True)), Start(3))
    assert r.state is VrrpStatus.MASTER
    assert actions == (
        SendAdvert(255, SEC),
        ArmVrrpTimer(3 + SEC, r.timer_generation),
        StateChanged(VrrpStatus.INIT, VrrpStatus.MASTER, 255),
    )


def test_r1_start_with_fault_raised_enters_fault() -> None:
    r, _ = step(VrrpRouter.initial(cfg()), FaultRaised(0))
    r, actions = step(r, Start(1))
    assert r.state is VrrpStatus.FAULT
    assert actions == (StateChanged(VrrpStatus.INIT, VrrpStatus.FAULT, 100),)


def test_r2_backup_down_timer_fires_becomes_master_and_advertises() -> None:
    r = started(cfg(150))
    r, actions = step(r, VrrpTimerFired(r.timer_due or 0, r.timer_generation))
    assert r.state is VrrpStatus.MASTER
    assert actions[0] == SendAdvert(150, SEC)
    assert StateChanged(VrrpStatus.BACKUP, VrrpStatus.MASTER, 150) in actions
    assert r.timer_kind is TimerKind.ADVER


def test_r3_backup_priority_zero_advert_takes_over_after_skew() -> None:
    r = started(cfg(100))
    r, actions = step(r, AdvertReceived(10, 0, SEC, PEER))
    assert arm_of(actions).due == 10 + skew_time_us(100, SEC)


@given(st.integers(1, 255), st.integers(1, 255), st.integers(1, 500).map(lambda cs: cs * 10_000))
def test_r4_backup_accepts_higher_or_equal_and_adopts_interval(
    mine: int, theirs: int, interval: int
) -> None:
    r = started(cfg(mine))
    r2, actions = step(r, AdvertReceived(100, theirs, interval, PEER))
    if theirs >= mine:
        assert r2.master_adver_interval_us == interval
        assert arm_of(actions).due == 100 + master_down_interval_us(mine, interval)
    else:  # R5
        assert actions == ()
        assert r2 == r


def test_r4_nopreempt_backup_accepts_lower_priority_master() -> None:
    r = started(cfg(200, preempt=False))
    r, actions = step(r, AdvertReceived(100, 50, SEC, PEER))
    assert arm_of(actions).due == 100 + master_down_interval_us(200, SEC)


def test_r5_preempt_delay_counts_from_first_lower_priority_advert() -> None:
    r = started(cfg(200, preempt_delay_us=5 * SEC), at=0)
    # No lower advert for 10 s: the hold has not opened yet.
    r, a1 = step(r, AdvertReceived(10 * SEC, 100, SEC, PEER))
    assert r.preempt_hold_until == 15 * SEC
    assert arm_of(a1).due == 10 * SEC + master_down_interval_us(200, SEC)
    r, a2 = step(r, AdvertReceived(14 * SEC, 100, SEC, PEER))
    assert arm_of(a2).due == 14 * SEC + master_down_interval_us(200, SEC)
    r, a3 = step(r, AdvertReceived(15 * SEC, 100, SEC, PEER))
    assert a3 == ()  # hold over: discard, the timer armed at 14 s fires
    r, _ = step(r, VrrpTimerFired(r.timer_due or 0, r.timer_generation))
    assert r.state is VrrpStatus.MASTER


def test_r5_preempt_delay_reopens_after_restart() -> None:
    r = started(cfg(200, preempt_delay_us=SEC))
    r, _ = step(r, AdvertReceived(0, 100, SEC, PEER))
    r, _ = step(r, Shutdown(1))
    r, _ = step(r, Start(10 * SEC))
    assert r.preempt_hold_until is None


def test_r6_master_adver_timer_readvertises() -> None:
    r = master(cfg(150))
    r, actions = step(r, VrrpTimerFired(r.timer_due or 0, r.timer_generation))
    assert actions[0] == SendAdvert(150, SEC)
    assert r.state is VrrpStatus.MASTER


def test_r7_master_answers_priority_zero_with_advert() -> None:
    r = master(cfg(150))
    r, actions = step(r, AdvertReceived(7 * SEC, 0, SEC, PEER))
    assert actions[0] == SendAdvert(150, SEC)
    assert arm_of(actions).due == 8 * SEC


def test_r8_master_yields_to_higher_priority() -> None:
    r = master(cfg(150))
    r, actions = step(r, AdvertReceived(9 * SEC, 200, 2 * SEC, PEER))
    assert r.state is VrrpStatus.BACKUP
    assert r.master_adver_interval_us == 2 * SEC
    assert StateChanged(VrrpStatus.MASTER, VrrpStatus.BACKUP, 150) in actions


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_r8_r9_equal_priority_masters_higher_address_wins(a: int, b: int) -> None:
    import ipaddress

    addr_a, addr_b = str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b))
    if a == b:
        return
    ra = master(VrrpConfig(priority=100, advert_interval_us=SEC, address=addr_a))
    rb = master(VrrpConfig(priority=100, advert_interval_us=SEC, address=addr_b))
    ra2, _ = step(ra, AdvertReceived(SEC, 100, SEC, addr_b))
    rb2, _ = step(rb, AdvertReceived(SEC, 100, SEC, addr_a))
    states = {ra2.state, rb2.state}
    assert states == {VrrpStatus.MASTER, VrrpStatus.BACKUP}  # exactly one survives
    winner = ra2 if ra2.state is VrrpStatus.MASTER else rb2
    assert winner.config.address_int == max(a, b)


def test_r9_master_readvertises_on_lower_priority_advert() -> None:
    r = master(cfg(150))
    before = r
    r, actions = step(r, AdvertReceived(SEC, 100, SEC, PEER))
    assert actions == (SendAdvert(150, SEC), LowerPriorityReported(150))
    assert r == before  # Adver_Timer untouched


def test_r9_master_reports_master_rx_lower_pri_for_equal_priority_lower_address() -> None:
    r = master(cfg(150))  # ME 10.0.0.5 > PEER 10.0.0.2
    _, actions = step(r, AdvertReceived(SEC, 150, SEC, PEER))
    assert LowerPriorityReported(150) in actions
    _, own = step(r, AdvertReceived(SEC, 150, SEC, ME))  # our own advert looped back
    assert own == ()


def test_r4_equal_priority_backup_does_not_preempt_master() -> None:
    r = started(cfg(100))  # ME is numerically higher than PEER
    r, actions = step(r, AdvertReceived(SEC, 100, SEC, "10.0.0.1"))
    assert r.state is VrrpStatus.BACKUP
    assert isinstance(actions[0], ArmVrrpTimer)


def test_r10_master_shutdown_sends_priority_zero_and_reports_stop() -> None:
    r = master(cfg(150))
    r, actions = step(r, Shutdown(3))
    assert actions == (
        SendAdvert(0, SEC),
        CancelVrrpTimer(),
        StateChanged(VrrpStatus.MASTER, VrrpStatus.STOP, 150),
    )
    assert r.state is VrrpStatus.STOP


def test_r10_backup_shutdown_sends_nothing() -> None:
    r = started(cfg())
    r, actions = step(r, Shutdown(3))
    assert not any(isinstance(a, SendAdvert) for a in actions)
    assert r.state is VrrpStatus.STOP


def test_r11_fault_from_master_resigns_and_clear_returns_to_backup() -> None:
    r = master(cfg(150))
    r, actions = step(r, FaultRaised(2 * SEC))
    assert SendAdvert(0, SEC) in actions
    assert r.state is VrrpStatus.FAULT
    r2, a2 = step(r, AdvertReceived(3 * SEC, 200, SEC, PEER))
    assert (r2, a2) == (r, ())
    r, actions = step(r, FaultCleared(4 * SEC))
    assert r.state is VrrpStatus.BACKUP
    assert arm_of(actions).due == 4 * SEC + master_down_interval_us(150, SEC)


def test_r12_priority_change_is_advertised_next() -> None:
    r = master(cfg(150))
    r, actions = step(r, PriorityChanged(1, 120))
    assert actions == ()
    r, actions = step(r, VrrpTimerFired(r.timer_due or 0, r.timer_generation))
    assert actions[0] == SendAdvert(120, SEC)


def test_r13_stale_timer_is_ignored() -> None:
    r = started(cfg())
    stale = r.timer_generation
    r, _ = step(r, AdvertReceived(SEC, 200, SEC, PEER))  # re-arms
    r2, actions = step(r, VrrpTimerFired(master_down_interval_us(100, SEC), stale))
    assert (r2, actions) == (r, ())
    assert r2.state is VrrpStatus.BACKUP


def test_r14_advert_to_stopped_router_is_noop() -> None:
    r = VrrpRouter.initial(cfg())
    assert step(r, AdvertReceived(0, 200, SEC, PEER)) == (r, ())
    r, _ = step(started(cfg()), Shutdown(1))
    assert step(r, AdvertReceived(2, 200, SEC, PEER)) == (r, ())
    running = started(cfg())
    assert step(running, Start(9)) == (running, ())


# ------------------------------------------------------- totality property --

_stimuli: st.SearchStrategy[Stimulus] = st.one_of(
    st.builds(Start, st.integers(0, 100 * SEC)),
    st.builds(Shutdown, st.integers(0, 100 * SEC)),
    st.builds(
        AdvertReceived,
        st.integers(0, 100 * SEC),
        st.integers(0, 255),
        st.integers(1, 300).map(lambda cs: cs * 10_000),
        st.sampled_from([PEER, ME, "10.0.0.9"]),
    ),
    st.builds(VrrpTimerFired, st.integers(0, 100 * SEC), st.integers(0, 30)),
    st.builds(PriorityChanged, st.integers(0, 100 * SEC), st.integers(1, 255)),
    st.builds(FaultRaised, st.integers(0, 100 * SEC)),
    st.builds(FaultCleared, st.integers(0, 100 * SEC)),
)


@given(st.integers(1, 255), st.booleans(), st.lists(_stimuli, max_size=40))
def test_step_is_total_and_keeps_one_timer_per_state(
    prio: int, preempt: bool, stimuli: list[Stimulus]
) -> None:
    r = VrrpRouter.initial(cfg(prio, preempt=preempt))
    for s in stimuli:
        before = r
        r, actions = step(r, s)
        assert step(before, s) == (r, actions)  # deterministic
        arms = [a for a in actions if isinstance(a, ArmVrrpTimer)]
        assert len(arms) <= 1
        if arms:
            assert arms[0].generation == r.timer_generation > before.timer_generation
        expected_timer = {
            VrrpStatus.MASTER: TimerKind.ADVER,
            VrrpStatus.BACKUP: TimerKind.MASTER_DOWN,
        }.get(r.state, TimerKind.NONE)
        assert r.timer_kind is expected_timer
        for a in actions:
            if isinstance(a, StateChanged):
                assert a.old is before.state and a.new is r.state and a.old is not a.new


# ------------------------------------------------- the simulator's VRRP layer --

from sims.vrrp_sim import VrrpSim  # noqa: E402

MS = 1_000
INTERVAL = 100 * MS


def sim_of(*prios: int, **kw: object) -> VrrpSim:
    configs = {
        f"n{i}": VrrpConfig(priority=p, advert_interval_us=INTERVAL, address=f"10.77.0.{i}")
        for i, p in enumerate(prios, start=1)
    }
    return VrrpSim(configs, **kw)  # type: ignore[arg-type]


def started_sim(*prios: int) -> VrrpSim:
    sim = sim_of(*prios)
    for name in sim.names:
        sim.at(0, "start", name)
    sim.run_until(1_000 * MS)
    return sim


def test_sim_elects_the_highest_priority_once() -> None:
    sim = started_sim(200, 150, 100)
    assert sim.masters() == ["n1"]
    masters = [t for t in sim.transitions if t.new is VrrpStatus.MASTER]
    assert [(t.node, t.time_us) for t in masters] == [
        ("n1", master_down_interval_us(200, INTERVAL))
    ]


def test_sim_kill_takes_over_after_master_down_interval_stop_after_skew() -> None:
    killed = started_sim(200, 150)
    killed.at(1_000 * MS, "kill", "n1")
    killed.run_until(2_000 * MS)
    stopped = started_sim(200, 150)
    stopped.at(1_000 * MS, "stop", "n1")
    stopped.run_until(2_000 * MS)
    t_kill = next(
        t.time_us for t in killed.transitions if t.node == "n2" and t.new is VrrpStatus.MASTER
    )
    t_stop = next(
        t.time_us for t in stopped.transitions if t.node == "n2" and t.new is VrrpStatus.MASTER
    )
    mdi, skew = master_down_interval_us(150, INTERVAL), skew_time_us(150, INTERVAL)
    assert 1_000 * MS + mdi - INTERVAL <= t_kill <= 1_000 * MS + mdi
    assert t_stop == 1_000 * MS + 200 + skew  # the priority-0 advert's link delay + Skew_Time
    assert not any(t.node == "n1" and t.new is VrrpStatus.STOP for t in killed.transitions)


def test_sim_partition_gives_two_masters_heal_gives_the_higher_priority() -> None:
    sim = started_sim(200, 150)
    sim.at(1_000 * MS, "partition", groups=[["n1"], ["n2"]])
    sim.run_until(2_000 * MS)
    assert sim.masters() == ["n1", "n2"]
    sim.at(2_000 * MS, "heal")
    sim.run_until(3_000 * MS)
    assert sim.masters() == ["n1"]


@pytest.mark.parametrize("first", ["n1", "n2"])
def test_sim_master_rx_lower_pri_after_a_heal_only_when_the_lower_master_speaks_first(
    first: str,
) -> None:
    """At the heal, whichever master's advert crosses first decides: n2 (150) hearing
    n1 (200) yields silently; n1 hearing n2 writes MASTER_RX_LOWER_PRI (and no new
    MASTER line, keepalived #1884)."""
    sim = started_sim(200, 150)
    sim.at(1_000 * MS, "partition", groups=[["n1"], ["n2"]])
    sim.run_until(2_000 * MS)
    last = {x.node: x.time_us for x in sim.adverts}
    other = "n2" if first == "n1" else "n1"
    heal = last[other] + INTERVAL + 1  # the other master just spoke: `first` speaks next
    sim.at(heal, "heal")
    sim.run_until(3_000 * MS)
    assert sim.masters() == ["n1"]
    lines = [(x.node, x.priority) for x in sim.lower_priority_lines if x.time_us >= heal]
    assert lines == ([("n1", 200)] if first == "n2" else [])
    assert not [t for t in sim.transitions if t.node == "n1" and t.time_us >= heal]


def test_sim_old_incarnation_timers_do_not_fire_after_restart() -> None:
    sim = started_sim(150, 200)  # n2 is master
    sim.at(1_000 * MS, "kill", "n1")
    sim.at(1_001 * MS, "start", "n1")
    sim.run_until(3_000 * MS)
    n1 = [t.new for t in sim.transitions if t.node == "n1"]
    assert n1 == [VrrpStatus.BACKUP, VrrpStatus.BACKUP]  # never a spurious MASTER


@given(st.lists(st.integers(1, 254), min_size=2, max_size=5, unique=True), st.integers(0, 5))
def test_sim_is_deterministic_and_converges_to_the_highest_priority(
    prios: list[int], seed: int
) -> None:
    runs = []
    for _ in range(2):
        sim = sim_of(*prios, seed=seed)
        for i, name in enumerate(sim.names):
            sim.at(i * 37 * MS, "start", name)
        sim.at(2_000 * MS, "loss", "n1", value=30)
        sim.at(3_000 * MS, "heal")
        sim.run_until(5_000 * MS)
        runs.append((sim.transitions, sim.masters()))
    assert runs[0] == runs[1]
    best = f"n{prios.index(max(prios)) + 1}"
    assert runs[0][1] == [best]


# ------------------------------------------------------- R15: intervals in force --


@pytest.mark.parametrize(
    ("written_us", "runs_us"),
    [
        (15_000, 20_000),  # lab: logged "must be in units of 10ms - rounding", ran at 0.02 s
        (14_999, 10_000),
        (20_000, 20_000),
        (10_000, 10_000),
        (9_999, SEC),  # lab (0.005): logged "not valid ... ignoring", ran at the 1 s default
        (5_000, SEC),
        (0, SEC),
        (40_950_000, 40_950_000),
        (41 * SEC, 40_950_000),  # clamped to 12 bits of centiseconds
        (256 * SEC, SEC),  # the parser refuses more than 255 s
    ],
)
def test_r15_interval_in_force_is_what_keepalived_runs(written_us: int, runs_us: int) -> None:
    assert advert_interval_in_force_us(written_us) == runs_us


@given(st.integers(-SEC, 300 * SEC))
def test_r15_config_accepts_exactly_the_intervals_in_force(us: int) -> None:
    if advert_interval_in_force_us(us) == us:
        assert VrrpConfig(100, us, ME).advert_interval_us == us
    else:
        with pytest.raises(ValueError, match=str(advert_interval_in_force_us(us))):
            VrrpConfig(100, us, ME)


def test_r15_an_advert_on_the_wire_carries_centiseconds() -> None:
    with pytest.raises(ValueError, match="interval_us"):
        AdvertReceived(0, 100, 15_000, PEER)
    assert AdvertReceived(0, 100, 20_000, PEER).interval_us == 20_000


# ------------------------------------------- the simulator's keepalived timing --

import itertools  # noqa: E402

from sims.keepalived_timing import MEASURED, KeepalivedTiming  # noqa: E402


def timed_sim(*prios: int, **timing: tuple[int, ...]) -> VrrpSim:
    return sim_of(*prios, timing=KeepalivedTiming(**timing))


def test_sim_start_latency_and_launch_order_decide_an_equal_priority_race() -> None:
    """Two equal priorities launched together: the one that starts first wins, whatever
    the addresses. n2 is launched first; n1 starts one drawn launch gap after it (the
    lab's launch gaps can be negative: a later launch that starts first)."""
    for gap, winner in ((5_000, "n2"), (-5_000, "n1")):
        sim = timed_sim(100, 100, start_latency_us=(30_000,), launch_gap_us=(gap,))
        sim.at(0, "start", "n2")
        sim.at(0, "start", "n1")
        sim.run_until(1_000 * MS)
        starts = {t.node: t.time_us for t in sim.transitions if t.new is VrrpStatus.BACKUP}
        assert starts == {"n2": 30_000, "n1": 30_000 + gap}
        assert sim.masters() == [winner]
    exact = sim_of(100, 100)  # no timing: both time out together, the higher address wins
    exact.at(0, "start", "n2")
    exact.at(0, "start", "n1")
    exact.run_until(1_000 * MS)
    assert exact.masters() == ["n2"]


def test_sim_late_timers_drift_the_advert_cycle() -> None:
    sim = timed_sim(200, 150, timer_late_us=(3_000,), down_timer_late_us=(1_000,))
    sim.at(0, "start", "n1")
    sim.run_until(1_000 * MS)
    sends = [a.time_us for a in sim.adverts if a.node == "n1"]
    assert sends[0] == master_down_interval_us(200, INTERVAL) + 1_000  # the down timer's
    assert {b - a for a, b in itertools.pairwise(sends)} == {INTERVAL + 3_000}


def test_sim_kill_between_unicast_sends_leaves_the_later_peer_an_advert_behind() -> None:
    """150/120/100, sends 5 ms apart: killed 1 ms into an advert, n1 reached n2 but not
    n3, so n3's down timer started a whole interval earlier and n3 is master first."""
    sim = timed_sim(150, 120, 100, send_gap_us=(5_000,), send_gap_first_us=(5_000,))
    for name in sim.names:
        sim.at(0, "start", name)
    sim.run_until(900 * MS)
    last = max(a.time_us for a in sim.adverts if a.node == "n1")
    kill = last + INTERVAL + 1_000  # the next advert has gone to n2 only
    sim.at(kill, "kill", "n1")
    sim.run_until(2_000 * MS)
    after = [t.node for t in sim.transitions if t.time_us > kill and t.new is VrrpStatus.MASTER]
    assert after[0] == "n3" and sim.masters() == ["n2"]
    # the same kill with every send at once: n2 (higher priority, later timer) only
    plain = sim_of(150, 120, 100)
    for name in plain.names:
        plain.at(0, "start", name)
    plain.at(kill, "kill", "n1")
    plain.run_until(2_000 * MS)
    assert [
        t.node for t in plain.transitions if t.time_us > kill and t.new is VrrpStatus.MASTER
    ] == ["n2"]


def test_sim_notify_lag_delays_the_lines_and_keeps_each_nodes_order() -> None:
    sim = timed_sim(200, 150, notify_lag_master_us=(20_000,), notify_lag_backup_us=(1_000,))
    sim.at(0, "start", "n1")
    sim.at(0, "start", "n2")
    sim.run_until(1_000 * MS)
    lines = [(x.node, x.word, x.time_us) for x in sim.fifo_lines()]
    master = next(t for t in sim.transitions if t.new is VrrpStatus.MASTER)
    assert ("n1", "MASTER", master.time_us + 20_000) in lines
    for node in ("n1", "n2"):
        times = [t for n, _w, t in lines if n == node]
        assert times == sorted(times)


@given(st.integers(0, 10_000))
def test_sim_with_measured_timing_is_reproducible_from_its_seed(seed: int) -> None:
    runs = []
    for _ in range(2):
        sim = sim_of(150, 120, 100, seed=seed, timing=MEASURED)
        for name in sim.names:
            sim.at(0, "start", name)
        sim.at(1_000 * MS, "kill", "n1")
        sim.run_until(2_000 * MS)
        runs.append((sim.transitions, sim.fifo_lines(), sim.adverts))
    assert runs[0] == runs[1]
