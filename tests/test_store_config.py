"""The cluster configuration stored in the file: exact round trip, strict decoding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.store import ConfigDecodeError, SqliteStore, config_from_json, config_to_json
from adapters.store.sqlite import ConfigMismatchError
from hacore.config import ClusterConfig, NodeSpec, Services, Timing
from hacore.roles import Mode, Policy

CONFIG = ClusterConfig(
    (NodeSpec("a", "10.0.0.1", 150), NodeSpec("b", "10.0.0.2"), NodeSpec("c", "10.0.0.3", 7)),
    mode=Mode.SAFETY_FIRST,
    policy=Policy.ZERO_CHANGES,
    witness="garbd",
    services=Services(gluster=False),
    timing=Timing(hold_down_us=1, max_attempts=5),
)


def test_a_config_round_trips_exactly() -> None:
    assert config_from_json(config_to_json(CONFIG)) == CONFIG
    default = ClusterConfig((NodeSpec("x", "10.1.1.1"), NodeSpec("y", "10.1.1.2")))
    assert config_from_json(config_to_json(default)) == default


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("mode"), "missing key"),
        (lambda d: d.update(extra=1), "unknown key"),
        (lambda d: d["nodes"][0].update(priority=True), "expected an integer"),
        (lambda d: d["nodes"][0].update(priority=300), "outside 1..255"),
        (lambda d: d.update(policy="coin-toss"), "coin-toss"),
        (lambda d: d["services"].update(k3s="yes"), "expected bool"),
        (lambda d: d["timing"].pop("fault_hold_us"), "missing key"),
        (lambda d: d.update(nodes=[]), "at least two nodes"),
    ],
)
def test_a_damaged_config_is_a_typed_error(edit: object, message: str) -> None:
    data = json.loads(config_to_json(CONFIG))
    edit(data)  # type: ignore[operator]
    with pytest.raises(ConfigDecodeError, match=message):
        config_from_json(json.dumps(data))


def test_not_json_is_a_typed_error() -> None:
    with pytest.raises(ConfigDecodeError, match="not JSON"):
        config_from_json("{nope")


def test_the_store_keeps_its_config_and_refuses_a_silent_change(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    SqliteStore.open(db, config=CONFIG).close()
    with SqliteStore.open(db) as store:
        assert store.config == CONFIG
    other = ClusterConfig((NodeSpec("a", "10.0.0.1"), NodeSpec("b", "10.0.0.2")))
    with pytest.raises(ConfigMismatchError):
        SqliteStore.open(db, config=other)
    with SqliteStore.open(db) as store:
        store.set_config(other)
        assert store.config == other


def test_a_store_without_config_says_so(tmp_path: Path) -> None:
    with SqliteStore.open(str(tmp_path / "s.db")) as store:
        assert store.config is None
