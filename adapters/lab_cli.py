"""``hacore lab ...``: a real keepalived cluster in network namespaces (needs root).

    hacore lab up --nodes N [--witness] [--galera] [--advert-int S] [--name NAME]
    hacore lab status [--json]
    hacore lab partition A,B|C       cut both directions between the groups
    hacore lab isolate NODE
    hacore lab heal                  remove every partition and loss rule
    hacore lab loss NODE PCT         drop PCT % of the node's packets (nft numgen)
    hacore lab kill NODE             SIGKILL keepalived's process group (a crash)
    hacore lab restart NODE
    hacore lab down                  remove every namespace, link, table, process

A PID in the lab's state is signalled only while it is still the process the
lab started (start time and boot id recorded at launch); a reused PID is left
alone and reported (kill/restart exit 1, down removes the rest and exits 1).

Every subcommand takes --name (default "lab") and --state-dir (default
/run/hacore-lab/NAME). Exit codes: 0 done, 1 the lab operation failed, 2 bad
usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from adapters.keepalived.config import ConfigError
from adapters.lab.galera_cli import galera_status_lines, galera_up
from adapters.lab.lab import Lab, default_nodes
from adapters.lab.net import LabError


class UsageError(ValueError):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="lab", help="the lab's name (default: lab)")
    p.add_argument(
        "--state-dir", default=None, help="state directory (default /run/hacore-lab/NAME)"
    )


def register(subparsers: Any) -> None:
    lab = subparsers.add_parser(
        "lab",
        help="real keepalived nodes in network namespaces (root)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = lab.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_)
        _common(p)
        p.set_defaults(handler=_guard(fn))
        return p

    up = add("up", cmd_up, "create the lab and wait for one master")
    up.add_argument("--nodes", type=int, default=2, help="number of keepalived nodes (1..32)")
    up.add_argument("--witness", action="store_true", help="add a witness namespace (no VRRP)")
    up.add_argument("--advert-int", default="0.1", help="advert_int in seconds (>= 0.01)")
    up.add_argument("--priorities", default=None, help="comma-separated priorities, one a node")
    up.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a master")
    up.add_argument(
        "--galera",
        action="store_true",
        help="also run MariaDB Galera on every node (with --witness: garbd on the witness)",
    )
    st = add("status", cmd_status, "nodes, VRRP states, VIP holder")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    pa = add("partition", cmd_partition, "partition the nodes: A,B|C")
    pa.add_argument("spec", help="groups separated by |, nodes by , (unnamed nodes: one group)")
    iso = add("isolate", cmd_isolate, "cut one node from all others")
    iso.add_argument("node")
    add("heal", cmd_heal, "remove every partition and loss rule")
    lo = add("loss", cmd_loss, "random packet loss on a node")
    lo.add_argument("node")
    lo.add_argument("pct", help="percent 0..100")
    ki = add("kill", cmd_kill, "SIGKILL a node's keepalived process group")
    ki.add_argument("node")
    re_ = add("restart", cmd_restart, "(re)start a node's keepalived")
    re_.add_argument("node")
    add("down", cmd_down, "tear the lab down, leaving nothing behind")
    lab.set_defaults(handler=lambda _a: (lab.print_help(), 2)[1])


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (UsageError, ConfigError) as exc:
            print(f"hacore lab: {exc}", file=sys.stderr)
            return 2
        except LabError as exc:
            print(f"hacore lab: {exc}", file=sys.stderr)
            return 1

    return run


def _load(args: argparse.Namespace) -> Lab:
    return Lab.load(args.name, args.state_dir)


def parse_partition(spec: str) -> list[list[str]]:
    groups = [[x.strip() for x in g.split(",") if x.strip()] for g in spec.split("|")]
    if len(groups) < 2 or any(not g for g in groups):
        raise UsageError(f"partition: expected groups like A,B|C, got {spec!r}")
    return groups


def cmd_up(args: argparse.Namespace) -> int:
    priorities = None
    if args.priorities:
        try:
            priorities = [int(x) for x in args.priorities.split(",")]
        except ValueError:
            msg = f"--priorities: integers separated by commas, got {args.priorities!r}"
            raise UsageError(msg) from None
    try:
        nodes = default_nodes(args.nodes, priorities)
    except LabError as exc:
        raise UsageError(str(exc)) from None
    lab = Lab.up(
        nodes,
        name=args.name,
        advert_int=args.advert_int,
        witness=args.witness,
        state_dir=args.state_dir,
        wait_timeout=args.timeout,
    )
    if args.galera:
        galera_up(lab, witness=args.witness)
    st = lab.status()
    print(f"lab {st['name']} up: prefix {st['prefix']}, master {', '.join(st['masters'])}")
    print(f"state: {st['state_dir']}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    st = _load(args).status()
    if args.json:
        print(json.dumps(st, indent=2, sort_keys=True))
        return 0
    print(f"lab {st['name']} (prefix {st['prefix']}, advert_int {st['advert_int']} s)")
    print(f"{'node':6} {'ip':12} {'prio':>4} {'state':8} {'pid':>7} vip")
    for n in st["nodes"]:
        pid = n["keepalived_pid"] or "-"
        vip = "VIP" if n["has_vip"] else ""
        print(f"{n['name']:6} {n['ip']:12} {n['priority']:>4} {n['vrrp_state']:8} {pid:>7} {vip}")
    if st["cuts"]:
        print("cuts: " + " ".join(f"{a}->{b}" for a, b in st["cuts"]))
    if st["split_brain"]:
        print(f"SPLIT BRAIN: masters {', '.join(st['masters'])}")
    for line in galera_status_lines(st):
        print(line)
    return 0


def cmd_partition(args: argparse.Namespace) -> int:
    _load(args).partition(parse_partition(args.spec))
    return 0


def cmd_isolate(args: argparse.Namespace) -> int:
    _load(args).isolate(args.node)
    return 0


def cmd_heal(args: argparse.Namespace) -> int:
    _load(args).heal()
    return 0


def cmd_loss(args: argparse.Namespace) -> int:
    try:
        pct = int(args.pct)
    except ValueError:
        raise UsageError(f"loss: PCT must be an integer 0..100, got {args.pct!r}") from None
    if not 0 <= pct <= 100:
        raise UsageError(f"loss: PCT must be an integer 0..100, got {pct}")
    _load(args).set_loss(args.node, pct)
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    _load(args).kill(args.node)
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    _load(args).restart(args.node)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    problems = _load(args).down()
    for problem in problems:
        print(f"hacore lab: {problem}", file=sys.stderr)
    if problems:
        print("hacore lab: the rest of the lab was removed", file=sys.stderr)
        return 1
    return 0
