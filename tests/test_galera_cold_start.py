"""The agent's cold start (adapters/galera/cold_start.py) without a database: which
node bootstraps after a total outage, who waits, who joins; the position on the
peer wire. The real run is tests/test_galera_agent_outage.py (root, slow)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, cast

import pytest

from adapters.agent.peer_wire import PeerStatus
from adapters.galera.cold_start import ColdStart, PeerGalera, parse_position
from adapters.galera.errors import ServerError
from adapters.galera.ops import GaleraNode, Outcome, OutcomeKind
from adapters.galera.state_files import Position
from hacore.bootstrap import RecoveredPosition
from hacore.roles import PeerRole

UUID = "6f1a7c2e-0000-4000-8000-00000000abcd"


class FakeServer:
    def __init__(self) -> None:
        self.up = False

    def running(self) -> bool:
        return self.up


class FakeNode:
    """Records what the cold start asked of the node."""

    def __init__(self, seqno: int | None) -> None:
        self.server = FakeServer()
        self.seqno = seqno
        self.calls: list[str] = []

    def recover_position(self) -> Position:
        self.calls.append("recover")
        if self.seqno is None:
            raise ServerError("n1: --wsrep-recover wrote no log (exit 1)")
        return Position(UUID, self.seqno)

    def cold_bootstrap(self, *, chosen: bool) -> Outcome:
        self.calls.append(f"cold_bootstrap chosen={chosen}")
        self.server.up = True
        return Outcome(OutcomeKind.DONE, "Primary")

    def rejoin(self, *, force_sst: bool, quarantine: Any = None) -> Outcome:
        self.calls.append(f"rejoin force_sst={force_sst}")
        self.server.up = True
        return Outcome(OutcomeKind.DONE, "Synced")


def _cold(
    seqno: int | None, peers: dict[str, PeerGalera], may_join: bool = True
) -> tuple[ColdStart, FakeNode]:
    node = FakeNode(seqno)
    cold = ColdStart(
        cast(GaleraNode, node), "n1", ["n1", "n2", "n3"], lambda: peers, lambda: may_join
    )
    return cold, node


def _down(seqno: int) -> PeerGalera:
    return PeerGalera(running=False, position=RecoveredPosition(UUID, seqno))


def test_the_most_advanced_node_bootstraps_and_publishes_its_position_until_then() -> None:
    cold, node = _cold(12, {"n2": _down(10), "n3": _down(12)})  # tie with n3: order
    assert cold.decide(cast(GaleraNode, node)) == ("bootstrap", "total outage: n1 has the "
                                                   "highest seqno 12")  # fmt: skip
    assert cold.published() == f"{UUID}:12"
    outcome = cold.tend()
    assert outcome is not None and outcome.ok
    assert node.calls == ["recover", "cold_bootstrap chosen=True"]
    assert cold.published() is None  # MariaDB runs: the position moves on


def test_a_node_behind_waits_and_never_starts_mariadb() -> None:
    cold, node = _cold(10, {"n2": _down(14), "n3": _down(3)})
    action, why = cold.decide(cast(GaleraNode, node))
    assert action == "wait" and "n2 bootstraps" in why
    assert cold.tend() is None
    assert "cold_bootstrap chosen=True" not in node.calls and not node.server.up


def test_a_peer_not_heard_from_blocks_the_choice() -> None:
    cold, node = _cold(99, {"n2": _down(1)})  # n3 silent: it may be ahead
    action, why = cold.decide(cast(GaleraNode, node))
    assert action == "wait" and "waiting for the recovered position of n3" in why
    assert cold.tend() is None and not node.server.up


def test_once_a_peer_runs_mariadb_the_node_joins_it_unless_its_plan_must_go_first() -> None:
    running = PeerGalera(running=True, position=None)
    cold, node = _cold(5, {"n2": running, "n3": _down(9)})
    assert cold.decide(cast(GaleraNode, node))[0] == "join"
    assert "recover" not in node.calls  # no recovery needed to join
    outcome = cold.tend()
    assert outcome is not None and outcome.ok and node.calls == ["rejoin force_sst=False"]
    held, held_node = _cold(5, {"n2": running, "n3": _down(9)}, may_join=False)
    assert held.tend() is None and held_node.calls == []  # an ex-active waits for its plan


def test_an_unrecoverable_node_is_no_candidate_but_does_not_block_the_others() -> None:
    cold, node = _cold(None, {"n2": _down(4), "n3": _down(7)})
    action, why = cold.decide(cast(GaleraNode, node))
    assert action == "wait" and "n3 bootstraps" in why and "unrecoverable): n1" in why
    assert cold.published() == "00000000-0000-0000-0000-000000000000:-1"
    assert parse_position(cold.published() or "") == RecoveredPosition(
        "00000000-0000-0000-0000-000000000000", -1
    )


def test_a_port_operation_waits_within_its_budget_then_is_uncertain() -> None:
    cold, node = _cold(1, {"n2": _down(5), "n3": _down(2)})
    with cold.lock:
        outcome = cold.start(cast(GaleraNode, node), 0.2)
    assert outcome.kind is OutcomeKind.UNCERTAIN and "n2 bootstraps" in outcome.detail
    assert not node.server.up


def test_the_tender_leaves_a_node_alone_while_a_port_operation_holds_the_lock() -> None:
    cold, node = _cold(12, {"n2": _down(1), "n3": _down(1)})
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with cold.lock:
            held.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        assert cold.tend() is None and node.calls == []
    finally:
        release.set()
        t.join(5)


@pytest.mark.parametrize(
    "text",
    [f"{UUID}:12\n", f"{UUID}:+1", f"{UUID}:01", f"{UUID.upper()}:1", "x:1", f"{UUID}:-2", ""],
)
def test_a_published_position_is_parsed_strictly(text: str) -> None:
    with pytest.raises(ValueError, match="not a Galera position"):
        parse_position(text)


def _status(**extra: Any) -> dict[str, Any]:
    st = PeerStatus(PeerRole.STANDBY, 1, 0, 0, False, "", galera_position=f"{UUID}:7")
    return {**st.to_json(), **extra}


def test_the_peer_wire_carries_the_position_and_older_agents_may_omit_it() -> None:
    assert PeerStatus.from_json(_status()).galera_position == f"{UUID}:7"
    older = _status()
    del older["galera_position"]
    assert PeerStatus.from_json(older).galera_position is None
    for bad in (7, f"{UUID}:7\n", "a" * 300, f"{UUID}:x"):
        with pytest.raises(ValueError, match="galera_position"):
            PeerStatus.from_json(_status(galera_position=bad))


def _receipt(tmp: Path, node: str, committed: int) -> Path:
    d = tmp / f"epoch-1_node-{node}_x"
    d.mkdir()
    doc = {"node": node, "epoch": 1, "time": "x", "files": {}, "rows": {}, "committed": committed}
    (d / "receipt.json").write_text(json.dumps(doc))
    return d


def test_a_join_after_the_plan_dumped_the_stopped_node_is_a_forced_sst(tmp_path: Path) -> None:
    running = PeerGalera(running=True, position=None)
    cold, node = _cold(10, {"n2": running, "n3": running})
    with cold.lock:
        stale = cold.start(cast(GaleraNode, node), 1.0, quarantine=_receipt(tmp_path, "n1", 9))
    assert stale.kind is OutcomeKind.REFUSED and "quarantine again" in stale.detail
    assert not node.server.up  # nothing removed, nothing started
    with cold.lock:
        ok = cold.start(cast(GaleraNode, node), 1.0, quarantine=_receipt(tmp_path, "n2x", 10))
    assert ok.kind is OutcomeKind.REFUSED  # another node's dump covers nothing of this one
    d = tmp_path / "good"
    d.mkdir()
    with cold.lock:
        done = cold.start(cast(GaleraNode, node), 1.0, quarantine=_receipt(d, "n1", 10))
    assert done.ok and node.calls[-1] == "rejoin force_sst=True"
