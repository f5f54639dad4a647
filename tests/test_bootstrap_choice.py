"""The core's total-outage bootstrap choice: the most advanced recoverable node."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hacore.bootstrap import RecoveredPosition, choose_bootstrap

U = "8bd8c5a0-a1f5-11ee-8b6e-2f0e1c6a8f21"
OTHER = "11111111-a1f5-11ee-8b6e-2f0e1c6a8f21"
NODES = ("n1", "n2", "n3")


def pos(seqno: int, uuid: str = U) -> RecoveredPosition:
    return RecoveredPosition(uuid, seqno)


def test_highest_seqno_wins_not_the_first_node() -> None:
    c = choose_bootstrap(NODES, {"n1": pos(10), "n2": pos(12), "n3": pos(11)})
    assert c.node == "n2" and "12" in c.reason


def test_unrecoverable_is_not_a_candidate_but_does_not_block() -> None:
    c = choose_bootstrap(NODES, {"n1": pos(-1), "n2": pos(3), "n3": pos(-1)})
    assert c.node == "n2" and "n1, n3" in c.reason


def test_a_silent_node_blocks_the_choice() -> None:
    c = choose_bootstrap(NODES, {"n1": pos(10), "n2": pos(12)})
    assert c.node is None and "n3" in c.reason


def test_nobody_recoverable_or_two_histories_goes_to_an_operator() -> None:
    assert choose_bootstrap(NODES, {n: pos(-1) for n in NODES}).node is None
    c = choose_bootstrap(NODES, {"n1": pos(5), "n2": pos(9, OTHER), "n3": pos(-1)})
    assert c.node is None and "different histories" in c.reason


def test_ties_go_to_the_configured_order() -> None:
    assert choose_bootstrap(NODES, {n: pos(7) for n in NODES}).node == "n1"
    assert choose_bootstrap(("n3", "n1", "n2"), {n: pos(7) for n in NODES}).node == "n3"


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(ValueError, match="distinct"):
        choose_bootstrap(("n1", "n1"), {})
    with pytest.raises(ValueError, match="unconfigured"):
        choose_bootstrap(("n1",), {"n1": pos(1), "zz": pos(2)})


@given(st.lists(st.integers(-1, 50), min_size=1, max_size=6))
def test_choice_is_a_maximum_of_the_recoverable(seqnos: list[int]) -> None:
    nodes = tuple(f"n{i}" for i in range(len(seqnos)))
    c = choose_bootstrap(nodes, {n: pos(s) for n, s in zip(nodes, seqnos, strict=True)})
    if max(seqnos) < 0:
        assert c.node is None
    else:
        chosen = seqnos[nodes.index(c.node or "")]
        assert chosen == max(seqnos) and seqnos.index(chosen) == nodes.index(c.node or "")
