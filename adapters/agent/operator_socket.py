"""The local operator socket: one JSON request line, one JSON reply line.

Requests: ``{"op": "status"}``, ``{"op": "switchover", "target": NODE}``,
``{"op": "resolve", "winner": NODE}``, ``{"op": "clear-fault"}``. A line from
``hacore notify`` (``"source": "keepalived-notify"``) is acknowledged with
``ok`` and only logged: the notify_fifo is the ordered source of truth.

The socket's directory must belong to the agent's user and not be writable
by others; the socket is mode 0600. A client refuses a socket that another
user owns (it could be an impostor collecting commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from adapters.agent.ownership import not_ours
from hacore.codec import parse_json

MAX_REQUEST = 4096
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class OperatorSocketError(RuntimeError):
    pass


def _check_dir(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
    st = directory.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise OperatorSocketError(f"{directory}: not a directory")
    problem = not_ours(st)
    if problem:
        raise OperatorSocketError(f"{directory}: {problem}")


class OperatorServer:
    def __init__(self, path: str, handler: Handler, on_notify: Callable[[dict[str, Any]], None]):
        self.path = Path(path)
        self._handler = handler
        self._on_notify = on_notify
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        _check_dir(self.path.parent)
        if self.path.is_socket() and self.path.lstat().st_uid == os.geteuid():
            self.path.unlink()  # a previous agent's, left by a crash
        elif self.path.exists():
            raise OperatorSocketError(f"{self.path}: exists and is not our socket")
        self._server = await asyncio.start_unix_server(self._serve, str(self.path))
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        with contextlib.suppress(FileNotFoundError):
            if self.path.is_socket():
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            reply: dict[str, Any] | None
            try:
                if len(line) > MAX_REQUEST:
                    raise ValueError("request too long")
                request = parse_json(line.decode("utf-8"))  # typed, even deep or huge
                if not isinstance(request, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            else:
                if request.get("source") == "keepalived-notify":
                    self._on_notify(request)
                    writer.write(b"ok\n")
                    await asyncio.wait_for(writer.drain(), 5.0)
                    return
                reply = await asyncio.wait_for(self._handler(request), 30.0)
            writer.write((json.dumps(reply, sort_keys=True) + "\n").encode())
            await asyncio.wait_for(writer.drain(), 5.0)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def request(path: str, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to the agent's socket; its reply (raises OperatorSocketError)."""
    p = Path(path)
    try:
        st = p.lstat()
    except OSError as exc:
        raise OperatorSocketError(f"no agent socket at {p}: {exc.strerror}") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise OperatorSocketError(f"{p}: not a socket")
    if st.st_uid != os.geteuid():
        raise OperatorSocketError(f"{p}: owned by uid {st.st_uid}, not by this user; refused")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(p))
            s.sendall((json.dumps(message) + "\n").encode())
            data = b""
            while not data.endswith(b"\n") and len(data) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        raise OperatorSocketError(f"agent at {p} did not answer: {exc}") from None
    try:
        reply = parse_json(data.decode("utf-8"))
    except ValueError:
        raise OperatorSocketError(f"agent at {p} gave an unreadable reply") from None
    if not isinstance(reply, dict):
        raise OperatorSocketError(f"agent at {p} gave an unreadable reply")
    return reply
