"""The agent's port set (``hacore.ports``) before any service adapter exists.

* :class:`KeepalivedVip` — the real VIP port: yields priority through
  keepalived's ``vrrp_track_file`` and probes keepalived's own state (SIGJSON
  dump) after a restart, because keepalived does not re-notify.
* :class:`RecordingFakeGalera` — a **fake**, named as such: no database is
  touched. Each operation appends one JSON line (operation, idempotency key,
  pid, time) to a journal and fsyncs it, after an optional delay standing in
  for the work. It is what the agent uses where no real Galera adapter is
  configured; the restart campaign counts its records per key, which is how "each
  step's effect ran once per idempotency key" is shown by the step
  implementation rather than by the log. Fencing (``fence_writes``) is
  recorded here too.
* :class:`DisabledService` — a service switched off in the configuration:
  stops succeed (nothing runs: OCF's "stop succeeds if stopped"), anything
  else fails with the reason, so a plan can never pretend a disabled service
  did something (the dispatcher does not call it for steps of disabled
  services anyway).
* :class:`LoopTimers` and :class:`ChannelTransport` run on the event loop
  (they only schedule); the others may block and run in a worker thread.

Deadlines are instants in microseconds on the agent's clock
(:class:`adapters.agent.clock.AgentClock`: wall time at start, monotonic
after), the same one that stamps its inputs; every port here is given it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from adapters.agent.config import AgentConfig
from adapters.agent.secret_files import Secrets
from adapters.keepalived.dump import DumpError, read_status
from hacore import inputs as inp
from hacore.ports import Done, Failed, Outcome, Uncertain
from hacore.roles import Role, Service, VrrpStatus

ClockUs = Callable[[], int]


def _remaining_s(deadline: int, clock: ClockUs) -> float:
    return max(0.0, (deadline - clock()) / 1e6)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        os.unlink(tmp)  # a leftover of a crash (never followed: unlink removes the link)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class KeepalivedVip:
    """The VIP port over the local keepalived."""

    def __init__(
        self,
        *,
        instance: str,
        priority: int,
        track_file: Path,
        pid_file: Path,
        json_dir: Path,
        clock: ClockUs,
    ) -> None:
        self.instance = instance
        self.priority = priority
        self.track_file = track_file
        self.pid_file = pid_file
        self.json_dir = json_dir
        self._clock = clock

    def set_priority_yield(self, *, yielded: bool, key: str, deadline: int) -> Outcome:
        # keepalived adds value * weight (1) to the priority: yielding takes it to 1.
        value = -(self.priority - 1) if yielded else 0
        try:
            write_atomically(self.track_file, f"{value}\n")
        except OSError as exc:
            return Failed(f"track file {self.track_file}: {exc.strerror}")
        return Done(detail=f"track file {value}")

    def probe(self, *, key: str, deadline: int) -> Outcome:
        timeout = min(2.0, _remaining_s(deadline, self._clock))
        try:
            instances = read_status(self.pid_file, self.json_dir, timeout=timeout)
        except (DumpError, OSError) as exc:
            return Failed(f"keepalived: {exc}")
        for status in instances:
            if status.name == self.instance:
                state = "STOP" if status.state == "DELETED" else status.state
                if state not in VrrpStatus.__members__:
                    return Failed(f"keepalived reports state {status.state!r}")
                reported = inp.VrrpReported(
                    self._clock(), VrrpStatus(state), status.effective_priority
                )
                return Done((reported,), detail=f"{state} {status.effective_priority}")
        return Failed(f"keepalived has no instance {self.instance!r}")


class RecordingFakeGalera:
    """A fake Galera port that records every operation (see the module docstring)."""

    def __init__(self, journal: Path, *, clock: ClockUs, delay_s: float = 0.0) -> None:
        self.journal = journal
        self.delay_s = delay_s
        self._clock = clock
        self.fenced = True  # an agent starts fenced: only an active takes writes

    def _record(self, op: str, key: str, deadline: int, **extra: object) -> Outcome:
        if self.delay_s:
            if self.delay_s > _remaining_s(deadline, self._clock):
                time.sleep(_remaining_s(deadline, self._clock))
                return Uncertain(f"fake {op}: deadline passed")
            time.sleep(self.delay_s)
        line = {"op": op, "key": key, "pid": os.getpid(), "at": self._clock(), **extra}
        try:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
            fd = os.open(self.journal, flags, 0o600)
            try:
                os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            return Failed(f"fake galera journal {self.journal}: {exc.strerror}")
        return Done(detail=f"recording fake: {op}")

    def probe(self, *, key: str, deadline: int) -> Outcome:
        return Failed("recording fake: no database to probe")

    def make_primary(self, *, bootstrap_allowed: bool, key: str, deadline: int) -> Outcome:
        return self._record("make_primary", key, deadline, bootstrap_allowed=bootstrap_allowed)

    def rejoin(self, *, key: str, deadline: int) -> Outcome:
        return self._record("rejoin", key, deadline)

    def fence_writes(self, *, fenced: bool, key: str, deadline: int) -> Outcome:
        outcome = self._record("fence_writes", key, deadline, fenced=fenced)
        if isinstance(outcome, Done):
            self.fenced = fenced
        return outcome

    def quarantine(self, *, key: str, deadline: int) -> Outcome:
        return self._record("quarantine", key, deadline)


class DisabledService:
    """Every port of a service switched off in the configuration."""

    def __init__(self, service: str) -> None:
        self.service = service

    def _refuse(self, op: str) -> Outcome:
        return Failed(f"{self.service} is disabled in the configuration ({op} refused)")

    def _nothing_runs(self) -> Outcome:
        return Done(detail=f"{self.service} disabled: nothing runs")

    # datastore
    def restore_from_replica(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("restore_from_replica")

    def start_replication(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("start_replication")

    def stop_replication(self, *, key: str, deadline: int) -> Outcome:
        return self._nothing_runs()

    def quarantine_newer_local(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("quarantine_newer_local")

    # k3s
    def start(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("start")

    def stop(self, *, key: str, deadline: int) -> Outcome:
        return self._nothing_runs()

    def ready(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("ready")

    # gluster
    def probe(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("probe")

    def heal(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("heal")

    def resync(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("resync")

    def quarantine_losing_copy(self, *, key: str, deadline: int) -> Outcome:
        return self._refuse("quarantine_losing_copy")


class LoopTimers:
    """Volatile timers on the event loop; a firing calls ``fire(timer_id)``.

    The loop's own clock is monotonic, like the agent's. A firing that the
    agent's clock still reads as before the due time (a rounding of the delay)
    is re-armed for the rest, never delivered early: the dispatcher would drop
    it as stale and the timer would be lost.
    """

    def __init__(self, fire: Callable[[int], None], clock: ClockUs) -> None:
        self._fire = fire
        self._clock = clock
        self._handles: dict[int, asyncio.TimerHandle] = {}

    def start(self, *, timer_id: int, due: int, key: str) -> Outcome:
        old = self._handles.pop(timer_id, None)
        if old is not None:
            old.cancel()
        self._arm(timer_id, due)
        return Done()

    def _arm(self, timer_id: int, due: int) -> None:
        delay = max(0.0, (due - self._clock()) / 1e6)
        loop = asyncio.get_running_loop()
        self._handles[timer_id] = loop.call_later(delay, self._fired, timer_id, due)

    def _fired(self, timer_id: int, due: int) -> None:
        if self._clock() < due:
            self._arm(timer_id, due)
            return
        self._handles.pop(timer_id, None)
        self._fire(timer_id)

    def cancel(self, *, timer_id: int, key: str) -> Outcome:
        handle = self._handles.pop(timer_id, None)
        if handle is not None:
            handle.cancel()
        return Done()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


class ChannelTransport:
    """Announce through the peer channel: publish the node's current status now."""

    def __init__(self, publish: Callable[[], None]) -> None:
        self._publish = publish

    def announce(self, *, role: Role, epoch: int, key: str, deadline: int) -> Outcome:
        self._publish()
        return Done(detail=f"announced {role} epoch {epoch}")


