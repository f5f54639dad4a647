"""``hacore simulate``, ``hacore scenarios`` and ``hacore fuzz``.

Exit codes: 0 every invariant holds (or nothing found), 1 a violation, 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from hacore.roles import Mode, Policy
from sims.cli_budgets import (
    BudgetError,
    add_budget_flags,
    add_heal_at_flag,
    parse_budgets,
    parse_heal_at,
)
from sims.faults import Fault, ScheduleError, check_duration, parse_schedule, parse_time
from sims.result import RunResult
from sims.scenarios import SCENARIOS

POLICIES = [str(p) for p in Policy]
MODES = [str(m) for m in Mode]


# One range for every command that builds a simulated cluster.
MIN_NODES = 2
MAX_NODES = 9


class _ArgError(Exception):
    pass


def int_in(lo: int, hi: int | None) -> Callable[[str], int]:
    """An argparse type: an integer in lo..hi (hi None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


# Writes a run's node logs to a file (``--log``). ``sims`` may not import
# ``adapters`` (docs/runtime.md §Layering): the ``hacore`` command (``hacli``)
# hands in the SQLite store's writer.
LogWriter = Callable[[str, Any], object]


def register(subparsers: Any, write_logs: LogWriter | None = None) -> None:
    sim = subparsers.add_parser(
        "simulate",
        help="run a named scenario in the deterministic simulator",
        description="Run a scenario: the real core on every node, simulated VRRP, Galera, "
        "k3s/litestream, Gluster and clients; print the status table, a short timeline and "
        "the invariant verdicts.",
    )
    sim.add_argument(
        "scenario", nargs="?", help="scenario name (see hacore scenarios); optional with --schedule"
    )
    sim.add_argument("--seed", type=int, default=1, help="the run's seed (default: 1)")
    sim.add_argument(
        "--nodes",
        type=int_in(MIN_NODES, MAX_NODES),
        default=None,
        help=f"data nodes, {MIN_NODES}..{MAX_NODES} (default: the scenario's)",
    )
    sim.add_argument(
        "--witness",
        action="store_true",
        default=None,
        help="add a witness (default: as the scenario says)",
    )
    sim.add_argument(
        "--policy",
        choices=POLICIES,
        default=None,
        help=f"split-brain policy (default: {Policy.VRRP_WINNER})",
    )
    sim.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help=f"mode (default: the scenario's, else {Mode.AVAILABILITY_FIRST})",
    )
    sim.add_argument(
        "--duration",
        default=None,
        help="total simulated time, e.g. 120s (default: the last heal plus the convergence bound)",
    )
    sim.add_argument(
        "--schedule",
        default=None,
        help="explicit fault schedule, e.g. 20s:crash:active,50s:restart:n1"
        " (default: drawn from the scenario and seed)",
    )
    sim.add_argument(
        "--log", default=None, metavar="FILE", help="write node logs to SQLite (default: none)"
    )
    sim.add_argument(
        "--timeline",
        default=None,
        metavar="FILE.svg",
        help="write the timeline picture: FILE.svg, or FILE.html (an HTML page embedding it)"
        " (default: none)",
    )
    sim.add_argument("--json", action="store_true", help="print one JSON object (default: text)")
    sim.add_argument(
        "--compare-policies",
        action="store_true",
        help="run the scenario's fault schedule under every policy and both modes (default: off)",
    )
    add_budget_flags(sim)
    add_heal_at_flag(sim)
    sim.set_defaults(handler=cmd_simulate, write_logs=write_logs)

    sc = subparsers.add_parser("scenarios", help="list the simulator's named scenarios")
    sc.set_defaults(handler=cmd_scenarios)

    fz = subparsers.add_parser(
        "fuzz", help="hypothesis fault-schedule fuzzing (exit 1 with a shrunk reproducer)"
    )
    fz.add_argument(
        "--examples",
        type=int_in(1, None),
        default=100,
        help="fault schedules to try, >= 1 (default: 100)",
    )
    fz.add_argument(
        "--nodes",
        type=int_in(MIN_NODES, MAX_NODES),
        default=2,
        help=f"data nodes, {MIN_NODES}..{MAX_NODES} (default: 2)",
    )
    fz.add_argument("--witness", action="store_true", help="add a witness (default: off)")
    fz.add_argument(
        "--policy",
        choices=POLICIES,
        default=str(Policy.VRRP_WINNER),
        help=f"split-brain policy (default: {Policy.VRRP_WINNER})",
    )
    fz.add_argument(
        "--mode",
        choices=MODES,
        default=str(Mode.AVAILABILITY_FIRST),
        help=f"mode (default: {Mode.AVAILABILITY_FIRST})",
    )
    fz.add_argument("--seed", type=int, default=0, help="the search's seed (default: 0)")
    fz.add_argument(
        "--jobs", type=int_in(1, None), default=1, help="worker processes, >= 1 (default: 1)"
    )
    fz.add_argument("--json", action="store_true", help="print one JSON object (default: text)")
    add_budget_flags(fz)
    fz.set_defaults(handler=cmd_fuzz)


