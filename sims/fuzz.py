"""Hypothesis fault-schedule fuzzing (placeholder until the fuzzer lands)."""

from __future__ import annotations

from hacore.roles import Mode, Policy


def main_fuzz(
    *,
    examples: int,
    nodes: int,
    witness: bool,
    policy: Policy,
    mode: Mode,
    seed: int,
    jobs: int,
    as_json: bool,
) -> int:
    print("hacore fuzz: not built yet")
    return 2
