"""``hacore lab ...``: a real keepalived cluster in network namespaces (needs root).

    hacore lab up --nodes N [--witness] [--galera] [--gluster] [--advert-int S]
                  [--name NAME]
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

Every subcommand takes --name (default "lab": letters, digits, - and _) and
--state-dir (default /run/hacore-lab/NAME). A successful partition, isolate,
heal, loss, kill, restart or down prints one line saying what it did.

Exit codes: 0 done; 1 the lab operation was tried and failed; 2 the command
cannot be carried out as given: bad usage, an unknown lab or node, a bad
value, a state directory that is missing or not writable, not root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from adapters.keepalived.config import ConfigError
from adapters.lab.galera_cli import galera_status_lines, galera_up
from adapters.lab.gluster import GlusterLab, gluster_status_lines
from adapters.lab.lab import Lab, default_nodes
from adapters.lab.net import LabError
from hacore.timefmt import seconds

# A lab's name becomes a directory name and part of messages: no slash, no
# space, no dot-dot, nothing a shell or a path would read differently.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


class UsageError(ValueError):
    pass


def lab_name(text: str) -> str:
    """argparse type of --name."""
    if not NAME_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a lab name is 1-32 letters, digits, - or _ (starting with a letter or"
            " digit)"
        )
    return text


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", type=lab_name, default="lab", help="the lab's name (default: lab)")
    p.add_argument(
        "--state-dir", default=None, help="state directory (default: /run/hacore-lab/NAME)"
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
    up.add_argument(
        "--nodes", type=int, default=2, help="number of keepalived nodes, 1..32 (default: 2)"
    )
    up.add_argument(
        "--witness", action="store_true", help="add a witness namespace, no VRRP (default: off)"
    )
    up.add_argument(
        "--advert-int", default="0.1", help="advert_int in seconds, >= 0.01 (default: 0.1)"
    )
    up.add_argument(
        "--priorities",
        default=None,
        help="comma-separated priorities, one a node (default: 150, 140, ... down the nodes)",
    )
    up.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for a master (default: 15)"
    )
    up.add_argument(
        "--galera",
        action="store_true",
        help="also run MariaDB Galera on every node, with --witness garbd on the witness"
        " (default: off)",
    )
    up.add_argument(
        "--gluster",
        action="store_true",
        help="also run glusterd on every node: one trusted pool, a replica volume mounted on"
        " each node (default: off)",
    )
    st = add("status", cmd_status, "nodes, VRRP states, VIP holder, cuts and loss rules")
    st.add_argument("--json", action="store_true", help="one JSON object (default: a table)")
    pa = add("partition", cmd_partition, "partition the nodes: A,B|C")
    pa.add_argument("spec", help="groups separated by |, nodes by , (unnamed nodes: one group)")
    iso = add("isolate", cmd_isolate, "cut one node from all others")
    iso.add_argument("node", help="the node to cut off")
    add("heal", cmd_heal, "remove every partition and loss rule")
    lo = add("loss", cmd_loss, "random packet loss on a node")
    lo.add_argument("node", help="the node whose packets are dropped")
    lo.add_argument("pct", help="percent 0..100")
    ki = add("kill", cmd_kill, "SIGKILL a node's keepalived process group")
    ki.add_argument("node", help="the node to crash")
    re_ = add("restart", cmd_restart, "(re)start a node's keepalived")
    re_.add_argument("node", help="the node to (re)start")
    add("down", cmd_down, "tear the lab down, leaving nothing behind")
    lab.set_defaults(handler=lambda _a: (lab.print_help(sys.stderr), 2)[1])


def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every lab command: root first, then the command; each failure is one line."""

    def run(args: argparse.Namespace) -> int:
        try:
            if os.geteuid() != 0:
                raise UsageError(
                    f"lab {args.lab_command} needs root (network namespaces, nftables):"
                    " run it as root"
                )
            return fn(args)
        except (UsageError, ConfigError) as exc:
            print(f"hacore lab: {exc}", file=sys.stderr)
            return 2
        except LabError as exc:
            print(f"hacore lab: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:  # a file or process the operation needed; never a traceback
            where = f": {exc.filename}" if exc.filename else ""
            print(f"hacore lab: {args.lab_command}: {exc.strerror or exc}{where}", file=sys.stderr)
            return 1

    return run


def _load(args: argparse.Namespace) -> Lab:
    """The lab named by --name/--state-dir; an unknown or unreadable one is bad input."""
    try:
        return Lab.load(args.name, args.state_dir)
    except LabError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, TypeError, KeyError, ValueError) as exc:
        path = Lab.state_dir_for(args.name, args.state_dir) / "lab.json"
        raise UsageError(f"{path}: cannot read the lab's state: {exc}") from None


def _node(lab: Lab, name: str, *, witness_ok: bool = False) -> str:
    """``name`` if it is a node of the lab, or its witness ``w`` where one may be
    named (exit 2 otherwise)."""
    known = [n.name for n in lab.state.nodes]
    if witness_ok and lab.state.witness:
        known.append("w")
    if name not in known:
        raise UsageError(f"no node {name!r} in lab {lab.state.name!r} (nodes: {', '.join(known)})")
    return name


