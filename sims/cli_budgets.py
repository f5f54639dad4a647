"""The command-line options that bound a run: ``--event-budget``, ``--wall-budget``
(``hacore simulate`` and ``hacore fuzz``) and ``--heal-at`` (``hacore simulate``).

Each value is checked here, before anything runs; a bad one is a one-line
error (exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from sims.faults import ScheduleError, parse_time
from sims.replay import NEVER


class BudgetError(ValueError):
    """A budget or heal-phase option that is not a valid value."""


@dataclass(frozen=True, slots=True)
class Budgets:
    events: int | None  # None: derived from the duration (sims.progress)
    wall_s: float | None


def add_budget_flags(parser: Any) -> None:
    parser.add_argument(
        "--event-budget",
        default=None,
        metavar="N",
        help="stop a run after N events and report it stuck "
        "(default: derived from its simulated duration)",
    )
    parser.add_argument(
        "--wall-budget",
        default=None,
        metavar="TIME",
        help="stop a run after TIME of wall-clock time, e.g. 30s, and report it stuck "
        "(default: derived from its simulated duration)",
    )


def add_heal_at_flag(parser: Any) -> None:
    parser.add_argument(
        "--heal-at",
        default=None,
        metavar="TIME|never",
        help="when the heal phase begins (default: the last fault); `never` replays a "
        "fuzzer counterexample found before its heal",
    )


def parse_budgets(args: argparse.Namespace) -> Budgets:
    events: int | None = None
    if args.event_budget is not None:
        try:
            events = int(args.event_budget)
        except ValueError:
            raise BudgetError(f"--event-budget {args.event_budget!r}: not a whole number") from None
        if events < 1:
            raise BudgetError("--event-budget must be at least 1")
    wall: float | None = None
    if args.wall_budget is not None:
        try:
            micros = parse_time(args.wall_budget)
        except ScheduleError as exc:
            raise BudgetError(f"--wall-budget: {exc}") from None
        if micros <= 0:
            raise BudgetError("--wall-budget must be more than 0s")
        wall = micros / 1_000_000
    return Budgets(events, wall)


def parse_heal_at(text: str | None) -> int | None:
    if text is None:
        return None
    if text.strip() == "never":
        return NEVER
    try:
        return parse_time(text)
    except ScheduleError as exc:
        raise BudgetError(f"--heal-at: {exc}") from None
