"""A STAND-IN for k3s, for tests and the lab: NOT k3s.

k3s cannot be installed on these machines, so the adapter's tests drive this
small server through the same interface the adapter uses for k3s: a start
command, the SQLite datastore (kine's schema, which it creates when the file
is new, as kine does, and checks otherwise), and ``/readyz`` on loopback.
It also writes and reads objects through the datastore (``PUT``/``GET
/objects/NAME``), as kine would on the API server's behalf.

    python -m adapters.k3s.standin_server --datastore PATH --port N
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from adapters.k3s import kine

MAX_BODY = 64 * 1024
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


class StandInK3s(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], datastore: Path) -> None:
        self.datastore = datastore
        self.lock = threading.Lock()
        self.conn = sqlite3.connect(datastore, timeout=2.0, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=wal")
        has_table = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='kine'"
        ).fetchone()
        if has_table is None:
            kine.create_schema(self.conn)
            self.conn.commit()
        kine.check_schema(self.conn)
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    server: StandInK3s

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _name(self) -> str | None:
        if not self.path.startswith("/objects/"):
            return None
        name = self.path[len("/objects/") :]
        if not name or len(name) > 256 or not set(name) <= NAME_CHARS:
            return None
        return "/registry/" + name

    def do_GET(self) -> None:
        if self.path == "/readyz":
            try:
                with self.server.lock:
                    self.server.conn.execute("SELECT count(*) FROM kine").fetchone()
            except sqlite3.Error as exc:
                self._send(500, {"ready": False, "reason": str(exc)})
                return
            self._send(200, {"ready": True, "standin": True})
            return
        name = self._name()
        if name is None:
            self._send(404, {"error": "no such path"})
            return
        with self.server.lock:
            row = self.server.conn.execute(
                "SELECT id, value FROM kine WHERE name = ? ORDER BY id DESC LIMIT 1", (name,)
            ).fetchone()
        if row is None:
            self._send(404, {"error": "no such object"})
            return
        self._send(200, {"revision": row[0], "value": bytes(row[1]).decode(errors="replace")})

    def do_PUT(self) -> None:
        name = self._name()
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        if name is None or not 0 <= length <= MAX_BODY:
            self._send(400, {"error": "bad object name or body length"})
            return
        value = self.rfile.read(length)
        with self.server.lock:
            prev = self.server.conn.execute(
                "SELECT id FROM kine WHERE name = ? ORDER BY id DESC LIMIT 1", (name,)
            ).fetchone()
            cur = self.server.conn.execute(
                "INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease,"
                " value, old_value) VALUES (?, ?, 0, 0, ?, 0, ?, NULL)",
                (name, 1 if prev is None else 0, 0 if prev is None else prev[0], value),
            )
            self.server.conn.commit()
        self._send(200, {"revision": cur.lastrowid})


def _loopback(text: str) -> str:
    if not ipaddress.ip_address(text).is_loopback:
        raise argparse.ArgumentTypeError(f"{text}: the stand-in listens on loopback only")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="k3s STAND-IN (not k3s) for tests")
    parser.add_argument("--datastore", type=Path, required=True, help="kine SQLite file")
    parser.add_argument("--port", type=int, required=True, help="TCP port for /readyz")
    parser.add_argument("--listen", type=_loopback, default="127.0.0.1", help="loopback address")
    args = parser.parse_args(argv)
    try:
        server = StandInK3s((args.listen, args.port), args.datastore)
    except (kine.KineSchemaError, sqlite3.Error, OSError) as exc:
        print(f"k3s stand-in: {exc}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever(poll_interval=0.1)
    server.conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