def cmd_scenarios(args: argparse.Namespace) -> int:
    width = max(len(name) for name in SCENARIOS)
    for name, sc in SCENARIOS.items():
        print(f"{name:<{width}}  {sc.summary}")
    return 0


def _err(message: str) -> int:
    print(f"hacore simulate: error: {message}", file=sys.stderr)
    return 2


TIMELINE_SUFFIXES = (".svg", ".html")


def _unwritable(path: str) -> str:
    """Why ``path`` cannot be written (checked before a run), or "" when it can."""
    target = os.path.abspath(path)
    parent = os.path.dirname(target)
    if os.path.isdir(target):
        return "it is a directory"
    if not os.path.isdir(parent):
        return f"no directory {parent}"
    if os.path.exists(target):
        if not os.access(target, os.W_OK):
            return "the file is not writable"
    elif not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    return ""


def cmd_simulate(args: argparse.Namespace) -> int:
    from sims import report
    from sims.run import make_simulation

    name = args.scenario
    schedule = None
    if args.schedule is not None:
        try:
            schedule = parse_schedule(args.schedule)
        except ScheduleError as exc:
            return _err(str(exc))
        name = name or "custom"
    if name is None:
        return _err("name a scenario (see `hacore scenarios`) or give --schedule")
    if name not in SCENARIOS and schedule is None:
        return _err(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    duration = None
    if args.duration is not None:
        try:
            duration = parse_time(args.duration)
        except ScheduleError as exc:
            return _err(str(exc))
    mode = Mode(args.mode) if args.mode else None
    try:
        budgets = parse_budgets(args)
        heal_at = parse_heal_at(args.heal_at)
    except BudgetError as exc:
        return _err(str(exc))
    if args.timeline is not None:
        if os.path.splitext(args.timeline)[1].lower() not in TIMELINE_SUFFIXES:
            return _err(f"--timeline {args.timeline}: the file must end in .svg or .html")
        why = _unwritable(args.timeline)
        if why:
            return _err(f"--timeline {args.timeline}: cannot write it: {why}")
    if args.log is not None:
        why = _unwritable(args.log)
        if why:
            return _err(f"--log {args.log}: cannot write it: {why}")
        if os.path.lexists(args.log):
            # A store holds one run's logs: appending another run's would break
            # every node's sequence (found only after the run, as "sequence gap").
            return _err(
                f"--log {args.log}: cannot write it: the file exists "
                "(a store holds one run: remove it or name a new one)"
            )
    if args.compare_policies:
        return _compare(args, name, schedule, duration)
    try:
        simulation = make_simulation(
            name,
            args.seed,
            nodes=args.nodes,
            policy=Policy(args.policy or Policy.VRRP_WINNER),
            mode=mode,
            witness=args.witness,
            duration_us=duration,
            schedule=schedule,
            heal_at_us=heal_at,
            event_budget=budgets.events,
            wall_budget_s=budgets.wall_s,
        )
        check_duration(simulation.schedule, duration)
    except (KeyError, ValueError) as exc:
        return _err(str(exc))
    result = simulation.run()
    try:
        _write_outputs(result, args.timeline, args.log, args.write_logs)
    except _ArgError as exc:
        return _err(str(exc))
    if args.json:
        print(report.dumps(report.json_report(result)))
    else:
        print(report.text_report(result))
    return 0 if result.ok else 1


def _write_outputs(
    result: RunResult, timeline: str | None, log: str | None, write_logs: LogWriter | None
) -> None:
    """The run's picture and node logs, where asked; _ArgError when one cannot be written."""
    from sims import report

    if timeline:
        html = os.path.splitext(timeline)[1].lower() == ".html"
        picture = report.html_timeline(result) if html else report.svg_timeline(result)
        try:
            with open(timeline, "w", encoding="utf-8") as fh:
                fh.write(picture)
        except OSError as exc:
            raise _ArgError(
                f"--timeline {timeline}: cannot write it: {exc.strerror or exc}"
            ) from None
    if log:
        if write_logs is None:
            raise _ArgError("--log: no log store given to this command (run it as `hacore`)")
        try:
            write_logs(log, result)
        except Exception as exc:  # the store's typed errors; report, do not trace back
            raise _ArgError(f"--log {log}: cannot write it: {exc}") from None


def _compare(
    args: argparse.Namespace, name: str, schedule: tuple[Fault, ...] | None, duration: int | None
) -> int:
    """--compare-policies: every flag either shapes every row or is refused."""
    from sims import report
    from sims.compare import compare_policies, render_comparison, row_path

    for flag, value in (("--policy", args.policy), ("--mode", args.mode)):
        if value is not None:
            return _err(
                f"{flag} cannot go with --compare-policies, which runs every policy and mode"
            )
    for flag, path in (("--timeline", args.timeline), ("--log", args.log)):
        if path is None:
            continue
        for policy in Policy:
            for m in Mode:
                why = _unwritable(row_path(path, policy, m))
                if why:
                    return _err(f"{flag} {row_path(path, policy, m)}: cannot write it: {why}")

    def write_row(r: RunResult) -> dict[str, str | None]:
        files: dict[str, str | None] = {"timeline": None, "log": None}
        for kind, path in (("timeline", args.timeline), ("log", args.log)):
            if path is not None:
                files[kind] = row_path(path, r.params.policy, r.params.mode)
        _write_outputs(r, files["timeline"], files["log"], args.write_logs)
        return files

    try:
        comparison = compare_policies(
            name,
            args.seed,
            nodes=args.nodes,
            witness=args.witness,
            duration_us=duration,
            schedule=schedule,
            write_row=write_row,
        )
    except _ArgError as exc:
        return _err(str(exc))
    except (KeyError, ValueError) as exc:
        return _err(str(exc))
    if args.json:
        doc = {
            "scenario": name,
            "seed": args.seed,
            "nodes": comparison.nodes,
            "witness": comparison.witness,
            "duration_s": None if duration is None else duration / 1e6,
            "rows": comparison.rows,
        }
        print(report.dumps(doc))
    else:
        print(render_comparison(name, args.seed, comparison))
    return 0 if comparison.ok else 1


def cmd_fuzz(args: argparse.Namespace) -> int:
    from sims.fuzz import main_fuzz

    try:
        budgets = parse_budgets(args)
    except BudgetError as exc:
        print(f"hacore fuzz: error: {exc}", file=sys.stderr)
        return 2
    return main_fuzz(
        examples=args.examples,
        nodes=args.nodes,
        witness=args.witness,
        policy=Policy(args.policy),
        mode=Mode(args.mode),
        seed=args.seed,
        jobs=args.jobs,
        as_json=args.json,
        event_budget=budgets.events,
        wall_budget_s=budgets.wall_s,
    )
