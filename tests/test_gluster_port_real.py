"""GlusterPortContract against the real adapter on a two-node lab pool (root).

One pool for the module (forming it takes 13-22 s here): each test makes its
own split-brain on a file of its own. n1 is the port's node; the unresponsive
case (slow) SIGSTOPs n1's glusterd (SIGCONT after the test). The pool's
teardown checks that ``lab down`` left no gluster process (by PID), no data
and nothing carrying the lab's prefix."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from gluster_lab import found, gluster_lab, on_bricks, port_for, split_same_file

from adapters.gluster.port import monotonic_us
from adapters.gluster.quarantine import Quarantine
from adapters.lab.gluster import GlusterLab
from hacontracts.ports import GlusterPortContract
from hacore.ports import GlusterPort

pytestmark = pytest.mark.root

_files = itertools.count(1)


class TestGlusterPortReal(GlusterPortContract):
    budget_us = 60_000_000  # a loaded 2-core machine: heal and resync poll the CLI
    slack_us = 5_000_000
    g: GlusterLab

    def setup_method(self) -> None:
        self.g = _pool()
        self.quarantine = Path(self.g.lab.dir) / f"quarantine-{next(_files)}"
        self.stopped: int | None = None
        self.entry = ""
        self.port = self.make_port()

    def teardown_method(self) -> None:
        if self.stopped is not None:
            os.kill(self.stopped, signal.SIGCONT)

    def make_port(self) -> GlusterPort:
        return port_for(self.g, "n1", self.quarantine)

    def now(self) -> int:
        return monotonic_us()

    def make_unresponsive(self) -> None:
        self.budget_us = 8_000_000  # each call waits out its deadline: keep them short
        self.stopped = self.g.glusterd_pid("n1")
        os.kill(self.stopped, signal.SIGSTOP)

    def make_split_brain(self) -> None:
        self.entry = f"contract-{next(_files)}.txt"
        split_same_file(self.g, self.entry)

    @pytest.mark.slow  # ~30 s: every call waits out its deadline
    def test_an_unresponsive_volume_is_uncertain_never_done(self) -> None:
        super().test_an_unresponsive_volume_is_uncertain_never_done()

    def split_brain(self) -> bool:
        return any(found(self.g).split.values())

    def quarantined_copies(self) -> int:
        return len(Quarantine(self.quarantine).receipts())

    def test_heal_ends_a_split_brain_and_is_idempotent(self) -> None:
        super().test_heal_ends_a_split_brain_and_is_idempotent()
        # towards this node's copy; the other one is in quarantine, not lost
        text = "n1 wrote this while apart\n"
        assert on_bricks(self.g, self.entry) == {"n1": text, "n2": text}
        kept = Quarantine(self.quarantine)
        copies = {kept.copy_of(r) for r in kept.receipts() if r.entry == f"/{self.entry}"}
        assert copies == {b"n2 wrote this, longer, while apart\n"}

    def test_the_losing_copy_is_quarantined_once_before_a_resync(self) -> None:
        super().test_the_losing_copy_is_quarantined_once_before_a_resync()
        text = "n2 wrote this, longer, while apart\n"
        assert on_bricks(self.g, self.entry) == {"n1": text, "n2": text}
        kept = Quarantine(self.quarantine)
        copies = {kept.copy_of(r) for r in kept.receipts() if r.entry == f"/{self.entry}"}
        assert copies == {b"n1 wrote this while apart\n"}


_shared: dict[str, GlusterLab] = {}


def _pool() -> GlusterLab:
    if "g" not in _shared:
        pytest.fail("the module fixture did not start the pool")
    return _shared["g"]


@pytest.fixture(scope="module", autouse=True)
def pool() -> Iterator[GlusterLab]:
    with gluster_lab() as g:
        _shared["g"] = g
        yield g
        _shared.clear()
