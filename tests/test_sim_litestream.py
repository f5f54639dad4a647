"""The simulator's litestream fake (sims/k3s.py) loses the unshipped tail on a
crash of the active, with a lag drawn from the run's seeded stream, and the
checker (invariant 3) knows which objects litestream's lag took."""

from __future__ import annotations

from sims.faults import SECOND, Fault
from sims.k3s import SEED_OBJECT
from sims.run import make_simulation
from sims.sim import Simulation


def _crash_run(seed: int) -> tuple[Simulation, dict[int, int]]:
    """The active crashes for good at a seed-dependent time; returns the run and
    each acknowledged object's write time."""
    at = 40 * SECOND + seed * 137_000
    sim = make_simulation(
        "custom", seed, schedule=(Fault(at, "crash", "active"),), duration_us=100 * SECOND
    )
    written: dict[int, int] = {}
    write = sim.k3s.write

    def timed(n: object) -> None:
        before = sim.k3s.next_object
        write(n)  # type: ignore[arg-type]
        if sim.k3s.next_object != before:
            written[before] = sim.now

    sim.k3s.write = timed  # type: ignore[method-assign]
    sim.run()
    return sim, written


def test_a_crash_loses_only_the_unshipped_tail_and_the_checker_knows_which() -> None:
    windows = []
    for seed in range(12):
        sim, written = _crash_run(seed)
        fates = sim.k3s.fates()
        result = sim.finish(0.0)
        assert result.invariants["nothing-lost"], result.violations
        assert set(fates.values()) <= {"kept", "lost to lag"}, fates
        lost = sorted(k for k, fate in fates.items() if fate == "lost to lag")
        assert result.k8s_lost == len(lost)
        for k in lost:
            node, crash_at = sim.k3s.lag_lost[k]
            assert node == sim.k3s.writer[k] == "n1"
            windows.append(crash_at - written[k])
        # A prefix of the crashed active's objects survives.
        kept = [k for k, fate in fates.items() if fate == "kept" and sim.k3s.writer[k] == "n1"]
        assert not lost or max(kept) < min(lost)
    p = make_simulation("custom", 0, schedule=()).p
    bound = p.litestream_monitor_us + p.litestream_ship_us[1]
    assert windows, "no seed lost anything: the lag is not modelled"
    assert all(0 <= w <= bound for w in windows), windows
    assert len(set(windows)) > 1, "the same window every time: not drawn"


def test_an_object_the_failover_restore_missed_but_a_quarantine_kept_is_not_lost() -> None:
    sim, _written = _crash_run(1)
    lost = [k for k, fate in sim.k3s.fates().items() if fate == "lost to lag"]
    assert lost
    sim.k3s.quarantined.update(lost)
    assert set(sim.k3s.fates().values()) == {"kept", "quarantined"}


def test_a_loss_litestream_did_not_cause_is_a_violation() -> None:
    sim = make_simulation("custom", 2, schedule=(), duration_us=60 * SECOND)
    sim.start()
    sim.run_until(60 * SECOND)
    active = next(n for n in sim.data if n.role.value == "active")
    gone = active.k3s_db.pop()  # vanishes from the live active: nobody crashed
    assert gone != SEED_OBJECT
    result = sim.finish(0.0)
    assert not result.invariants["nothing-lost"]
    assert any("k8s objects lost, not to litestream's lag" in v for v in result.violations)


def test_the_fakes_restore_refuses_an_empty_replica_and_quarantines_newer_local() -> None:
    sim = make_simulation("custom", 3, schedule=(), duration_us=60 * SECOND)
    sim.start()
    sim.run_until(30 * SECOND)
    standby = next(n for n in sim.data if n.role.value == "standby")
    assert standby.ports is not None
    standby.k3s_db.append(999_999)
    assert type(standby.ports.datastore.restore_from_replica(key="r", deadline=0)).__name__ == (
        "Done"
    )
    assert 999_999 in sim.k3s.quarantined and 999_999 not in standby.k3s_db
    standby.replica = []
    refused = standby.ports.datastore.restore_from_replica(key="r2", deadline=0)
    assert type(refused).__name__ == "Failed"