def _state_dir_problem(state_dir: str) -> str:
    """Why ``lab up`` cannot keep its state in ``state_dir``, or ""."""
    target = os.path.abspath(state_dir)
    if os.path.exists(target):
        if not os.path.isdir(target):
            return "it is not a directory"
        if not os.access(target, os.W_OK | os.X_OK):
            return "the directory is not writable"
        return ""
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        return f"no directory {parent}"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    return ""


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
    if args.gluster and args.nodes < 2:
        raise UsageError("--gluster: a replica volume needs --nodes 2 or more")
    if args.state_dir is not None:
        why = _state_dir_problem(args.state_dir)
        if why:
            raise UsageError(
                f"--state-dir {args.state_dir}: cannot keep the lab's state there: {why}"
            )
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
    if args.gluster:
        gluster_up(lab)
    st = lab.status()
    print(f"lab {st['name']} up: prefix {st['prefix']}, master {', '.join(st['masters'])}")
    print(f"state: {st['state_dir']}")
    return 0


def gluster_up(lab: Lab) -> GlusterLab:
    """Start Gluster in a lab that is up; on failure the whole lab is taken down."""
    try:
        return GlusterLab.up(lab)
    except BaseException:
        lab.down()
        raise


def cmd_status(args: argparse.Namespace) -> int:
    st = _load(args).status()
    if args.json:
        print(json.dumps(st, indent=2, sort_keys=True))
        return 0
    advert = seconds(int(float(st["advert_int"]) * 1_000_000))
    print(f"lab {st['name']} (prefix {st['prefix']}, advert_int {advert})")
    holders = [n["name"] for n in st["nodes"] if n["has_vip"]]
    print(f"VIP {st['vip']}: held by {', '.join(holders) or 'nobody'}")
    if st.get("witness"):
        print(f"witness {st['witness']}")
    print(f"{'node':6} {'ip':12} {'prio':>4} {'state':8} {'pid':>7} {'loss':>5} vip")
    for n in st["nodes"]:
        pid = n["keepalived_pid"] or "-"
        vip = "VIP" if n["has_vip"] else ""
        loss = f"{n['loss_pct']}%"
        print(
            f"{n['name']:6} {n['ip']:12} {n['priority']:>4} {n['vrrp_state']:8} {pid:>7}"
            f" {loss:>5} {vip}".rstrip()
        )
    print("cuts: " + (" ".join(f"{a}->{b}" for a, b in st["cuts"]) or "none"))
    lossy = [f"{n['name']} {n['loss_pct']}%" for n in st["nodes"] if n["loss_pct"]]
    print("loss rules: " + (", ".join(lossy) or "none"))
    if st["split_brain"]:
        print(f"SPLIT BRAIN: masters {', '.join(st['masters'])}")
    for line in galera_status_lines(st):
        print(line)
    for line in gluster_status_lines(st):
        print(line)
    return 0


def cmd_partition(args: argparse.Namespace) -> int:
    lab = _load(args)
    groups = parse_partition(args.spec)
    named = [_node(lab, name, witness_ok=True) for group in groups for name in group]
    if len(set(named)) != len(named):
        raise UsageError("partition: a node appears in two groups")
    lab.partition(groups)
    shown = " | ".join(",".join(g) for g in groups)
    print(f"lab {lab.state.name}: partitioned {shown} (both directions cut between groups)")
    return 0


def cmd_isolate(args: argparse.Namespace) -> int:
    lab = _load(args)
    lab.isolate(_node(lab, args.node))
    print(f"lab {lab.state.name}: isolated {args.node} from every other member")
    return 0


def cmd_heal(args: argparse.Namespace) -> int:
    lab = _load(args)
    cuts, lossy = len(lab.state.cuts), sum(1 for v in lab.state.loss.values() if v)
    lab.heal()
    print(f"lab {lab.state.name}: healed ({cuts} cut links and {lossy} loss rules removed)")
    return 0


def cmd_loss(args: argparse.Namespace) -> int:
    try:
        pct = int(args.pct)
    except ValueError:
        raise UsageError(f"loss: PCT must be an integer 0..100, got {args.pct!r}") from None
    if not 0 <= pct <= 100:
        raise UsageError(f"loss: PCT must be an integer 0..100, got {pct}")
    lab = _load(args)
    lab.set_loss(_node(lab, args.node, witness_ok=True), pct)
    print(f"lab {lab.state.name}: {args.node} drops {pct}% of its packets")
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    lab = _load(args)
    pid = lab.node(_node(lab, args.node)).keepalived_pid
    lab.kill(args.node)
    print(f"lab {lab.state.name}: killed {args.node}'s keepalived (process group {pid})")
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    lab = _load(args)
    lab.restart(_node(lab, args.node))
    pid = lab.node(args.node).keepalived_pid
    print(f"lab {lab.state.name}: restarted {args.node}'s keepalived (pid {pid})")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    lab = _load(args)
    problems = lab.down()
    for problem in problems:
        print(f"hacore lab: {problem}", file=sys.stderr)
    if problems:
        print("hacore lab: the rest of the lab was removed", file=sys.stderr)
        return 1
    print(f"lab {lab.state.name}: down (namespaces, links, tables, processes and state removed)")
    return 0
