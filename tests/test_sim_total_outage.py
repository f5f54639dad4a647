"""After a total outage the simulator's runtime calls the core's bootstrap choice
(hacore.bootstrap.choose_bootstrap), as the agent does: MariaDB stays down on
every restarted node until the rule picks the most advanced one, which
cold-bootstraps; the others join it; no acknowledged write is lost."""

from __future__ import annotations

from sims.faults import Fault
from sims.invariants import write_fates
from sims.run import make_simulation
from sims.sim import Simulation

S = 1_000_000


def _galera_lines(sim: Simulation) -> list[tuple[int, str, str]]:
    return [(t, who, what) for t, who, what in sim.timeline if "galera" in what]


def _started(schedule: tuple[Fault, ...], until: int, nodes: int = 2) -> Simulation:
    sim = make_simulation("custom", 1, nodes=nodes, schedule=schedule)
    sim.start()
    sim.run_until(until)
    return sim


def test_the_most_advanced_node_bootstraps_even_when_it_comes_back_last() -> None:
    # n1 (first in order, higher VRRP priority) crashes; n2 takes over, bootstraps
    # and takes writes alone; then n2 crashes too. n1 comes back first, 3 s ahead.
    schedule = (
        Fault(20 * S, "crash", "n1"),
        Fault(40 * S, "crash", "n2"),
        Fault(50 * S, "restart", "n1"),
        Fault(53 * S, "restart", "n2"),
    )
    sim = _started(schedule, 52 * S)
    n1, n2 = sim.data
    # back for 2 s, alone: n1's MariaDB waits for the rule (n2 may be ahead)
    assert n1.up and n1.g_held and n1.g_outage and not n1.g_primary
    assert not any(t > 50 * S for t, _, _ in _galera_lines(sim))
    ahead = len(n2.history)
    assert ahead > len(n1.history)  # n2 holds writes n1 never saw
    result = sim.run()
    assert result.violations == []
    boots = [(who, what) for t, who, what in _galera_lines(sim) if t > 50 * S]
    assert boots and boots[0] == ("n2", f"galera cold bootstrap (n2 has the highest seqno {ahead})")
    assert len(boots) == 1  # nobody else bootstrapped
    assert sim.discarded == []  # n1 joined by IST: nothing overwritten
    assert n1.history == n2.history
    fates = write_fates(sim)
    assert fates and all(fate == "kept" for *_rest, fate in fates)
    written_by_n2_alone = [w for w, node, at in sim.acked if node == "n2" and 20 * S < at < 40 * S]
    assert written_by_n2_alone and set(written_by_n2_alone) <= set(n1.history)


def test_power_loss_of_both_ties_go_to_the_first_configured_node() -> None:
    sim = make_simulation("power-loss-both", 2)
    result = sim.run()
    assert result.violations == []
    crash = next(t for t, _, what in sim.timeline if what.startswith("fault crash all"))
    boots = [(who, what) for t, who, what in _galera_lines(sim) if t > crash]
    # both hold every write (synchronous replication): equal seqnos, n1 by order
    assert len(boots) == 1 and boots[0][0] == "n1" and "highest seqno" in boots[0][1]
    assert sim.discarded == [] and all(f == "kept" for *_r, f in write_fates(sim))


def test_a_node_not_heard_from_blocks_the_bootstrap_until_it_returns() -> None:
    schedule = (
        Fault(20 * S, "crash", "all"),
        Fault(30 * S, "restart", "n1"),
        Fault(31 * S, "restart", "n2"),
        Fault(60 * S, "restart", "n3"),
    )
    sim = _started(schedule, 59 * S, nodes=3)
    # two of three back for half a minute: n3 may be the most advanced, nobody starts
    assert not any(t > 20 * S for t, _, _ in _galera_lines(sim))
    assert all(not n.g_primary for n in sim.data)
    result = sim.run()
    assert result.violations == []
    boots = [who for t, who, what in _galera_lines(sim) if t > 60 * S and "cold" in what]
    assert len(boots) == 1
    assert sim.discarded == [] and all(f == "kept" for *_r, f in write_fates(sim))
