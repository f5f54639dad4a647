"""Split-brain kinds on the real two-node pool (root): what the adapter does with
each, and that nothing written on either side is lost (it is on both bricks or
in the loser's quarantine). Slow: two partitions, ~60 s with the pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gluster_lab import found, gluster_lab, on_bricks, port_for, wait_until, write

from adapters.gluster.port import monotonic_us
from adapters.gluster.quarantine import Quarantine
from adapters.lab.gluster import GlusterLab
from hacore.ports import Done, Failed

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def pool() -> Iterator[GlusterLab]:
    with gluster_lab() as g:
        yield g


def _deadline() -> int:
    return monotonic_us() + 120_000_000


def test_same_new_name_on_both_sides_is_resolved_by_the_losers_resync(pool: GlusterLab) -> None:
    g = pool
    g.lab.partition([["n1"], ["n2"]])
    try:
        write(g, "n1", "born-twice.txt", "n1's\n")
        write(g, "n2", "born-twice.txt", "n2's, longer\n")
        write(g, "n1", "only-n1.txt", "a\n")
        write(g, "n2", "only-n2.txt", "b\n")
    finally:
        g.lab.heal()
    wait_until(lambda: "/born-twice.txt" in found(g).to_resolve(), "a gfid split-brain")
    winner = port_for(g, "n1", Path(g.lab.dir) / "q-n1")
    # the winner cannot read n2's copy of a gfid split-brain: it refuses, loses nothing
    refused = winner.heal(key="p/heal", deadline=_deadline())
    assert isinstance(refused, Failed) and "gfid" in refused.reason, refused
    assert on_bricks(g, "born-twice.txt") == {"n1": "n1's\n", "n2": "n2's, longer\n"}
    loser = port_for(g, "n2", Path(g.lab.dir) / "q-n2")
    assert isinstance(loser.quarantine_losing_copy(key="d/q", deadline=_deadline()), Done)
    outcome = loser.resync(key="d/resync", deadline=_deadline())
    assert isinstance(outcome, Done), outcome
    assert found(g).clean()
    assert on_bricks(g, "born-twice.txt") == {"n1": "n1's\n", "n2": "n1's\n"}
    assert on_bricks(g, "only-n1.txt") == {"n1": "a\n", "n2": "a\n"}
    assert on_bricks(g, "only-n2.txt") == {"n1": "b\n", "n2": "b\n"}
    kept = Quarantine(Path(g.lab.dir) / "q-n2")
    by_entry = {r.entry: kept.copy_of(r) for r in kept.receipts()}
    assert by_entry["/born-twice.txt"] == b"n2's, longer\n"
    # the winner's heal now finds nothing to refuse
    assert isinstance(winner.heal(key="p/heal-2", deadline=_deadline()), Done)


def test_different_files_are_no_split_brain_and_heal(pool: GlusterLab) -> None:
    g = pool
    for name in ("left.txt", "right.txt"):
        write(g, "n1", name, "before\n")
    wait_until(lambda: on_bricks(g, "right.txt") == {"n1": "before\n", "n2": "before\n"}, "base")
    g.lab.partition([["n1"], ["n2"]])
    try:
        write(g, "n1", "left.txt", "n1 changed it\n")
        write(g, "n2", "right.txt", "n2 changed it\n")
    finally:
        g.lab.heal()
    assert found(g).split_files() == ()
    winner = port_for(g, "n1", Path(g.lab.dir) / "q-n1-b")
    assert isinstance(winner.heal(key="p2/heal", deadline=_deadline()), Done)
    assert on_bricks(g, "left.txt") == {"n1": "n1 changed it\n", "n2": "n1 changed it\n"}
    assert on_bricks(g, "right.txt") == {"n1": "n2 changed it\n", "n2": "n2 changed it\n"}
