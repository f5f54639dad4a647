"""The fuzz canary: a deliberately broken decider, for tests that check the fuzzer
(and the campaigns built on it) find a planted bug.

The broken active never demotes, neither on a split-brain nor on losing the VIP.
``install()`` plants it in this process; a Dask worker started with
``--preload tests/canary.py`` plants it at start (``dask_setup``), and so does a
local campaign worker given ``--preload canary`` (``campaign_setup``).
"""

from __future__ import annotations

from typing import Any

from hacore import actions, guards
from hacore import inputs as inp
from hacore.roles import Role
from hacore.table import TABLE, Cell, Rule


def broken_cells() -> dict[type[inp.Input], Cell]:
    """The active's cells with its demotions taken out (to put in TABLE[Role.ACTIVE])."""
    return {
        inp.PeerHeard: (Rule(guards.always, Role.ACTIVE, actions.observe_peer),),
        inp.VrrpReported: (Rule(guards.always, Role.ACTIVE, actions.observe_vrrp),),
    }


def install() -> None:
    TABLE[Role.ACTIVE].update(broken_cells())


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: plant the canary in the worker process."""
    install()


def campaign_setup() -> None:
    """``hacore campaign run --preload canary``: plant it in each local worker."""
    install()
