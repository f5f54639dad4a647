"""The cluster configuration as a JSON document, stored in the file's ``meta``.

``hacore log replay`` re-decides recorded inputs, which needs the configuration
the node ran with; storing it next to the logs keeps a store self-describing.
Decoding is strict (unknown or missing keys, wrong types: a typed error),
because the file is untrusted input when it comes back.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adapters.store.errors import ConfigDecodeError
from hacore import codec
from hacore.config import ClusterConfig, NodeSpec, Services, Timing
from hacore.roles import Mode, Policy


def config_to_dict(config: ClusterConfig) -> dict[str, Any]:
    return {
        "nodes": [
            {"name": n.name, "address": n.address, "priority": n.priority} for n in config.nodes
        ],
        "mode": config.mode.value,
        "policy": config.policy.value,
        "witness": config.witness,
        "services": dataclasses.asdict(config.services),
        "timing": dataclasses.asdict(config.timing),
    }


def config_to_json(config: ClusterConfig) -> str:
    return codec.canonical_json(config_to_dict(config))


def _keys(obj: Any, where: str, required: set[str], optional: frozenset[str] = frozenset()) -> None:
    if not isinstance(obj, dict):
        raise ConfigDecodeError(f"{where}: expected an object, got {type(obj).__name__}")
    missing = required - set(obj)
    if missing:
        raise ConfigDecodeError(f"{where}: missing key(s) {sorted(missing)}")
    extra = set(obj) - required - optional
    if extra:
        raise ConfigDecodeError(f"{where}: unknown key(s) {sorted(extra)}")


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is int and isinstance(value, bool):
        raise ConfigDecodeError(f"{where}: expected an integer, got a boolean")
    if not isinstance(value, kind):
        raise ConfigDecodeError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _flags(obj: Any, cls: type[Any], kind: type, where: str) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    _keys(obj, where, names)
    return {name: _typed(obj[name], kind, f"{where}.{name}") for name in sorted(names)}


def config_from_dict(data: Any) -> ClusterConfig:
    _keys(data, "config", {"nodes", "mode", "policy", "witness", "services", "timing"})
    nodes_raw = _typed(data["nodes"], list, "config.nodes")
    nodes: list[NodeSpec] = []
    try:
        for i, raw in enumerate(nodes_raw):
            where = f"config.nodes[{i}]"
            _keys(raw, where, {"name", "address", "priority"})
            nodes.append(
                NodeSpec(
                    _typed(raw["name"], str, f"{where}.name"),
                    _typed(raw["address"], str, f"{where}.address"),
                    _typed(raw["priority"], int, f"{where}.priority"),
                )
            )
        mode = Mode(_typed(data["mode"], str, "config.mode"))
        policy = Policy(_typed(data["policy"], str, "config.policy"))
        witness = data["witness"]
        if witness is not None:
            _typed(witness, str, "config.witness")
        services = Services(**_flags(data["services"], Services, bool, "config.services"))
        timing = Timing(**_flags(data["timing"], Timing, int, "config.timing"))
        return ClusterConfig(tuple(nodes), mode, policy, witness, services, timing)
    except ValueError as exc:  # enum values and the classes' own validators
        raise ConfigDecodeError(f"config: {exc}") from exc


def config_from_json(text: str) -> ClusterConfig:
    try:
        data = codec.parse_json(text)
    except codec.JsonError as exc:
        raise ConfigDecodeError(f"config: {exc}") from exc
    return config_from_dict(data)
