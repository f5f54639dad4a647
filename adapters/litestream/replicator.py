"""``litestream replicate`` as a process we own: started in its own session,
its PID recorded with its start time and boot id (a reused PID is never
signalled), stopped by that PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.lab.lab import _pid_alive, boot_id, identity_problem, proc_start_time
from adapters.litestream import command, outputs
from adapters.litestream.config import LitestreamConfig, render
from adapters.litestream.errors import LitestreamError, LitestreamOutputError, LitestreamTimeout


@dataclass(frozen=True)
class Replicator:
    config: LitestreamConfig
    state_dir: Path  # ours: litestream.yml, replicate.json (the PID record), replicate.log
    binary: str = "litestream"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "litestream.yml"

    @property
    def _record_path(self) -> Path:
        return self.state_dir / "replicate.json"

    def write_config(self) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(render(self.config))
        os.replace(tmp, self.config_path)

    def pid(self) -> int | None:
        """The replicate we started, while alive and still that process."""
        try:
            raw = json.loads(self._record_path.read_text())
            pid, start, boot = int(raw["pid"]), raw.get("start"), str(raw.get("boot", ""))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise LitestreamError(f"{self._record_path}: unreadable PID record ({exc})") from None
        if not _pid_alive(pid):
            return None
        if identity_problem(pid, start if isinstance(start, int) else None, boot, "replicate"):
            return None
        return pid

    def start(self) -> int:
        """Start replicate (a running one is left alone); returns its PID."""
        pid = self.pid()
        if pid is not None:
            return pid
        self.write_config()
        with open(self.state_dir / "replicate.log", "ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - argv list
                [self.binary, "replicate", "-config", str(self.config_path)],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        record = {"pid": proc.pid, "start": proc_start_time(proc.pid), "boot": boot_id()}
        tmp = self._record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record) + "\n")
        os.replace(tmp, self._record_path)
        return proc.pid

    def sync(self, *, timeout_s: float) -> outputs.SyncSummary:
        """Ship what the WAL holds now and wait for the replica to have it."""
        budget = max(1, int(timeout_s))
        result = command.run(
            [
                self.binary,
                "sync",
                "-socket",
                str(self.config.socket),
                "-wait",
                "-timeout",
                str(budget),
                "-json",
                str(self.config.database),
            ],
            timeout_s=timeout_s,
        )
        summary = outputs.parse_sync(result.stdout)
        if summary.db_path != str(self.config.database):
            raise LitestreamOutputError(
                f"sync answered for {summary.db_path!r}, not {str(self.config.database)!r}"
            )
        return summary

    def wait_synced(self, *, until: float) -> outputs.SyncSummary:
        """Retry sync until the socket answers and the replica is level, by ``until``
        (time.monotonic()); the last error otherwise."""
        last: LitestreamError | None = None
        while True:
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                summary = self.sync(timeout_s=left)
                if summary.replica_txid >= summary.txid:
                    return summary
                last = LitestreamError(f"replica at {summary.replica_txid} < {summary.txid}")
            except LitestreamError as exc:
                last = exc
            if not _pid_alive(self.pid()):
                raise LitestreamError(f"replicate exited (see {self.state_dir}/replicate.log)")
            time.sleep(min(0.05, max(0.0, until - time.monotonic())))
        raise LitestreamTimeout(f"replica not level by the deadline: {last or 'no time left'}")

    def stop(self, *, timeout_s: float) -> bool:
        """SIGTERM, then SIGKILL of its group after ``timeout_s``. True when it
        left on SIGTERM (litestream shuts down cleanly on it)."""
        pid = self.pid()
        if pid is None:
            return True
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        end = time.monotonic() + max(0.0, timeout_s)
        while time.monotonic() < end:
            if not _pid_alive(pid):
                return True
            time.sleep(0.01)
        self.kill()
        return False

    def kill(self) -> None:
        """SIGKILL its group (a crash, or a replicate that ignored SIGTERM)."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        end = time.monotonic() + 5
        while _pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.01)
