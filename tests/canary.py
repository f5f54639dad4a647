"""The fuzz canary: a deliberately broken decider, for tests that check the fuzzer
(and the campaigns built on it) find a planted bug.

The broken active never demotes, neither on a split-brain nor on losing the VIP.
``install()`` plants it in this process; a Dask worker started with
``--preload tests/canary.py`` plants it at start (``dask_setup``), and so does a
local campaign worker given ``--preload canary`` (``campaign_setup``).
"""

from __future__ import annotations

from typing import Any

from hacore import decider
from hacore.inputs import InputKind
from hacore.roles import Role
from hacore.table import ACTIONS, GUARDS


def broken_compiled() -> dict[Any, Any]:
    """The decider's compiled table with the active's demotions taken out."""
    compiled = dict(decider._COMPILED)
    observe_peer = ((GUARDS["always"], Role.ACTIVE, ACTIONS["observe_peer"], "observe_peer"),)
    observe_vrrp = ((GUARDS["always"], Role.ACTIVE, ACTIONS["observe_vrrp"], "observe_vrrp"),)
    compiled[(Role.ACTIVE, InputKind.PEER_HEARD)] = observe_peer
    compiled[(Role.ACTIVE, InputKind.VRRP)] = observe_vrrp
    return compiled


def install() -> None:
    decider._COMPILED = broken_compiled()


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: plant the canary in the worker process."""
    install()


def campaign_setup() -> None:
    """``hacore campaign run --preload canary``: plant it in each local worker."""
    install()