@attrs.frozen
class GaleraFacts:
    """What the last status poll of the local MariaDB saw (None: not observed)."""

    member: bool | None
    cluster_size: int | None
    detail: str
    at: int


def mariadb_port(
    config: AgentConfig, secrets: Secrets, epoch: Callable[[], int], clock: ClockUs
) -> Any:
    """The real Galera adapter (``adapters.galera``) as this agent's Galera port."""
    from adapters.galera.credentials import Credentials
    from adapters.galera.ops import GaleraNode
    from adapters.galera.port import GaleraPortAdapter
    from adapters.galera.server import Server
    from adapters.galera.sql import Endpoint

    g = config.galera
    assert g.server_root is not None  # checked by the configuration
    server = Server(Path(g.server_root), launcher=g.launcher, inner_root=g.inner_root)
    password = "" if secrets.galera_password is None else secrets.galera_password.text()
    node = GaleraNode(server, Endpoint(socket=server.socket), Credentials(g.user, password))
    return GaleraPortAdapter(
        node,
        config.node,
        config.cluster.galera_members,  # garbd counts in wsrep_cluster_size
        list(g.schemas),
        Path(g.quarantine_dir),
        epoch=epoch,
        clock_us=clock,
    )


def poll_galera(port: Any, clock: ClockUs) -> tuple[GaleraFacts, inp.LocalProgress | None]:
    """One status poll through the adapter: the facts for status, the core's input."""
    obs = port.node.observe()
    now = clock()
    status = obs.status
    if status is None:
        return GaleraFacts(None, None, obs.describe(), now), None
    facts = GaleraFacts(status.member, status.cluster_size, obs.describe(), now)
    return facts, obs.progress(now)


def galera_health(facts: GaleraFacts, unhealthy: tuple[Service, ...]) -> inp.ServiceReported | None:
    """The core's input when the poll's Galera membership differs from what the
    core last recorded (``NodeState.unhealthy``); None when it does not, or the
    poll saw nothing (an unobserved fact is no news)."""
    if facts.member is None or facts.member == (Service.GALERA not in unhealthy):
        return None
    return inp.ServiceReported(facts.at, Service.GALERA, facts.member, facts.detail)
