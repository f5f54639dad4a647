"""How far the litestream replica is behind the k3s database, for
``hacore status`` and ``/metrics``.

litestream's own numbers cannot say it: its txids count the WAL captures *it*
made (``status -json``'s ``local_txid`` does not move for a commit it has not
looked at yet, and that unseen tail is exactly what a crash loses: the
``monitor-interval`` window). So both sides are measured in the database's
own unit, kine's revision (its row id):

* local: ``MAX(id)`` of the ``kine`` table in the live ``state.db``;
* replica: the same in a verified restore of the replica. ``ltx -json`` on the
  replica (a directory listing, cheap) gives its newest txid; the restore runs
  only when that txid moved since the last poll.

``revisions_behind`` = local - replica. ``seconds_behind`` is the age of the
oldest local revision the replica lacks, as first *seen by this probe*: its
resolution is the poll interval, and right after the probe starts it is a
lower bound (said in ``detail``).
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from adapters.k3s.kine import KineSchemaError, latest_revision
from adapters.litestream import command, outputs
from adapters.litestream.errors import LitestreamError, ReplicaMissingError
from adapters.litestream.replicator import Replicator
from adapters.litestream.restore import restore_to

MAX_SAMPLES = 4096  # first-seen times kept; beyond that the oldest merge


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    at_us: int
    replicating: bool  # our replicate process is running
    local_revision: int | None
    replica_revision: int | None
    revisions_behind: int | None  # None: not measured (see detail)
    seconds_behind: float | None
    detail: str

    def as_json(self) -> dict[str, object]:
        return {
            "at_us": self.at_us,
            "replicating": self.replicating,
            "local_revision": self.local_revision,
            "replica_revision": self.replica_revision,
            "revisions_behind": self.revisions_behind,
            "seconds_behind": self.seconds_behind,
            "detail": self.detail,
        }


@dataclass
class LagProbe:
    """Polled by the agent (blocking: run it off the event loop)."""

    replicator: Replicator
    scratch_dir: Path  # ours: the probe's temporary restores
    timeout_s: float = 10.0
    _replica_txid: int | None = field(default=None, init=False)
    _replica_revision: int = field(default=0, init=False)
    # (revision, when this probe first saw the local database at it), increasing.
    _seen: list[tuple[int, int]] = field(default_factory=list, init=False)
    _started_us: int | None = field(default=None, init=False)

    @property
    def database(self) -> Path:
        return self.replicator.config.database

    def _replica_position(self) -> tuple[int | None, int]:
        """(newest txid in the replica or None when empty, its kine revision)."""
        cfg = self.replicator.config
        listed = command.run(
            [self.replicator.binary, "ltx", "-json", "-level", "all", cfg.replica_url],
            timeout_s=self.timeout_s,
        )
        files = outputs.parse_ltx(listed.stdout)
        if not files:
            return None, 0
        txid = max(f.max_txid for f in files)
        if txid != self._replica_txid:
            self.scratch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            out = self.scratch_dir / f"lag-{uuid.uuid4().hex[:12]}.db"
            try:
                copy = restore_to(
                    self.replicator.binary, cfg, out, timeout_s=self.timeout_s, own=True
                )
                self._replica_revision = latest_revision(copy.path)
                self._replica_txid = copy.txid
            finally:
                out.unlink(missing_ok=True)
        return self._replica_txid, self._replica_revision

    def _note_local(self, revision: int, now_us: int) -> None:
        if not self._seen or revision > self._seen[-1][0]:
            self._seen.append((revision, now_us))
            if len(self._seen) > MAX_SAMPLES:
                del self._seen[1]  # bounded memory; only ever makes a later age smaller

    def _unshipped_since(self, replica_revision: int) -> int | None:
        """When this probe first saw a revision the replica lacks (None: none)."""
        keep = [(r, t) for r, t in self._seen if r > replica_revision]
        self._seen = keep or self._seen[-1:]  # the newest stays: appends compare with it
        return keep[0][1] if keep else None

    def poll(self, now_us: int) -> ReplicaLag:
        if self._started_us is None:
            self._started_us = now_us
        try:
            replicating = self.replicator.pid() is not None
        except LitestreamError as exc:
            return ReplicaLag(now_us, False, None, None, None, None, str(exc))
        try:
            local = latest_revision(self.database)
        except (KineSchemaError, OSError, sqlite3.Error) as exc:
            return ReplicaLag(now_us, replicating, None, None, None, None, f"database: {exc}")
        self._note_local(local, now_us)
        try:
            txid, replica = self._replica_position()
        except ReplicaMissingError:
            txid, replica = None, 0
        except (LitestreamError, KineSchemaError, OSError, sqlite3.Error) as exc:
            return ReplicaLag(now_us, replicating, local, None, None, None, f"replica: {exc}")
        behind = local - replica
        if behind < 0:
            # The replica is ahead: this node is not the one writing it (a standby).
            return ReplicaLag(
                now_us, replicating, local, replica, 0, 0.0,
                f"replica (revision {replica}) is ahead of the local database: not the writer",
            )  # fmt: skip
        since = self._unshipped_since(replica)
        age = 0.0 if since is None or not behind else max(0.0, (now_us - since) / 1e6)
        where = "empty replica" if txid is None else f"replica txid {txid:016x}"
        detail = f"{behind} revisions behind ({where})"
        if behind and since == self._started_us:
            detail += "; the age is a lower bound (the lag was there when the probe started)"
        return ReplicaLag(now_us, replicating, local, replica, behind, age, detail)
