"""The runtime's Galera contract suite (hacontracts) against the real adapter on the lab.

Each test gets a fresh 2-node lab (about 15 s), so the class is marked slow.
The contract's member is n2, the rest of the cluster n1.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Collection
from contextlib import ExitStack

import pytest
from galera_lab import Writer, galera_lab, node, port_for, table_ids, wait_until

from adapters.galera.port import monotonic_us
from adapters.galera.quarantine import read_rows, verify
from adapters.lab.galera import GaleraLab
from hacontracts.ports import GaleraPortContract
from hacore.ports import GaleraPort

pytestmark = [pytest.mark.root, pytest.mark.slow]
ME, OTHER = "n2", "n1"


class TestGaleraAdapterContract(GaleraPortContract):
    budget_us = 60_000_000  # a forced SST takes ~10 s here
    slack_us = 6_000_000

    def setup_method(self) -> None:
        self.stack = ExitStack()
        self.g: GaleraLab = self.stack.enter_context(galera_lab(2))
        self.ids = itertools.count(1)
        self.diverged: set[int] = set()
        super().setup_method()

    def teardown_method(self) -> None:
        for name in (ME, OTHER):
            pid = self.g.server(name).pid()
            if pid is not None:
                os.kill(pid, signal.SIGCONT)
        self.stack.close()

    def make_port(self) -> GaleraPort:
        return port_for(self.g, ME, epoch=1)

    def now(self) -> int:
        return monotonic_us()

    def make_unresponsive(self) -> None:
        pid = self.g.server(ME).pid()
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)

    def is_primary(self) -> bool:
        s = self.g.probe(ME).status
        return s is not None and s.member

    def accepts_writes(self) -> bool:
        return Writer(self.g, ME, self.ids).write(1) == 1

    def committed(self) -> int:
        s = self.g.probe(ME).status
        assert s is not None
        return s.last_committed

    def isolate(self) -> None:
        self.g.lab.isolate(ME)
        wait_until(lambda: not self.is_primary(), 30, "Galera noticed the cut")

    def diverge(self) -> Collection[int]:
        self.isolate()
        wait_until(
            lambda: (s := self.g.probe(OTHER).status) is not None and not s.primary,
            30, "the other side noticed",
        )  # fmt: skip
        for name in (ME, OTHER):
            assert node(self.g, name).make_primary(bootstrap_allowed=True).ok
        mine = Writer(self.g, ME, itertools.count(9001))
        assert mine.write(2) == 2
        assert Writer(self.g, OTHER, itertools.count(9100)).write(3) == 3
        self.g.lab.heal()
        time.sleep(2)  # two primaries never merge
        self.diverged = set(mine.acked)
        return mine.acked

    def quarantined(self) -> Collection[int]:
        root = self.g.lab.dir / "quarantine"
        kept: set[int] = set()
        for d in sorted(root.iterdir()) if root.is_dir() else []:
            if d.is_dir() and not d.name.startswith("."):
                kept |= {int(r["id"]) for r in read_rows(verify(d), "app.t")}
        return kept

    def discarded(self) -> Collection[int]:
        return self.diverged - table_ids(self.g, ME)
