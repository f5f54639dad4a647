"""A campaign file (TOML): the matrix of configurations, the budget, the shards.

    [campaign]
    seed = 1              # with a configuration and a shard number, fixes its schedules
    shard_examples = 25   # schedules per shard (hypothesis max_examples)
    shard_wall_s = 300    # a shard starts no new schedule after this long
    workers = 2           # local processes when no --cluster is given

    [budget]              # one or both; the campaign stops at the first reached
    schedules = 10000
    wall_s = 3600

    [matrix]              # every combination is one configuration
    nodes = [2, 3]
    witness = [false, true]
    policies = ["vrrp-winner", "highest-epoch"]
    modes = ["availability-first", "safety-first"]
    steps = [12]          # schedule length: rules (faults and advances) per schedule
    max_advance_s = [45]  # the longest single advance of simulated time

    [matrix.fault_weights.default]   # named weight sets; {} = every rule weighs 1
    [matrix.fault_weights.crashy]
    crash = 3
    diskfull = 0

A shard is (configuration, number); its seed is derived from the campaign seed,
the configuration's key and the number only, so the same file gives the same
shards in any order, on any worker, in any later run.
"""

from __future__ import annotations

import hashlib
import itertools
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hacore.roles import Mode, Policy
from sims.fuzz import RULES


class CampaignConfigError(ValueError):
    """The campaign file is missing, unreadable or says something invalid."""


MAX_WEIGHT = 10


