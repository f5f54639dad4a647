"""hacore.ports.K3sPort: k3s driven through its documented interface.

* ``start_command``: the argv that runs the server in the foreground (for
  k3s: ``k3s server --datastore-endpoint=sqlite://…``; in tests the STAND-IN,
  ``python -m adapters.k3s.standin_server``). We start it in its own session
  and keep its PID (with start time and boot id: a reused PID is never
  signalled).
* ``stop_command`` (optional: a stop script of the installation); without it, SIGTERM
  by PID. A server that has not left by the deadline is :class:`Uncertain`;
  a later ``stop`` escalates to SIGKILL once ``kill_after_s`` has passed since
  the SIGTERM (k3s gets its graceful shutdown first).
* ``datastore``: kine's ``state.db``. With ``replica_expected`` the adapter
  refuses to start k3s on a missing or empty datastore (an explicit
  :class:`Failed`): that would hand the cluster an empty state.
* ``readyz_port``: readiness is HTTP 200 on ``http://127.0.0.1:PORT/readyz``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adapters.k3s.errors import K3sPidRecordError
from adapters.k3s.kine import KineSchemaError, read_rows
from adapters.lab.lab import _pid_alive, boot_id, identity_problem, proc_start_time
from hacore.ports import Done, Failed, Outcome, Uncertain


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


@dataclass
class K3sAdapter:
    start_command: tuple[str, ...]
    datastore: Path
    readyz_port: int
    state_dir: Path  # ours: k3s.json (PID record), k3s.log
    stop_command: tuple[str, ...] = ()
    replica_expected: bool = False
    kill_after_s: float = 10.0
    clock_us: Callable[[], int] = field(default=monotonic_us)
    margin_s: float = 0.2

    def __post_init__(self) -> None:
        if not self.start_command:
            raise ValueError("k3s start_command is empty")
        if not 0 < self.readyz_port < 65536:
            raise ValueError(f"readyz_port {self.readyz_port} is not a TCP port")

    # --------------------------------------------------------------- pid --

    @property
    def _record_path(self) -> Path:
        return self.state_dir / "k3s.json"

    def _record(self) -> dict[str, object] | None:
        """The PID record; None when there is none. Damage is K3sPidRecordError."""
        try:
            text = self._record_path.read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise K3sPidRecordError(f"{self._record_path}: unreadable PID record ({exc})") from None
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise K3sPidRecordError(f"{self._record_path}: damaged PID record ({exc})") from None
        if not isinstance(raw, dict):
            raise K3sPidRecordError(f"{self._record_path}: PID record is not a JSON object")
        pid, start, boot = raw.get("pid"), raw.get("start"), raw.get("boot")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            raise K3sPidRecordError(f"{self._record_path}: PID record has no valid pid ({pid!r})")
        if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
            raise K3sPidRecordError(
                f"{self._record_path}: PID record start {start!r} is not a tick count"
            )
        if not isinstance(boot, str):
            raise K3sPidRecordError(f"{self._record_path}: PID record boot id {boot!r} is not text")
        return raw

    def pid(self) -> int | None:
        """The server we started, while alive and still that process
        (K3sPidRecordError when the record is damaged)."""
        rec = self._record()
        if rec is None:
            return None
        pid, start = rec["pid"], rec.get("start")
        assert isinstance(pid, int)
        if not _pid_alive(pid):
            return None
        start_i = start if isinstance(start, int) else None
        if identity_problem(pid, start_i, str(rec["boot"]), "k3s"):
            return None
        return pid

    def _write_record(self, record: dict[str, object]) -> None:
        tmp = self._record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record) + "\n")
        os.replace(tmp, self._record_path)

    # ----------------------------------------------------------- readyz --

    def _readyz(self, timeout_s: float) -> Outcome:
        conn = http.client.HTTPConnection("127.0.0.1", self.readyz_port, timeout=timeout_s)
        try:
            conn.request("GET", "/readyz")
            status = conn.getresponse().status
        except TimeoutError:
            return Uncertain(f"/readyz gave no answer within {timeout_s:.1f} s")
        except (ConnectionError, socket.gaierror, http.client.HTTPException, OSError) as exc:
            return Failed(f"/readyz not answering ({exc.__class__.__name__}: {exc})")
        finally:
            conn.close()
        if status == 200:
            return Done(detail="/readyz 200")
        return Failed(f"/readyz answered {status}")

    def _left_s(self, deadline: int) -> float:
        return (deadline - self.clock_us()) / 1e6 - self.margin_s

    # ------------------------------------------------------------ the port --

    def ready(self, *, key: str, deadline: int) -> Outcome:
        left = self._left_s(deadline)
        if left <= 0:
            return Uncertain("ready: deadline passed before asking /readyz")
        return self._readyz(left)

    def _empty_datastore_problem(self) -> str | None:
        if not self.replica_expected:
            return None
        try:
            rows = read_rows(self.datastore)
        except KineSchemaError as exc:
            return f"datastore {self.datastore}: {exc}"
        if not rows:
            return (
                f"datastore {self.datastore} is missing or empty while a replica was "
                "expected: refusing to start k3s on an empty database (restore it first)"
            )
        return None

    def start(self, *, key: str, deadline: int) -> Outcome:
        try:
            return self._start(deadline)
        except K3sPidRecordError as exc:
            return Failed(
                f"start refused: {exc}; k3s may still be running, check it and remove the record"
            )

    def stop(self, *, key: str, deadline: int) -> Outcome:
        try:
            return self._stop(deadline)
        except K3sPidRecordError as exc:
            return Failed(f"stop refused: {exc}; cannot tell which process to stop")

    def _start(self, deadline: int) -> Outcome:
        left = self._left_s(deadline)
        if left <= 0:
            return Uncertain("start: deadline passed before it began")
        pid = self.pid()
        if pid is None:
            problem = self._empty_datastore_problem()
            if problem:
                return Failed(f"start: {problem}")
            self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self.state_dir / "k3s.log", "ab") as log:
                proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                    list(self.start_command),
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            pid = proc.pid
            self._write_record({"pid": pid, "start": proc_start_time(pid), "boot": boot_id()})
        end = time.monotonic() + left
        last: Outcome = Uncertain("start: not ready yet")
        while time.monotonic() < end:
            if not _pid_alive(pid):
                return Failed(f"start: k3s exited (see {self.state_dir / 'k3s.log'})")
            last = self._readyz(max(0.05, min(1.0, end - time.monotonic())))
            if isinstance(last, Done):
                return Done(detail=f"k3s pid {pid} ready")
            time.sleep(0.05)
        reason = last.reason if isinstance(last, Failed | Uncertain) else ""
        return Uncertain(f"start: k3s pid {pid} not ready by the deadline ({reason})")

    def _stop(self, deadline: int) -> Outcome:
        left = self._left_s(deadline)
        if left <= 0:
            return Uncertain("stop: deadline passed before it began")
        pid = self.pid()
        if pid is None:
            return Done(detail="k3s not running")
        rec = self._record() or {}
        term_at = rec.get("term_at")
        if isinstance(term_at, float) and time.time() - term_at >= self.kill_after_s:
            try:
                os.killpg(pid, signal.SIGKILL)  # it had its graceful chance
            except ProcessLookupError:
                pass
        else:
            if self.stop_command:
                try:
                    proc = subprocess.run(  # noqa: S603 - argv list, never a shell
                        list(self.stop_command), timeout=left, check=False, capture_output=True
                    )
                except subprocess.TimeoutExpired:
                    return Uncertain(f"stop: {self.stop_command[0]} ran past the deadline")
                if proc.returncode != 0:
                    return Failed(f"stop: {self.stop_command[0]} exited {proc.returncode}")
            elif _pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
            if not isinstance(term_at, float):
                self._write_record({**rec, "term_at": time.time()})
        end = time.monotonic() + max(0.0, self._left_s(deadline))
        while time.monotonic() < end:
            if not _pid_alive(pid):
                return Done(detail=f"k3s pid {pid} stopped")
            time.sleep(0.02)
        return Uncertain(
            f"stop: k3s pid {pid} still running at the deadline; a later stop SIGKILLs it "
            f"{self.kill_after_s:.0f} s after the SIGTERM"
        )
