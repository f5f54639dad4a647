"""The Galera operations the plans call: idempotent, bounded, with typed outcomes.

Each operation first looks at the node and does nothing when the goal already
holds (``ALREADY``); a deadline passing without an answer is ``UNCERTAIN``,
never success; an operation the plan does not allow is ``REFUSED`` and touches
nothing. The two dangerous ones are guarded:

* ``make_primary`` (``pc.bootstrap=YES``) can create a second primary
  component, so it runs only when the plan's ``bootstrap_allowed`` says so;
* ``rejoin(force_sst=True)`` deletes ``grastate.dat`` and ``galera.cache`` (so
  a split-brain loser cannot IST onto a different history) and runs only with
  a verified quarantine receipt of this node.

``cold_bootstrap`` (after a total outage) sets ``safe_to_bootstrap: 1`` only
on the node the core chose (:func:`hacore.bootstrap.choose_bootstrap`), then
starts it with ``--wsrep-new-cluster``. A refused ``--wsrep-new-cluster``
rewrites grastate's seqno to -1, so it is never tried on another node "to see".
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.galera.credentials import Credentials
from adapters.galera.errors import GaleraError, QuarantineError
from adapters.galera.probe import Observation, probe
from adapters.galera.quarantine import Receipt, verify
from adapters.galera.server import Server
from adapters.galera.sql import Endpoint, SqlUnavailable, query
from adapters.galera.state_files import Position, set_safe_to_bootstrap


class OutcomeKind(enum.StrEnum):
    DONE = "done"
    ALREADY = "already"  # the goal held before: nothing was changed
    REFUSED = "refused"  # not allowed (by the plan, or by a missing precondition)
    FAILED = "failed"  # tried and it did not work
    UNCERTAIN = "uncertain"  # no answer within the deadline: it may or may not have happened


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in (OutcomeKind.DONE, OutcomeKind.ALREADY)


def _done(detail: str = "") -> Outcome:
    return Outcome(OutcomeKind.DONE, detail)


@dataclass
class GaleraNode:
    server: Server
    endpoint: Endpoint
    creds: Credentials
    deadline_s: float = 60.0  # per operation
    sql_timeout_s: float = 5.0

    def observe(self) -> Observation:
        return probe(self.endpoint, self.creds, self.sql_timeout_s)

    def _sql(self, statement: str) -> list[tuple[object, ...]]:
        return query(self.endpoint, self.creds, statement, self.sql_timeout_s)

    def _wait(self, want: str, deadline_s: float | None = None) -> Outcome:
        """Poll until the node is a member (``primary``) or Synced (``synced``)."""
        deadline = time.monotonic() + (deadline_s if deadline_s is not None else self.deadline_s)
        obs = self.observe()
        while True:
            s = obs.status
            if s is not None and (s.synced if want == "synced" else s.member):
                return _done(obs.describe())
            if not self.server.running():
                log = _tail(self.server.error_log) + _tail(self.server.root / "mariadbd.out")
                return Outcome(OutcomeKind.FAILED, f"mariadbd exited: {log}")
            if time.monotonic() > deadline:
                return Outcome(OutcomeKind.UNCERTAIN, f"not {want} in time: {obs.describe()}")
            time.sleep(0.05)
            obs = self.observe()

    # ------------------------------------------------------------- start --

    def start(self) -> Outcome:
        """Start mariadbd (the agent starts it, not init) and wait until it is Synced.
        A node joining a non-Primary component never gets there: UNCERTAIN."""
        if self.server.running():
            obs = self.observe()
            if obs.status is not None and obs.status.synced:
                return Outcome(OutcomeKind.ALREADY, obs.describe())
        self.server.start()
        return self._wait("synced")

    def stop(self, timeout_s: float = 30.0) -> Outcome:
        """Graceful stop (SIGTERM), escalated to SIGKILL after ``timeout_s``."""
        try:
            result = self.server.stop(timeout=timeout_s)
        except GaleraError as exc:
            return Outcome(OutcomeKind.FAILED, str(exc))
        if not result.was_running:
            return Outcome(OutcomeKind.ALREADY, "not running")
        how = "gracefully" if result.graceful else "by SIGKILL after SIGTERM timed out"
        return _done(f"stopped {how} in {result.seconds:.2f} s")

    # ----------------------------------------------------------- primary --

    def make_primary(self, *, bootstrap_allowed: bool) -> Outcome:
        obs = self.observe()
        if obs.status is None:
            if not self.server.running():
                return Outcome(OutcomeKind.FAILED, "mariadbd is not running")
            return Outcome(OutcomeKind.UNCERTAIN, obs.describe())
        if obs.status.member:
            return Outcome(OutcomeKind.ALREADY, obs.describe())
        if not bootstrap_allowed:
            return Outcome(
                OutcomeKind.REFUSED,
                f"not Primary ({obs.describe()}) and the plan forbids pc.bootstrap",
            )
        try:
            self._sql("SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'")
        except SqlUnavailable as exc:
            return Outcome(OutcomeKind.UNCERTAIN, f"pc.bootstrap: {exc}")
        return self._wait("primary", min(self.deadline_s, 10.0))

    def recover_position(self) -> Position:
        """The position InnoDB holds (``--wsrep-recover``). Raises a typed GaleraError."""
        return self.server.recover()

    def cold_bootstrap(self, *, chosen: bool) -> Outcome:
        """After a total outage, on the node the core chose only."""
        if not chosen:
            return Outcome(OutcomeKind.REFUSED, "the core chose another node to bootstrap")
        if self.server.running():
            obs = self.observe()
            if obs.status is not None and obs.status.member:
                return Outcome(OutcomeKind.ALREADY, obs.describe())
            return Outcome(
                OutcomeKind.REFUSED, f"mariadbd runs but is not Primary ({obs.describe()})"
            )
        try:
            saved = set_safe_to_bootstrap(self.server.grastate_path)
            # after a crash grastate says -1: start from the position InnoDB holds
            position = None if saved.position.known else self.server.recover()
        except GaleraError as exc:
            return Outcome(OutcomeKind.FAILED, str(exc))
        self.server.start(
            new_cluster=True, start_position=position if position and position.known else None
        )
        return self._wait("primary")

    # ------------------------------------------------------------ rejoin --

    def _rejoined_marker(self, receipt: Receipt) -> Path:
        return self.server.root / f"rejoined-{receipt.name}"

    def rejoin(self, *, force_sst: bool, quarantine: Path | None = None) -> Outcome:
        """Join the Primary component as an ordinary member.

        ``force_sst`` (a split-brain loser): only with ``quarantine``, the directory
        of this node's verified dump; removes grastate.dat and galera.cache so that
        the node takes a full SST. Without it (a clean non-primary period) the node
        keeps its state and may IST."""
        receipt: Receipt | None = None
        if force_sst:
            if quarantine is None:
                return Outcome(OutcomeKind.REFUSED, "forced SST without a quarantine dump")
            try:
                receipt = verify(quarantine)
            except QuarantineError as exc:
                return Outcome(OutcomeKind.REFUSED, f"quarantine not verified: {exc}")
            if self._rejoined_marker(receipt).exists() and self._synced_with_others():
                return Outcome(OutcomeKind.ALREADY, f"rejoined after {receipt.name}")
            now = self.observe().status
            if now is not None and now.last_committed > receipt.committed:
                return Outcome(
                    OutcomeKind.REFUSED,
                    f"{receipt.name} was taken at commit {receipt.committed}, the node is at "
                    f"{now.last_committed}: its later writes are not in the dump",
                )
        elif self._synced_with_others():
            return Outcome(OutcomeKind.ALREADY, self.observe().describe())
        stopped = self.stop()
        if not stopped.ok:
            return stopped
        position: Position | None = None
        if receipt is not None:
            for name in ("grastate.dat", "galera.cache", "gvwstate.dat"):
                (self.server.datadir / name).unlink(missing_ok=True)
        else:
            try:
                saved = self.server.grastate()
                if saved is not None and not saved.position.known:
                    # after a crash grastate says -1: recover the position so that
                    # the node can ask for IST instead of a full SST
                    recovered = self.server.recover()
                    position = recovered if recovered.known else None
            except GaleraError as exc:
                return Outcome(OutcomeKind.FAILED, str(exc))
        self.server.start(start_position=position)
        outcome = self._wait("synced")
        if outcome.ok and receipt is not None:
            self._rejoined_marker(receipt).touch()
        return outcome

    def _synced_with_others(self) -> bool:
        if not self.server.running():
            return False
        s = self.observe().status
        return s is not None and s.synced and s.cluster_size > 1

    # ----------------------------------------------------------- fencing --

    def _read_only(self) -> bool | None:
        try:
            rows = self._sql("SELECT @@global.read_only")
        except SqlUnavailable:
            return None
        return bool(int(str(rows[0][0])))

    def _set_read_only(self, on: bool) -> Outcome:
        current = self._read_only()
        if current is None:
            return Outcome(OutcomeKind.UNCERTAIN, "cannot read @@read_only")
        if current == on:
            return Outcome(OutcomeKind.ALREADY, f"read_only={'ON' if on else 'OFF'}")
        try:
            self._sql(f"SET GLOBAL read_only={'ON' if on else 'OFF'}")
        except SqlUnavailable as exc:
            return Outcome(OutcomeKind.UNCERTAIN, f"SET GLOBAL read_only: {exc}")
        if self._read_only() != on:
            return Outcome(OutcomeKind.UNCERTAIN, "read_only did not change")
        return _done(f"read_only={'ON' if on else 'OFF'}")

    def fence(self) -> Outcome:
        """Refuse client writes here (the write lease expired): read_only=ON. Clients
        without SUPER / READ ONLY ADMIN then get error 1290; replication still applies."""
        return self._set_read_only(True)

    def unfence(self) -> Outcome:
        return self._set_read_only(False)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(x.strip() for x in text.splitlines()[-lines:])
