"""The `hacore` command line: one dispatcher, one module per command family.

Each family lives in its own module exposing ``register(subparsers)``; the
dispatcher imports them lazily so that a missing optional dependency in one
family (say, the lab's) never breaks another (say, ``hacore simulate``).
This package is the top layer (docs/runtime.md §Layering): the only one that
may import both ``sims`` and ``adapters``, so it wires them together (the
simulator's ``--log`` writes through the SQLite store).
Exit codes across the CLI: 0 success, 1 a check failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import Any

from hacli.help import HelpParser, plain_help

# (module, human name). Order is the order shown in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "sims.cli",  # simulate, scenarios, fuzz
    "hacli.campaign.cli",  # campaign run/report
    "adapters.log_cli",  # log verify/show/replay
    "adapters.lab_cli",  # lab up/status/partition/...
    "adapters.notify_cli",  # notify (keepalived notify-script entry point)
    "adapters.status_cli",  # status (the reference status table)
    "adapters.config_cli",  # config check/keepalived (the agent's configuration)
    "adapters.agent_cli",  # agent, switchover, resolve, clear-fault, history
)


def version() -> str:
    try:
        return importlib.metadata.version("hacore")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = HelpParser(
        prog="hacore",
        description="Explicit, testable, replayable HA logic for active/standby clusters.\n"
        "Exit codes of every command: 0 ok, 1 a check or invariant failed,"
        " 2 usage or input error.",
    )
    parser.add_argument(
        "--version", action="version", version=f"hacore {version()}", help="print the version"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # this command family is not built yet
            raise
        if module_name == "sims.cli":
            module.register(subparsers, write_logs=_write_sim_logs)
        else:
            module.register(subparsers)
    plain_help(parser)
    return parser


def _write_sim_logs(path: str, result: Any) -> object:
    from hacli.sim_logs import write_logs  # the store is imported only when used

    return write_logs(path, result)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already
        return int(exc.code) if isinstance(exc.code, int) else 2
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)  # a usage error: exit 2, the help on stderr
        return 2
    try:
        result: int = handler(args)
    except BrokenPipeError:
        # The reader went away (`hacore ... | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush is quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"hacore {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: never a traceback
        # Every command turns the errors it expects into a message and an exit
        # code; reaching here is a bug, said in one line (tests hold every
        # command to never getting here on bad input).
        print(
            f"hacore {args.command}: internal error (a bug, please report it):"
            f" {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