@dataclass(frozen=True, slots=True)
class Configuration:
    """One point of the matrix: everything a fuzz shard needs but its seed."""

    nodes: int
    witness: bool
    policy: Policy
    mode: Mode
    steps: int
    max_advance_s: int
    weights_name: str
    weights: tuple[tuple[str, int], ...]

    @property
    def key(self) -> str:
        """A readable, file-name-safe identity, stable across runs."""
        witness = "w" if self.witness else "nw"
        return (
            f"n{self.nodes}-{witness}-{self.policy}-{self.mode}"
            f"-s{self.steps}-a{self.max_advance_s}-{self.weights_name}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "witness": self.witness,
            "policy": str(self.policy),
            "mode": str(self.mode),
            "steps": self.steps,
            "max_advance_s": self.max_advance_s,
            "weights_name": self.weights_name,
            "weights": dict(self.weights),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Configuration:
        return cls(
            nodes=int(data["nodes"]),
            witness=bool(data["witness"]),
            policy=Policy(data["policy"]),
            mode=Mode(data["mode"]),
            steps=int(data["steps"]),
            max_advance_s=int(data["max_advance_s"]),
            weights_name=str(data["weights_name"]),
            weights=tuple(sorted((str(k), int(v)) for k, v in data["weights"].items())),
        )


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """One unit of work: a configuration, its shard number, the derived seed."""

    config: Configuration
    number: int
    seed: int
    examples: int
    wall_s: float

    @property
    def shard_id(self) -> str:
        return f"{self.config.key}--{self.number:05d}"

    def to_json(self) -> dict[str, Any]:
        return {
            "shard": self.shard_id,
            "config": self.config.to_json(),
            "number": self.number,
            "seed": self.seed,
            "examples": self.examples,
            "wall_s": self.wall_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShardSpec:
        return cls(
            Configuration.from_json(data["config"]),
            int(data["number"]),
            int(data["seed"]),
            int(data["examples"]),
            float(data["wall_s"]),
        )


def shard_seed(campaign_seed: int, config_key: str, number: int) -> int:
    """Below 10**6, so the replay seed (``seed * 1000 + noise``) stays short."""
    digest = hashlib.sha256(f"{campaign_seed}|{config_key}|{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1_000_000


@dataclass(frozen=True, slots=True)
class Campaign:
    seed: int
    shard_examples: int
    shard_wall_s: float
    workers: int | None
    budget_schedules: int | None
    budget_wall_s: float | None
    configurations: tuple[Configuration, ...]
    database: str | None  # hypothesis example database directory (None: OUT/hypothesis)

    @property
    def total_shards(self) -> int | None:
        """How many shards the schedule budget asks for (None: no schedule budget)."""
        if self.budget_schedules is None:
            return None
        return -(-self.budget_schedules // self.shard_examples)

    def shards(self) -> Iterator[ShardSpec]:
        """The campaign's shards in order: round-robin over the configurations, so a
        wall-time budget that stops early has spread its work over all of them."""
        counter = itertools.count() if self.total_shards is None else range(self.total_shards)
        per_config = len(self.configurations)
        for index in counter:
            config = self.configurations[index % per_config]
            number = index // per_config
            yield ShardSpec(
                config,
                number,
                shard_seed(self.seed, config.key, number),
                self.shard_examples,
                self.shard_wall_s,
            )


_SECTIONS = {
    "campaign": {"seed", "shard_examples", "shard_wall_s", "workers", "database"},
    "budget": {"schedules", "wall_s"},
    "matrix": {"nodes", "witness", "policies", "modes", "steps", "max_advance_s", "fault_weights"},
}


def _int(section: str, name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CampaignConfigError(f"[{section}] {name} must be an integer in {lo}..{hi}")
    return value


def _number(section: str, name: str, value: Any, lo: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
        raise CampaignConfigError(f"[{section}] {name} must be a number >= {lo}")
    return float(value)


def _axis(matrix: dict[str, Any], name: str, default: list[Any]) -> list[Any]:
    values = matrix.get(name, default)
    if not isinstance(values, list) or not values:
        raise CampaignConfigError(f"[matrix] {name} must be a non-empty list")
    if len(set(map(str, values))) != len(values):
        raise CampaignConfigError(f"[matrix] {name} lists a value twice")
    return values


def _weights(matrix: dict[str, Any]) -> list[tuple[str, tuple[tuple[str, int], ...]]]:
    sets = matrix.get("fault_weights", {"default": {}})
    if not isinstance(sets, dict) or not sets:
        raise CampaignConfigError("[matrix] fault_weights must be a table of named weight tables")
    out = []
    for name, table in sets.items():
        if not name.replace("_", "").isalnum() or not isinstance(table, dict):
            raise CampaignConfigError(
                f"[matrix.fault_weights.{name}] needs a plain name (letters, digits, _)"
                " and a table of rule = weight"
            )
        for rule, weight in table.items():
            if rule not in RULES:
                raise CampaignConfigError(
                    f"[matrix.fault_weights.{name}] no rule {rule!r}; known: {', '.join(RULES)}"
                )
            _int(f"matrix.fault_weights.{name}", rule, weight, 0, MAX_WEIGHT)
        if all(table.get(rule, 1) == 0 for rule in RULES):
            raise CampaignConfigError(f"[matrix.fault_weights.{name}] every rule has weight 0")
        out.append((name, tuple(sorted(table.items()))))
    return out


def parse_campaign(text: str) -> Campaign:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignConfigError(f"not valid TOML: {exc}") from None
    for section, value in data.items():
        if section not in _SECTIONS or not isinstance(value, dict):
            raise CampaignConfigError(f"unknown section [{section}]; known: {', '.join(_SECTIONS)}")
        unknown = sorted(set(value) - _SECTIONS[section])
        if unknown:
            raise CampaignConfigError(
                f"[{section}] unknown key {', '.join(unknown)};"
                f" known: {', '.join(sorted(_SECTIONS[section]))}"
            )
    camp = data.get("campaign", {})
    budget = data.get("budget", {})
    matrix = data.get("matrix", {})
    schedules = budget.get("schedules")
    wall = budget.get("wall_s")
    if schedules is None and wall is None:
        raise CampaignConfigError("[budget] needs schedules, wall_s or both")
    workers = camp.get("workers")
    database = camp.get("database")
    if database is not None and (not isinstance(database, str) or not database):
        raise CampaignConfigError("[campaign] database must be a directory path")
    configurations = []
    policies = [str(p) for p in Policy]
    modes = [str(m) for m in Mode]
    for nodes, witness, policy, mode, steps, advance, (wname, weights) in itertools.product(
        _axis(matrix, "nodes", [2]),
        _axis(matrix, "witness", [False]),
        _axis(matrix, "policies", [str(Policy.VRRP_WINNER)]),
        _axis(matrix, "modes", [str(Mode.AVAILABILITY_FIRST)]),
        _axis(matrix, "steps", [12]),
        _axis(matrix, "max_advance_s", [45]),
        _weights(matrix),
    ):
        if policy not in policies:
            raise CampaignConfigError(f"[matrix] policy {policy!r}; known: {', '.join(policies)}")
        if mode not in modes:
            raise CampaignConfigError(f"[matrix] mode {mode!r}; known: {', '.join(modes)}")
        if not isinstance(witness, bool):
            raise CampaignConfigError("[matrix] witness must list true and/or false")
        configurations.append(
            Configuration(
                _int("matrix", "nodes", nodes, 2, 7),
                witness,
                Policy(policy),
                Mode(mode),
                _int("matrix", "steps", steps, 1, 200),
                _int("matrix", "max_advance_s", advance, 1, 3600),
                wname,
                weights,
            )
        )
    return Campaign(
        seed=_int("campaign", "seed", camp.get("seed", 0), 0, 2**31),
        shard_examples=_int("campaign", "shard_examples", camp.get("shard_examples", 25), 1, 10**6),
        shard_wall_s=_number("campaign", "shard_wall_s", camp.get("shard_wall_s", 300), 1),
        workers=None if workers is None else _int("campaign", "workers", workers, 1, 1024),
        budget_schedules=None
        if schedules is None
        else _int("budget", "schedules", schedules, 1, 10**12),
        budget_wall_s=None if wall is None else _number("budget", "wall_s", wall, 1),
        configurations=tuple(configurations),
        database=database,
    )


def load_campaign(path: str) -> Campaign:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise CampaignConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CampaignConfigError(f"{path} is not UTF-8 text") from None
    return parse_campaign(text)
