"""mariadbd as a process the agent owns: start, recover the position, stop by PID.

The agent, not init, starts MariaDB, so it always knows the PID it started (kept
in ``mariadbd.json`` beside the data with the process's start time and the boot
id: a PID reused after a crash is never signalled). ``launcher`` is an argv
prefix that places the daemon (the lab's ``ip netns exec NS launch.py DIR``);
``inner_root`` is the node directory as the daemon sees it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.galera.errors import ServerError
from adapters.galera.state_files import Grastate, Position, parse_recovered_position, read_grastate
from adapters.lab.lab import _pid_alive, boot_id, identity_problem, proc_start_time, stop_pid

RECOVER_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class StopResult:
    graceful: bool  # False: SIGTERM was not enough within the budget, SIGKILL followed
    was_running: bool
    seconds: float


@dataclass(frozen=True)
class Server:
    root: Path  # host-side node directory: my.cnf, data/, mysqld.sock, error.log
    launcher: tuple[str, ...] = ()
    inner_root: str | None = None

    @property
    def inner(self) -> str:
        return self.inner_root if self.inner_root is not None else str(self.root)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    @property
    def grastate_path(self) -> Path:
        return self.datadir / "grastate.dat"

    def log_offset(self) -> int:
        """Where the error log ends now (to read what a later start writes)."""
        try:
            return self.error_log.stat().st_size
        except FileNotFoundError:
            return 0

    def state_transfer_since(self, offset: int) -> str | None:
        """ "IST" or "SST" when the joiner logged a completed transfer after ``offset``
        (rsync method: "SST received" is logged for both, so it is no evidence)."""
        try:
            with open(self.error_log, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return None
        if "rsync SST completed on joiner" in text:
            return "SST"
        if "rsync IST completed on joiner" in text or "Receiving IST" in text:
            return "IST"
        return None

    def grastate(self) -> Grastate | None:
        return read_grastate(self.grastate_path)

    # --------------------------------------------------------------- pids --

    def _record_path(self) -> Path:
        return self.root / "mariadbd.json"

    def _record(self) -> tuple[int, int | None, str] | None:
        try:
            raw = json.loads(self._record_path().read_text())
            return int(raw["pid"]), raw.get("start"), str(raw.get("boot", ""))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerError(f"{self._record_path()}: unreadable PID record ({exc})") from None

    def pid(self) -> int | None:
        """The PID of the mariadbd we started, while it is alive and still that process."""
        rec = self._record()
        if rec is None or not _pid_alive(rec[0]):
            return None
        problem = identity_problem(rec[0], rec[1], rec[2], f"{self.root.name}: mariadbd")
        return None if problem else rec[0]

    def running(self) -> bool:
        return self.pid() is not None

    def _spawn(self, args: Sequence[str], out_name: str) -> subprocess.Popen[bytes]:
        argv = [*self.launcher, "mariadbd", f"--defaults-file={self.inner}/my.cnf", *args]
        with open(self.root / out_name, "ab") as out:
            return subprocess.Popen(  # noqa: S603 - argv list
                argv,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    # ----------------------------------------------------------- actions --

    def start(self, *, new_cluster: bool = False, start_position: Position | None = None) -> int:
        """Start mariadbd (idempotent: a running one is left alone). Returns its PID."""
        pid = self.pid()
        if pid is not None:
            return pid
        args: list[str] = []
        if new_cluster:
            args.append("--wsrep-new-cluster")
        if start_position is not None:
            args.append(f"--wsrep-start-position={start_position}")
        proc = self._spawn(args, "mariadbd.out")
        record = {"pid": proc.pid, "start": proc_start_time(proc.pid), "boot": boot_id()}
        tmp = self._record_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(record) + "\n")
        os.replace(tmp, self._record_path())
        return proc.pid

    @property
    def standalone_socket(self) -> Path:
        return self.root / "standalone.sock"

    def start_standalone(self) -> subprocess.Popen[bytes]:
        """mariadbd without Galera (wsrep off, no provider), without networking, on a
        private socket: to read a stopped node's rows (a quarantine dump) without
        joining anything or serving a client. Refused while the node runs; not recorded
        as the node's server (the caller stops it: :meth:`stop_standalone`)."""
        if self.running():
            raise ServerError(f"{self.root.name}: mariadbd is running; no standalone start")
        i = self.inner
        self.standalone_socket.unlink(missing_ok=True)
        return self._spawn(
            [
                "--wsrep-on=OFF",
                "--wsrep-provider=none",
                "--skip-networking",
                f"--socket={i}/standalone.sock",
                f"--pid-file={i}/standalone.pid",
                f"--log-error={i}/standalone.log",
            ],
            "standalone.out",
        )

    def stop_standalone(self, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def kill(self) -> None:
        """SIGKILL (a crash), for tests and the lab."""
        pid = self.pid()
        if pid is None:
            raise ServerError(f"{self.root.name}: mariadbd is not running")
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self, timeout: float = 30.0) -> StopResult:
        """SIGTERM, then SIGKILL after ``timeout`` s (a node stuck joining a non-Primary
        component may ignore SIGTERM). Idempotent: nothing running is success."""
        t0 = time.monotonic()
        pid = self.pid()
        if pid is None:
            return StopResult(True, False, 0.0)
        stop_pid(pid, timeout=timeout)
        if _pid_alive(pid):
            raise ServerError(f"{self.root.name}: mariadbd pid {pid} survived SIGKILL")
        elapsed = time.monotonic() - t0
        return StopResult(elapsed < timeout, True, elapsed)

    def recover(self, timeout: float = RECOVER_TIMEOUT_S) -> Position:
        """``mariadbd --wsrep-recover``: the position InnoDB holds. Refused while running
        (never recover a live node's datadir). Reads a fresh log file, so an older run's
        line cannot be mistaken for this one's."""
        if self.running():
            raise ServerError(f"{self.root.name}: mariadbd is running; not recovering its datadir")
        log = self.root / "recover.log"
        log.unlink(missing_ok=True)
        proc = self._spawn(
            [f"--log-error={self.inner}/recover.log", "--wsrep-recover"], "recover.out"
        )
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
            raise ServerError(f"{self.root.name}: --wsrep-recover took over {timeout} s") from None
        try:
            text = log.read_text(errors="replace")
        except FileNotFoundError:
            raise ServerError(
                f"{self.root.name}: --wsrep-recover wrote no log (exit {proc.returncode})"
            ) from None
        return parse_recovered_position(text, log)
