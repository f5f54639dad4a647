"""``hacore notify TYPE NAME STATE PRIORITY``: keepalived's notify-script entry point.

keepalived runs notify scripts asynchronously, possibly concurrently and out
of order, so this command only *forwards* the report: to the local agent's
Unix socket when one listens (one JSON line), otherwise it appends the JSON
line to a record file. The ordered source of truth stays the notify_fifo.
Exit codes: 0 forwarded or recorded, 1 could do neither, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from adapters.keepalived.notify import NotifyArgs, NotifyArgsError, parse_notify_args

DEFAULT_SOCKET = "/run/hacore/agent.sock"
DEFAULT_RECORD = "/run/hacore/notify.jsonl"
SOCKET_ENV = "HACORE_AGENT_SOCKET"
RECORD_ENV = "HACORE_NOTIFY_RECORD"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "notify",
        help="keepalived notify-script entry point (forwards to the local agent)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("args", nargs="*", metavar="TYPE NAME STATE PRIORITY")
    p.add_argument(
        "--socket",
        default=None,
        help=f"agent socket (default ${SOCKET_ENV} or {DEFAULT_SOCKET})",
    )
    p.add_argument(
        "--record",
        default=None,
        help=f"record file when no agent listens (default ${RECORD_ENV} or {DEFAULT_RECORD})",
    )
    p.set_defaults(handler=run)


def message(n: NotifyArgs, now: float) -> dict[str, Any]:
    return {
        "source": "keepalived-notify",
        "type": n.type,
        "name": n.name,
        "state": n.state,
        "priority": n.priority,
        "time": now,
        "pid": os.getpid(),
    }


def forward(path: Path, line: bytes, timeout: float = 1.0) -> bool:
    """Send one line to the agent's Unix socket; False if nobody listens."""
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(line)
        return True
    except OSError:
        return False


def record(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write of one line: O_APPEND keeps concurrent lines whole
    finally:
        os.close(fd)


def run(args: argparse.Namespace) -> int:
    try:
        n = parse_notify_args(args.args)
    except NotifyArgsError as exc:
        print(f"hacore notify: {exc}", file=sys.stderr)
        return 2
    sock = Path(args.socket or os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET)
    rec = Path(args.record or os.environ.get(RECORD_ENV) or DEFAULT_RECORD)
    line = (json.dumps(message(n, time.time()), sort_keys=True) + "\n").encode()
    if forward(sock, line):
        return 0
    try:
        record(rec, line)
    except OSError as exc:
        print(
            f"hacore notify: no agent at {sock} and cannot record to {rec}: {exc}", file=sys.stderr
        )
        return 1
    return 0
