"""hacore.ports.DatastorePort over litestream and k3s's kine database.

Deadlines are µs on the monotonic clock (the agent's); each operation keeps
``margin_s`` of its budget to return by the deadline. A litestream command
that runs out of time is :class:`Uncertain` (it may have acted); a refusal we
understand (no backup in the replica, a failed verification, replicate still
running) is :class:`Failed`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adapters.k3s.kine import KineSchemaError, read_rows
from adapters.litestream.errors import (
    LitestreamError,
    LitestreamTimeout,
    ReplicaMissingError,
)
from adapters.litestream.lag import LagProbe, ReplicaLag
from adapters.litestream.quarantine import Quarantine
from adapters.litestream.replicator import Replicator
from adapters.litestream.restore import RestoredCopy, install, restore_to
from hacore.ports import Done, Failed, Outcome, Uncertain


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


@dataclass
class LitestreamDatastore:
    replicator: Replicator
    quarantine: Quarantine
    clock_us: Callable[[], int] = field(default=monotonic_us)
    margin_s: float = 0.3
    _lag: LagProbe | None = field(default=None, init=False, repr=False)

    def replica_lag(self, now_us: int) -> ReplicaLag:
        """How far the replica is behind the database (adapters/litestream/lag.py).
        Blocking (it may restore the replica): call it from a poller thread."""
        if self._lag is None:
            self._lag = LagProbe(self.replicator, self.replicator.state_dir / "lag")
        return self._lag.poll(now_us)

    @property
    def database(self) -> Path:
        return self.replicator.config.database

    def _left_s(self, deadline: int) -> float:
        return (deadline - self.clock_us()) / 1e6 - self.margin_s

    def _guarded(self, what: str, op: Callable[[float], Outcome], deadline: int) -> Outcome:
        left = self._left_s(deadline)
        if left <= 0:
            return Uncertain(f"{what}: deadline passed before it began")
        try:
            return op(left)
        except LitestreamTimeout as exc:
            return Uncertain(f"{what}: {exc}")
        except (LitestreamError, KineSchemaError, sqlite3.Error, OSError) as exc:
            return Failed(f"{what}: {exc}")

    # ------------------------------------------------------------ restore --

    def _scratch(self) -> Path:
        return self.database.parent / f".{self.database.name}.restore-{uuid.uuid4().hex[:12]}"

    def _restore_copy(self, budget_s: float) -> RestoredCopy:
        out = self._scratch()
        return restore_to(self.replicator.binary, self.replicator.config, out, timeout_s=budget_s)

    def restore_from_replica(self, *, key: str, deadline: int) -> Outcome:
        def op(budget_s: float) -> Outcome:
            if self.replicator.pid() is not None:
                return Failed("restore: replicate is running on this database; stop it first")
            copy = self._restore_copy(budget_s)
            try:
                local, restored = read_rows(self.database), read_rows(copy.path)
                newer = local - restored
                if newer and not newer <= self.quarantine.kept_rows():
                    # Never overwrite newer local objects without a copy aside.
                    self.quarantine.keep(f"{key}/before-restore", self.database, newer, copy.txid)
                position = f"replica txid {copy.txid:016x}, integrity ok, {len(restored)} rows"
                if self.database.exists() and local == restored:
                    self._journal(key, copy.txid, len(restored), installed=False)
                    return Done(detail=f"local database already holds the replica ({position})")
                install(
                    copy.path,
                    self.database,
                    self.quarantine.root / f"sidecars-{uuid.uuid4().hex[:8]}",
                )
                self._journal(key, copy.txid, len(restored), installed=True)
                return Done(detail=f"restored {position}")
            finally:
                copy.path.unlink(missing_ok=True)

        return self._guarded("restore", op, deadline)

    @property
    def restore_journal(self) -> Path:
        return self.replicator.state_dir / "restores.jsonl"

    def _journal(self, key: str, txid: int, rows: int, *, installed: bool) -> None:
        """One line per verified restore (the step's key, the replica position):
        the plan's events say the step completed, this says from what."""
        line = {
            "key": key,
            "at_us": self.clock_us(),
            "replica": self.replicator.config.restore_url,
            "txid": f"{txid:016x}",
            "integrity_check": "ok",
            "rows": rows,
            "installed": installed,
        }
        fd = os.open(
            self.restore_journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600
        )
        try:
            os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def quarantine_newer_local(self, *, key: str, deadline: int) -> Outcome:
        def op(budget_s: float) -> Outcome:
            done = self.quarantine.receipt(key)
            if done is not None:
                return Done(detail=f"already quarantined {len(done.row_ids)} rows")
            local = read_rows(self.database)
            if not local:
                return Done(detail="no local objects to quarantine")
            try:
                copy = self._restore_copy(budget_s)
            except ReplicaMissingError:
                receipt = self.quarantine.keep(key, self.database, local, None)
                return Done(detail=f"replica empty: quarantined all {len(receipt.row_ids)} rows")
            try:
                newer = local - read_rows(copy.path)
            finally:
                copy.path.unlink(missing_ok=True)
            receipt = self.quarantine.keep(key, self.database, newer, copy.txid)
            return Done(
                detail=f"quarantined {len(receipt.row_ids)} rows the replica "
                f"(txid {copy.txid:016x}) lacks"
            )

        return self._guarded("quarantine", op, deadline)

    # -------------------------------------------------------- replication --

    def start_replication(self, *, key: str, deadline: int) -> Outcome:
        def op(budget_s: float) -> Outcome:
            if not self.database.exists():
                return Failed(f"start replication: no database at {self.database}")
            self.replicator.start()
            synced = self.replicator.wait_synced(until=time.monotonic() + budget_s)
            return Done(detail=f"replicating; replica at txid {synced.replica_txid:016x}")

        return self._guarded("start replication", op, deadline)

    def stop_replication(self, *, key: str, deadline: int) -> Outcome:
        def op(budget_s: float) -> Outcome:
            if self.replicator.pid() is None:
                return Done(detail="replicate not running")
            # Ship the tail first: what is not shipped when replicate stops is lost.
            sync_budget = max(0.0, budget_s - 1.0)
            shipped: str | None = None
            problem = ""
            try:
                synced = self.replicator.wait_synced(until=time.monotonic() + sync_budget)
                shipped = f"{synced.replica_txid:016x}"
            except LitestreamError as exc:
                problem = str(exc)
            graceful = self.replicator.stop(timeout_s=min(1.0, max(0.0, budget_s - sync_budget)))
            if shipped is None:
                return Uncertain(
                    f"stop replication: final sync unconfirmed ({problem}); replicate stopped "
                    f"({'SIGTERM' if graceful else 'SIGKILL'}): the unshipped tail may be lost"
                )
            how = "on SIGTERM" if graceful else "by SIGKILL after the final sync"
            return Done(detail=f"stopped {how}; replica at txid {shipped}")

        return self._guarded("stop replication", op, deadline)


def remove_scratch(database: Path) -> None:
    """Remove temporary restore copies a crash left beside ``database``."""
    for path in database.parent.glob(f".{database.name}.restore-*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
