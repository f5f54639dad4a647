"""``hacore notify TYPE NAME STATE PRIORITY``: keepalived's notify-script entry point.

keepalived runs notify scripts asynchronously, possibly concurrently and out
of order, so this command only *forwards* the report: to the local agent's
Unix socket when one listens (one JSON line, acknowledged by the agent with
``ok\\n``), otherwise it appends the JSON line to a record file. The ordered
source of truth stays the notify_fifo.

It runs as root, so it trusts nothing another user could have placed: the
socket must be a socket owned by root (or by the user running this command),
the record directory a real directory of the same owner writable by nobody
else (the default one, or $HACORE_NOTIFY_RECORD's, is created 0700; the
directory of an explicit --record PATH must exist), the record file a
regular file of that owner opened without following a symlink (created
0600). A message counts as delivered only when the agent acknowledged it; a
listener that never answers gets the message recorded instead (the agent may
then see it twice, never zero times).

Exit codes: 0 acknowledged or recorded, 1 could do neither, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

from adapters.keepalived.notify import NotifyArgs, NotifyArgsError, parse_notify_args

DEFAULT_SOCKET = "/run/hacore/agent.sock"
DEFAULT_RECORD = "/run/hacore/notify.jsonl"
SOCKET_ENV = "HACORE_AGENT_SOCKET"
RECORD_ENV = "HACORE_NOTIFY_RECORD"
ACK = b"ok\n"
DIR_MODE = 0o700
FILE_MODE = 0o600


class UntrustedPathError(OSError):
    """A socket, directory or file we were told to use could be another user's."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "notify",
        help="keepalived notify-script entry point (forwards to the local agent)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "args",
        nargs="*",
        metavar="TYPE NAME STATE PRIORITY",
        help="what keepalived passes: GROUP|INSTANCE, its name, the new state, the priority",
    )
    p.add_argument(
        "--socket",
        default=None,
        help=f"agent socket (default ${SOCKET_ENV} or {DEFAULT_SOCKET})",
    )
    p.add_argument(
        "--record",
        default=None,
        help="record file when no agent listens, in an existing directory"
        f" (default: ${RECORD_ENV} or {DEFAULT_RECORD}, whose directory is created 0700)",
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


def trusted_owners() -> frozenset[int]:
    """root, and the user this command runs as (keepalived's script_user)."""
    return frozenset({0, os.geteuid()})


def check_owned(st: os.stat_result, what: str, path: Path) -> None:
    """Refuse what another user owns or may write (group/other write bits)."""
    if st.st_uid not in trusted_owners():
        raise UntrustedPathError(f"{what} {path} is owned by uid {st.st_uid}, not root or us")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedPathError(
            f"{what} {path} is writable by others (mode {stat.S_IMODE(st.st_mode):o})"
        )


def forward(path: Path, line: bytes, timeout: float = 1.0) -> bool:
    """Send one line to the agent's Unix socket; True only once the agent acknowledged it.

    False when nobody listens or the listener does not answer ``ok`` within
    ``timeout``; UntrustedPathError when the path is not a socket we trust.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise UntrustedPathError(f"agent socket {path} is not a socket (or is a symlink)")
    check_owned(st, "agent socket", path)
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(line)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while len(reply) < len(ACK):
                s.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = s.recv(len(ACK) - len(reply))
                if not chunk:
                    break
                reply += chunk
        return reply == ACK
    except OSError:  # refused, reset, timed out: not delivered
        return False


def _open_dir(directory: Path) -> int:
    """An fd of the record directory, created 0700 if missing; never a symlink."""
    try:
        os.mkdir(directory, DIR_MODE)
    except FileExistsError:
        pass
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        check_owned(os.fstat(fd), "record directory", directory)
    except BaseException:
        os.close(fd)
        raise
    return fd


def record(path: Path, line: bytes) -> None:
    """Append one line to the record file (0600, in a 0700 directory, no symlinks)."""
    dir_fd = _open_dir(path.parent)
    try:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path.name, flags, FILE_MODE, dir_fd=dir_fd)
        except OSError as exc:
            if os.path.islink(path):
                raise UntrustedPathError(f"record file {path} is a symlink") from exc
            raise
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UntrustedPathError(f"record file {path} is not a regular file")
        check_owned(st, "record file", path)
        if stat.S_IMODE(st.st_mode) & ~FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # ours, but left readable by an older version
        written = os.write(fd, line)  # one write of one line: O_APPEND keeps lines whole
        if written != len(line):
            raise OSError(f"short write to {path} ({written} of {len(line)} bytes)")
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
    if args.record and not rec.parent.is_dir():
        # A path given on the command line is taken as written: a typo must
        # not make a new directory somewhere (as root) that nobody looks in.
        print(
            f"hacore notify: --record {args.record}: no directory {rec.parent}"
            " (create it first; --record never creates one)",
            file=sys.stderr,
        )
        return 2
    line = (json.dumps(message(n, time.time()), sort_keys=True) + "\n").encode()
    try:
        if forward(sock, line):
            return 0
    except UntrustedPathError as exc:
        print(f"hacore notify: not forwarding: {exc}", file=sys.stderr)
    try:
        record(rec, line)
    except OSError as exc:
        print(
            f"hacore notify: no agent acknowledged at {sock} and cannot record to {rec}: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0
