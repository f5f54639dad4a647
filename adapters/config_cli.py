"""``hacore config check FILE`` and ``hacore config keepalived FILE``.

``check`` validates the agent's configuration without starting anything:
the TOML, every key (unknown keys are errors) and the secret files it names
(present, owned by this user, mode 0600). ``keepalived`` prints the
keepalived.conf the configuration renders for this node.
Exit codes: 0 valid, 1 invalid (the message names key, value and expectation),
2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from adapters.agent.config import AgentConfig, ConfigFileError, ConfigValueError, load_config
from adapters.agent.secret_files import SecretFileError, load_secrets
from adapters.keepalived.config import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config",
        help="check the agent's configuration, render keepalived.conf from it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    check = sub.add_parser("check", help="validate a configuration file without starting")
    check.add_argument("file", help="the agent's configuration (TOML)")
    check.add_argument(
        "--no-secrets", action="store_true", help="do not open the secret files it names"
    )
    check.set_defaults(handler=cmd_check)
    ka = sub.add_parser("keepalived", help="print the keepalived.conf this configuration renders")
    ka.add_argument("file", help="the agent's configuration (TOML)")
    ka.set_defaults(handler=cmd_keepalived)


def load_or_report(path: str, command: str) -> AgentConfig | None:
    """The configuration, or None after printing why it is invalid."""
    try:
        return load_config(path)
    except (ConfigFileError, ConfigValueError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace) -> int:
    config = load_or_report(args.file, "hacore config check")
    if config is None:
        return 1
    try:
        config.keepalived_config()
    except ConfigError as exc:
        print(f"hacore config check: keepalived: {exc}", file=sys.stderr)
        return 1
    if not args.no_secrets:
        try:
            load_secrets(config)
        except SecretFileError as exc:
            print(f"hacore config check: {exc}", file=sys.stderr)
            return 1
    print(f"{args.file}: valid (node {config.node}, {len(config.cluster.nodes)} nodes)")
    return 0


def cmd_keepalived(args: argparse.Namespace) -> int:
    config = load_or_report(args.file, "hacore config keepalived")
    if config is None:
        return 1
    try:
        sys.stdout.write(config.keepalived_config().render())
    except ConfigError as exc:
        print(f"hacore config keepalived: {exc}", file=sys.stderr)
        return 1
    return 0
