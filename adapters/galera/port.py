"""The Galera adapter as the runtime's :class:`hacore.ports.GaleraPort`.

Maps :class:`adapters.galera.ops.GaleraNode`'s outcomes onto the port's
(``done``/``already`` -> :class:`Done`, ``refused``/``failed`` -> :class:`Failed`,
``uncertain`` -> :class:`Uncertain`) and turns the runtime's ``deadline`` (µs
on the agent's monotonic clock) into each operation's budget; a deadline
already passed is Uncertain without touching anything.

What the port's arguments do not say, the adapter decides from what it sees:

* ``make_primary`` starts mariadbd when it is not running (the agent starts
  MariaDB, not init), lets it join a reachable Primary component, and forces
  ``pc.bootstrap`` only with ``bootstrap_allowed``; then it first waits (at
  most ``settle_s``) for Galera to notice the lost peer, because right after a
  crash Galera still reports the old, whole Primary view. (Skipping the wait
  when every peer's agent is still heard as a member is wrong: the core may
  promote on VRRP before the peer timeout, while the dead peer's last message
  is still fresh; a lab run showed it.)
* With a :class:`~adapters.galera.cold_start.ColdStart` (the agent sets
  ``cold_start``), every start of a stopped mariadbd goes through it: after a
  total outage only the node the core's rule chose bootstraps, the others wait
  (within the deadline) and then join it.
* ``quarantine`` dumps the business schemas once per plan (the key's
  ``.../plan-N`` prefix): a retry finds the verified dump and copies nothing
  twice, unless the node committed since (then it dumps again).
* ``rejoin``: a node in a Primary component smaller than the cluster (it was
  forced primary, so it may hold writes nobody else has) is a split-brain
  side: it rejoins by forced SST, and only with this plan's verified dump of
  this node taken after its last commit (``wsrep_last_committed`` is recorded
  inside the dump's snapshot). A
  node that is non-Primary (it could not commit anything) rejoins keeping its
  state, so it may IST. A node that cold-bootstrapped after a total outage is
  a Primary of one too, but the cluster's new start: it stays (the others join).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.galera.cold_start import POLL_S, ColdStart
from adapters.galera.errors import GaleraError, QuarantineError
from adapters.galera.ops import GaleraNode, Outcome, OutcomeKind
from adapters.galera.quarantine import Receipt, quarantine, verify
from adapters.galera.sql import Endpoint, SqlUnavailable, query
from hacore.ports import Done, Failed, Uncertain
from hacore.ports import Outcome as PortOutcome

_PLAN = re.compile(r"^(.*?/plan-[0-9]+)(/|$)")


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


def _port(outcome: Outcome) -> PortOutcome:
    if outcome.ok:
        return Done(detail=outcome.detail or str(outcome.kind))
    if outcome.kind is OutcomeKind.UNCERTAIN:
        return Uncertain(outcome.detail)
    return Failed(f"{outcome.kind}: {outcome.detail}")


@dataclass
class GaleraPortAdapter:
    node: GaleraNode
    name: str  # this node's name (quarantine directories carry it)
    cluster_size: int  # members of the whole cluster, garbd included
    schemas: Sequence[str]  # the business schemas a quarantine dumps
    quarantine_root: Path
    epoch: Callable[[], int]  # the node's current epoch (from its core state)
    clock_us: Callable[[], int] = monotonic_us
    # longer than Galera's loss detection (6.0-6.3 s measured on the lab)
    settle_s: float = 10.0
    wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    cold_start: ColdStart | None = None  # None: start mariadbd plainly (no peers known)

    def _budget(self, deadline: int) -> GaleraNode | None:
        left = (deadline - self.clock_us()) / 1e6
        if left <= 0:
            return None
        return dataclasses.replace(
            self.node, deadline_s=left, sql_timeout_s=min(self.node.sql_timeout_s, left)
        )

    # ---------------------------------------------------------- the port --

    def probe(self, *, key: str, deadline: int) -> PortOutcome:
        node = self._budget(deadline)
        if node is None:
            return Uncertain("deadline passed before the probe")
        obs = node.observe()
        progress = obs.progress(self.clock_us())
        if obs.status is None:
            return Uncertain(obs.describe())
        return Done(inputs=(progress,) if progress is not None else (), detail=obs.describe())

    def _locked(self, deadline: int, op: Callable[[GaleraNode], PortOutcome]) -> PortOutcome:
        """Run ``op`` holding the cold start's lock (no start races the tender's)."""
        node = self._budget(deadline)
        if node is None:
            return Uncertain("deadline passed before the operation")
        if self.cold_start is None:
            return op(node)
        if not self.cold_start.lock.acquire(timeout=node.deadline_s):
            return Uncertain("another Galera operation is still running")
        try:
            node = self._budget(deadline)
            return Uncertain("deadline passed waiting for the lock") if node is None else op(node)
        finally:
            self.cold_start.lock.release()

    def make_primary(self, *, bootstrap_allowed: bool, key: str, deadline: int) -> PortOutcome:
        return self._locked(deadline, lambda node: self._make_primary(node, bootstrap_allowed, key))

    def _start_stopped(self, node: GaleraNode, key: str) -> PortOutcome:
        """Start a stopped mariadbd through the cold start. A node that may join only
        through a plan (it was active, promoting, demoting or in fault: it may hold
        writes nobody else has, and no seqno tells) joins by a forced SST after a dump
        of its stopped data, whichever plan step starts it (a lab run showed a fault
        node's promotion joining by IST otherwise)."""
        cold = self.cold_start
        assert cold is not None
        dump = self._receipt_for(key)
        end = time.monotonic() + node.deadline_s
        while dump is None and not cold.may_join() and not node.server.running():
            # the choice may come while this waits: decide the dump on each look
            action, why = cold.decide(node)
            if action == "join":
                dumped = self._quarantine_stopped(node, key)
                if not isinstance(dumped, Done):
                    return dumped
                dump = self._receipt_for(key)
            elif action == "bootstrap":
                break
            elif time.monotonic() + POLL_S > end:
                return Uncertain(f"not starting MariaDB yet: {why}")
            else:
                time.sleep(POLL_S)
        return _port(cold.start(node, max(0.0, end - time.monotonic()), quarantine=dump))

    def _make_primary(self, node: GaleraNode, bootstrap_allowed: bool, key: str) -> PortOutcome:
        if not node.server.running() and self.cold_start is not None:
            started = self._start_stopped(node, key)
            if not isinstance(started, Done):
                return started
        elif not node.server.running():
            node.server.start()
            # give it the time a join takes; a Synced join makes bootstrap needless
            joined = dataclasses.replace(node, deadline_s=min(node.deadline_s, 15.0)).start()
            if joined.ok:
                return _port(joined)
        if bootstrap_allowed:
            self._await_view_change(node)
        return _port(node.make_primary(bootstrap_allowed=bootstrap_allowed))

    def _await_view_change(self, node: GaleraNode) -> None:
        """The core promotes because it lost a peer, but Galera sees the loss only after
        its suspect timeout (~6 s) and until then still reports the full Primary view.
        Answering "already primary" then would leave this node non-Primary seconds later
        with nobody left to bootstrap it; so wait (bounded) for the view to drop a
        member. A view that stays whole means Galera still reaches every member: then
        it really is primary and nothing is forced."""
        end = time.monotonic() + min(node.deadline_s, self.settle_s)
        while time.monotonic() < end:
            s = node.observe().status
            if s is None or not s.primary or s.cluster_size < self.cluster_size:
                return
            time.sleep(0.05)

    def fence_writes(self, *, fenced: bool, key: str, deadline: int) -> PortOutcome:
        node = self._budget(deadline)
        if node is None:
            return Uncertain("deadline passed before fencing")
        return _port(node.fence() if fenced else node.unfence())

    def _receipts(self) -> Path:
        return self.quarantine_root / "by-plan.json"

    def _receipt_for(self, key: str) -> Path | None:
        plan = _PLAN.match(key)
        try:
            index = json.loads(self._receipts().read_text())
        except (FileNotFoundError, ValueError):
            return None
        found = index.get(plan.group(1) if plan else key)
        return Path(found) if isinstance(found, str) else None

    def _newest_receipt(self) -> Path | None:
        try:
            index = json.loads(self._receipts().read_text())
        except (FileNotFoundError, ValueError):
            return None
        dirs = sorted((Path(v) for v in index.values() if isinstance(v, str)), key=lambda p: p.name)
        return dirs[-1] if dirs else None

    def quarantine(self, *, key: str, deadline: int) -> PortOutcome:
        if self.cold_start is not None and not self.node.server.running():
            return self._locked(deadline, lambda node: self._quarantine_stopped(node, key))
        node = self._budget(deadline)
        if node is None:
            return Uncertain("deadline passed before the quarantine")
        seen = node.observe()
        if seen.status is None:
            return Uncertain(f"cannot read the node to dump it: {seen.describe()}")
        done = self._receipt_for(key)
        if done is not None:
            try:
                receipt = verify(done)
                now = node.observe().status
                if now is not None and now.last_committed <= receipt.committed:
                    return Done(detail=f"already dumped: {receipt.name}")
            except QuarantineError:
                pass  # damaged, or the node committed since: dump again
        try:
            receipt = quarantine(
                node.endpoint, node.creds, schemas=self.schemas, root=self.quarantine_root,
                node=self.name, epoch=self.epoch(), now=self.wall(), timeout=node.sql_timeout_s,
            )  # fmt: skip
        except QuarantineError as exc:
            return Failed(str(exc))
        self._record(key, receipt)
        return Done(detail=f"dumped {sum(receipt.rows.values())} rows to {receipt.name}")

    def _record(self, key: str, receipt: Receipt) -> None:
        plan = _PLAN.match(key)
        try:
            index = json.loads(self._receipts().read_text())
        except (FileNotFoundError, ValueError):
            index = {}
        index[plan.group(1) if plan else key] = str(receipt.directory)
        tmp = self._receipts().with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self._receipts())

    def _quarantine_stopped(self, node: GaleraNode, key: str) -> PortOutcome:
        """Dump a node whose MariaDB is down (an ex-active back after a total outage): read
        by a standalone start (no Galera, no network, private socket), and only once the
        total-outage choice picked another node (the start must not disturb the position
        this node publishes for that choice)."""
        assert self.cold_start is not None
        if node.server.running():
            return Uncertain("MariaDB started meanwhile: the next attempt dumps it")
        done = self._receipt_for(key)
        if done is not None:
            try:
                return Done(detail=f"already dumped: {verify(done).name}")
            except QuarantineError:
                pass  # damaged: dump again
        action, why = self.cold_start.decide(node)
        if action != "join":
            return Uncertain(f"MariaDB is down and the total-outage choice comes first: {why}")
        try:
            position = node.recover_position()
        except GaleraError as exc:
            return Failed(f"cannot tell what the dump covers: {exc}")
        proc = node.server.start_standalone()
        endpoint = Endpoint(socket=node.server.standalone_socket)
        try:
            end = time.monotonic() + node.deadline_s
            while True:
                try:
                    query(endpoint, node.creds, "SELECT 1", 2.0)
                    break
                except SqlUnavailable as exc:
                    if proc.poll() is not None or time.monotonic() > end:
                        return Uncertain(f"standalone start for the dump: {exc}")
                    time.sleep(0.2)
            receipt = quarantine(
                endpoint, node.creds, schemas=self.schemas, root=self.quarantine_root,
                node=self.name, epoch=self.epoch(), now=self.wall(), timeout=node.sql_timeout_s,
                committed=position.seqno,
            )  # fmt: skip
        except QuarantineError as exc:
            return Failed(str(exc))
        finally:
            node.server.stop_standalone(proc)
        self._record(key, receipt)
        rows = sum(receipt.rows.values())
        return Done(detail=f"dumped {rows} rows of the stopped node to {receipt.name} ({why})")

    def rejoin(self, *, key: str, deadline: int) -> PortOutcome:
        return self._locked(deadline, lambda node: self._rejoin(node, key))

    def _rejoin(self, node: GaleraNode, key: str) -> PortOutcome:
        if not node.server.running() and self.cold_start is not None:
            return self._start_stopped(node, key)  # after this plan's dump: forced SST
        obs = node.observe()
        s = obs.status
        if s is None and node.server.running():
            return Uncertain(f"cannot tell whether it is a split-brain side: {obs.describe()}")
        if s is not None and s.synced and s.cluster_size >= self.cluster_size:
            return Done(detail=f"already a member: {obs.describe()}")
        if (
            s is not None
            and s.primary
            and self.cold_start is not None
            and self.cold_start.bootstrapped
        ):
            return Done(detail=f"cold-bootstrapped after a total outage, the others join it: "
                        f"{obs.describe()}")  # fmt: skip
        if s is not None and s.primary and s.cluster_size < self.cluster_size:
            # this plan's dump, else the newest one: either must cover every commit
            dump = self._receipt_for(key) or self._newest_receipt()
            if dump is None:
                return Failed("a forced primary must quarantine before its forced SST")
            try:
                receipt = verify(dump)
            except QuarantineError as exc:
                return Failed(f"quarantine not verified: {exc}")
            if receipt.node != self.name or receipt.committed < s.last_committed:
                return Failed(
                    f"the dump {receipt.name} (committed {receipt.committed}) does not cover "
                    f"this node's {s.last_committed} commits: quarantine again"
                )
            return _port(node.rejoin(force_sst=True, quarantine=dump))
        return _port(node.rejoin(force_sst=False))
