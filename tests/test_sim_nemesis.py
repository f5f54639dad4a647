"""The nemesis's grudges: Jepsen's majorities ring."""

from __future__ import annotations

import pytest

from hacli.main import main
from sims.faults import ScheduleError, parse_schedule
from sims.run import make_simulation
from sims.sim import Simulation


def _ring(nodes: int, witness: bool = False, seed: int = 1) -> Simulation:
    sim = make_simulation(
        "custom", seed, nodes=nodes, witness=witness, schedule=parse_schedule("20s:partition:ring")
    )
    sim._partition("ring")
    return sim


def _visible(sim: Simulation) -> dict[int, frozenset[int]]:
    """What each member hears: itself and every member whose link to it is open."""
    members = [m.index for m in sim.nodes]
    return {
        dst: frozenset(src for src in members if (src, dst) not in sim.blocked) for dst in members
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("nodes", [3, 4, 5, 6, 7])
def test_ring_gives_every_node_a_different_majority(nodes: int, seed: int) -> None:
    visible = _visible(_ring(nodes, seed=seed))
    majority = nodes // 2 + 1
    for dst, seen in visible.items():
        assert dst in seen
        assert len(seen) >= majority, (dst, sorted(seen))
        assert len(seen) < nodes, "a node that sees everyone is not partitioned"
    assert len(set(visible.values())) == nodes, visible


def test_ring_counts_the_witness_as_a_member() -> None:
    visible = _visible(_ring(2, witness=True))
    assert all(len(seen) == 2 for seen in visible.values())
    assert len(set(visible.values())) == 3


@pytest.mark.parametrize("nodes", [4, 5, 6, 7])
def test_ring_links_are_symmetric_where_a_symmetric_ring_exists(nodes: int) -> None:
    blocked = _ring(nodes).blocked
    assert all((b, a) in blocked for a, b in blocked)


def test_ring_on_two_nodes_is_refused() -> None:
    with pytest.raises(ScheduleError, match="at least 3 members"):
        make_simulation("custom", 1, nodes=2, schedule=parse_schedule("20s:partition:ring"))


def test_cli_ring_on_two_nodes_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--schedule", "20s:partition:ring,50s:heal"]) == 2
    err = capsys.readouterr().err
    assert "majorities ring needs at least 3 members" in err and "Traceback" not in err


def test_three_node_ring_run_holds_every_invariant() -> None:
    result = make_simulation(
        "custom", 1, nodes=3, schedule=parse_schedule("20s:partition:ring,50s:heal")
    ).run()
    assert result.ok, result.violations
