"""The agent: one asyncio decision loop driving the shared dispatcher.

Theory of operation
-------------------
Sources (the notify_fifo, the peer channel, timers, the operator socket, the
periodic tick that notices a silent peer) never call the core. Each puts a
*thunk* on one queue; the loop takes them one at a time:

1. the thunk hands an input to :class:`hacore.dispatch.Dispatcher` (which
   owns the runtime rules: Booted first, refused inputs wait, stale results
   ignored) and gets back the jobs of the persisted decision;
2. the loop ``await``s :meth:`StagedLog.flush`, the aiosqlite commit of
   what the core appended (``synchronous=FULL`` for batches that precede
   effects);
3. only then it starts each job as its own task, bounded by the job's
   deadline; blocking ports run in a worker thread; the outcome comes back
   through the queue as ``Dispatcher.completed``.

So the loop itself only ever waits on the queue and on the commit, and a
hung port costs one task that times out as ``Uncertain``, never the loop.

Restart: the log is verified and replayed (``Node.recover``), ``Booted``
goes first; the core then re-arms the log's timers, asks for a VRRP probe
(keepalived does not re-notify) and resumes an unfinished plan at its first
unfinished step with a new attempt (a new idempotency key).

Stop (SIGTERM): sources close, running jobs are cancelled, and each cancelled
plan step is handed back to the core as failed ("agent stopping") and
committed, so no step is left half-done without an event saying so.

Safety-first fencing: on every tick the write lease (``hacore.lease``) is
evaluated; when it lapses on an active node the Galera port's fence
operation runs (and the reverse when it is regained).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from adapters.agent.clock import AgentClock
from adapters.agent.config import AgentConfig
from adapters.agent.fifo_source import FifoSource
from adapters.agent.http_api import HttpApi
from adapters.agent.jsonlog import JsonLog
from adapters.agent.metrics import AgentMetrics
from adapters.agent.operator_socket import OperatorServer
from adapters.agent.peer_channel import PeerChannel
from adapters.agent.peer_wire import PeerMessage, PeerStatus, Receiver, Sender, new_boot_id
from adapters.agent.ports import (
    ChannelTransport,
    GaleraFacts,
    KeepalivedVip,
    LoopTimers,
    RecordingFakeGalera,
    galera_health,
    mariadb_port,
    poll_galera,
)
from adapters.agent.secret_files import Secrets
from adapters.agent.service_poll import NOT_POLLED, ServiceFacts, poll_services
from adapters.agent.service_ports import datastore_port, gluster_port, k3s_port
from adapters.agent.stagedlog import StagedLog
from adapters.keepalived.dump import DumpError, keepalived_pid
from adapters.keepalived.ingest import CoreInput
from adapters.store.aio import AsyncSqliteStore
from hacore import events as ev
from hacore import inputs as inp
from hacore.decider import Decision
from hacore.dispatch import Budgets, Call, Dispatcher, Job, Op, call_port, perform
from hacore.lease import may_write
from hacore.node import Node
from hacore.ports import Done, Failed, Outcome, PortName, Ports, Uncertain
from hacore.roles import Command, Mode, Role, VrrpStatus
from hacore.state import NodeState

Thunk = Callable[[], list[Job]]
# Ports that only schedule on the loop: called inline, never in a thread.
_INLINE_PORTS = frozenset((PortName.TIMERS, PortName.TRANSPORT))
STOP_GRACE_S = 5.0


def version() -> str:
    try:
        return metadata.version("hacore")
    except metadata.PackageNotFoundError:
        return "unknown"


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        secrets: Secrets,
        *,
        clock_us: Callable[[], int] | None = None,
        log: JsonLog | None = None,
    ) -> None:
        self.config = config
        self.cluster = config.cluster_config()
        self.name = config.node
        self._clock = clock_us or AgentClock()
        self._secrets = secrets
        self.log = log or JsonLog(self.name, self._log_context, level=config.log.level)
        self.metrics = AgentMetrics()
        self._queue: asyncio.Queue[tuple[Thunk, asyncio.Future[Any] | None]] = asyncio.Queue()
        self._tasks: dict[asyncio.Task[None], Job] = {}
        self._background: list[asyncio.Task[None]] = []
        self._stopping = False
        self.started_us = self._clock()
        self.boot_id = new_boot_id(self.started_us)
        peers = [n.name for n in config.others]
        self._last_heard: dict[str, int] = dict.fromkeys(peers, self.started_us)
        self._lease_heard: dict[str, int] = {}
        self._peer_status: dict[str, tuple[PeerStatus, int]] = {}
        self._lost: set[str] = set()
        self._lease_fenced = False
        self._keepalived_alive: bool | None = None
        self.galera_facts: GaleraFacts | None = None
        self.service_facts: ServiceFacts = NOT_POLLED
        self.galera_port: Any = None
        self._step_started: dict[tuple[int, str, int], int] = {}
        self._plan_started: dict[int, int] = {}
        self._cancelled: list[tuple[Job, Outcome]] = []
        self._plan_kind: dict[int, str] = {}
        self.input_overheads_us: list[int] = []  # decide + commit, per input (the benchmark)
        self.first_step_started_us: int | None = None
        self.vrrp_master_us: int | None = None
        # built in start()
        self.store: AsyncSqliteStore | None = None
        self.staged: StagedLog | None = None
        self.dispatcher: Dispatcher | None = None
        self.ports: Ports | None = None
        self.channel: PeerChannel | None = None
        self.fifo: FifoSource | None = None
        self.operator: OperatorServer | None = None
        self.http: HttpApi | None = None
        self.galera: RecordingFakeGalera | None = None
        self.timers: LoopTimers | None = None

    # -- context ------------------------------------------------------------------------

    @property
    def state(self) -> NodeState:
        assert self.dispatcher is not None
        return self.dispatcher.state

    def _log_context(self) -> dict[str, Any]:
        if self.dispatcher is None:
            return {"epoch": None, "role": None, "plan": None, "step": None}
        s = self.state
        plan = s.plan
        return {
            "epoch": s.epoch,
            "role": s.role.value,
            "plan": None if plan is None else f"{plan.kind.value} {plan.plan_id}",
            "step": None if plan is None else str(plan.current_step),
        }

    def writable(self) -> bool:
        if self.dispatcher is None:
            return False
        return may_write(self.cluster, self.state, self._clock(), self._lease_heard)

    def heard(self) -> list[str]:
        """Peers this node heard within the peer timeout (its reachability view)."""
        now = self._clock()
        limit = round(self.config.peer.timeout_s * 1e6)
        return sorted(p for p, (_, at) in self._peer_status.items() if now - at <= limit)

    def advertisement(self) -> PeerStatus:
        s = self.state
        ad = s.advertisement()
        plan = s.plan
        facts = self.galera_facts
        now = self._clock()
        stale_us = round(max(5.0, 3 * self.config.galera.poll_s) * 1e6)
        if facts is not None and now - facts.at > stale_us:
            facts = None  # an old poll is not an observation of now
        services = self._fresh_service_facts(now)
        return PeerStatus(
            role=ad.role,
            epoch=ad.epoch,
            committed=ad.committed,
            changes=ad.changes,
            judging=ad.judging,
            follows=ad.follows,
            vrrp=s.vrrp.value,
            writable=self.writable(),
            plan="" if plan is None else f"{plan.kind.value} {plan.plan_id}: {plan.current_step}",
            heard=tuple(self.heard()),
            galera_member=None if facts is None else facts.member,
            galera_size=None if facts is None else facts.cluster_size,
            k3s_ready=services.k3s_ready,
            replicating=services.replicating,
            gluster_ready=services.gluster_ready,
            lag_revisions=services.lag_revisions,
            lag_seconds=services.lag_seconds,
            galera_position=self._galera_position(),
        )

    # -- Galera cold start (issue 10's hook: adapters/galera/cold_start.py) ---------------

    def _galera_position(self) -> str | None:
        cold = getattr(self.galera_port, "cold_start", None)
        return None if cold is None else cold.published()

    def _peer_galera(self) -> dict[str, Any]:
        """What each peer said about its MariaDB in a fresh message (the cold start's
        view: a peer not heard within the peer timeout is unknown)."""
        from adapters.galera.cold_start import PeerGalera, parse_position

        now = self._clock()
        limit = round(self.config.peer.timeout_s * 1e6)
        out: dict[str, Any] = {}
        for peer, (st, at) in sorted(self._peer_status.items()):
            if now - at > limit:
                continue
            try:
                position = (
                    None if st.galera_position is None else parse_position(st.galera_position)
                )
            except ValueError:
                continue  # not a position this node can compare: unknown
            if st.galera_member is not None or position is not None:
                out[peer] = PeerGalera(running=st.galera_member is not None, position=position)
        return out

    async def _galera_tend_loop(self) -> None:
        """Starts a stopped MariaDB when the cold start's rule lets this node."""
        cold = self.galera_port.cold_start
        while True:
            await asyncio.sleep(self.config.galera.poll_s)
            if self.dispatcher is None or not self.dispatcher.booted:
                continue
            try:
                outcome = await asyncio.wait_for(asyncio.to_thread(cold.tend), 300.0)
            except Exception as exc:  # the tender must outlive a bad start
                self.log.error("galera cold start failed", error=f"{type(exc).__name__}: {exc}")
                continue
            if outcome is not None:
                self.log.warning(
                    "galera cold start", outcome=str(outcome.kind), detail=outcome.detail
                )

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        Path(config.store.path).parent.mkdir(parents=True, exist_ok=True)
        self.store = await AsyncSqliteStore.open(config.store.path, config=self.cluster)
        durable = await self.store.log_for(self.name)
        records = await durable.records()
        if records and isinstance(self._clock, AgentClock):
            self._clock.not_before(max(r.at for r in records))  # see adapters.agent.clock
        self.staged = StagedLog(self.name, durable, records)
        node = Node.recover(self.cluster, self.name, self.staged)
        self.dispatcher = Dispatcher(
            node,
            budgets=Budgets(effect_us=5_000_000),
            observer=self._observe,
        )
        self.log.info("log replayed", records=len(records))
        self.timers = LoopTimers(self._timer_fired, self._clock)
        g = config.galera
        galera: Any
        if g.adapter == "mariadb":
            galera = mariadb_port(config, self._secrets, lambda: self.state.epoch, self._clock)
            from adapters.galera.cold_start import ColdStart

            # these join only through their demotion (its quarantine comes first); a
            # fault node has not completed one yet
            held = (Role.ACTIVE, Role.PROMOTING, Role.DEMOTING, Role.FAULT)
            galera.cold_start = ColdStart(
                galera.node, self.name, [n.name for n in config.cluster.nodes], self._peer_galera,
                may_join=lambda: self.state.role not in held,
            )  # fmt: skip
            self._background.append(asyncio.create_task(self._galera_poll_loop(), name="galera"))
            self._background.append(asyncio.create_task(self._galera_tend_loop(), name="tend"))
        else:
            galera = self.galera = RecordingFakeGalera(
                Path(g.fake_journal), delay_s=g.fake_delay_s, clock=self._clock
            )
        self.galera_port = galera
        k = config.keepalived
        self.ports = Ports(
            vip=KeepalivedVip(
                instance=k.instance,
                priority=config.me.priority,
                track_file=Path(k.track_file),
                pid_file=Path(k.pid_file),
                json_dir=Path(k.json_dir),
                clock=self._clock,
            ),
            galera=galera,
            datastore=datastore_port(config, self._clock),
            k3s=k3s_port(config, self._clock),
            gluster=gluster_port(config, self._clock),
            transport=ChannelTransport(self._publish),
            timers=self.timers,
        )
        adapters = (config.k3s.adapter, config.datastore.adapter, config.gluster.adapter)
        if any(adapter != "disabled" for adapter in adapters):
            self._background.append(asyncio.create_task(self._service_poll_loop(), name="services"))
        p = config.peer
        key = self._secrets.peer_key.value
        self.channel = PeerChannel(
            sender=Sender(self.name, key, self.boot_id),
            receiver=Receiver(
                self.name, [n.name for n in config.cluster.nodes], key, p.max_message_bytes
            ),
            listen=(config.me.address, p.port),
            peers={n.name: (n.address, p.port) for n in config.others},
            clock_us=self._clock,
            on_message=self._peer_message,
            idle_timeout_s=max(10.0, p.timeout_s * 4),
        )
        await self.channel.start()
        self.fifo = FifoSource(k.notify_fifo, k.instance, self._clock, self._fifo_input)
        self.fifo.start()
        self.operator = OperatorServer(config.operator.socket, self._operator, self._notify_line)
        await self.operator.start()
        if config.http.enabled:
            self.http = HttpApi(
                address=config.http.address,
                port=config.http.port,
                is_active=lambda: self.state.role is Role.ACTIVE and self.writable(),
                is_standby=lambda: self.state.role is Role.STANDBY,
                is_healthy=lambda: self.dispatcher is not None and self.dispatcher.booted,
                status=self.status_doc,
                metrics=self._render_metrics,
            )
            await self.http.start()
        self._submit(lambda: self._d().boot(self._clock()))
        self._background.append(asyncio.create_task(self._tick_loop(), name="tick"))
        self.log.info("agent started", boot=self.boot_id, version=version())

    def _d(self) -> Dispatcher:
        assert self.dispatcher is not None
        return self.dispatcher

    # -- the loop ------------------------------------------------------------------------

    def _submit(self, thunk: Thunk, reply: asyncio.Future[Any] | None = None) -> None:
        if not self._stopping:
            self._queue.put_nowait((thunk, reply))

    async def run(self, stop: asyncio.Event) -> None:
        """Decide inputs until ``stop`` is set; then stop cleanly."""
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                getter = asyncio.create_task(self._queue.get())
                done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
                    break
                thunk, reply = getter.result()
                await self._process(thunk, reply)
        finally:
            stopper.cancel()
            await self.shutdown()

    async def _process(self, thunk: Thunk, reply: asyncio.Future[Any] | None) -> None:
        assert self.staged is not None
        t0 = time.perf_counter_ns()
        before = len(self.staged)
        jobs = thunk()
        await self.staged.flush()  # persist before acting (CommitFailed stops the agent)
        decided = len(self.staged) - before
        if decided:
            overhead_us = (time.perf_counter_ns() - t0) // 1000
            self.input_overheads_us.append(overhead_us)
            self.log.debug("decided", records=decided, overhead_us=overhead_us)
        if reply is not None and not reply.done():
            reply.set_result(decided)
        for job in jobs:
            self._start_job(job)

    def _start_job(self, job: Job) -> None:
        if all(call.op.port in _INLINE_PORTS for call in job.calls):
            assert self.ports is not None
            outcome = perform(self.ports, job)
            self._account(job, outcome)
            self._submit(lambda: self._d().completed(job, outcome, self._clock()))
            return
        task = asyncio.create_task(self._run_job(job), name=f"job {job.key}")
        self._tasks[task] = job
        task.add_done_callback(lambda t: self._tasks.pop(t, None))

    async def _run_job(self, job: Job) -> None:
        assert self.ports is not None
        deadline = max(call.deadline for call in job.calls)
        timeout = max(0.0, (deadline - self._clock()) / 1e6)
        step = job.step
        if step is not None and self.first_step_started_us is None:
            self.first_step_started_us = self._clock()
        self.log.debug("job started", key=job.key, effect=type(job.effect).__name__)
        try:
            outcome: Outcome = await asyncio.wait_for(
                asyncio.to_thread(perform, self.ports, job), timeout
            )
        except TimeoutError:
            outcome = Uncertain(f"deadline passed after {timeout:.3f} s")
        except asyncio.CancelledError:
            outcome = Uncertain("cancelled: agent stopping")
            self._account(job, outcome)
            if step is not None:
                # handed back by shutdown(), which commits it
                self._cancelled.append((job, outcome))
            raise
        except Exception as exc:  # a port bug must not kill the loop
            outcome = Failed(f"port raised {type(exc).__name__}: {exc}")
        self._account(job, outcome)
        self._submit(lambda: self._d().completed(job, outcome, self._clock()))

    def _account(self, job: Job, outcome: Outcome) -> None:
        kind = type(outcome).__name__.lower()
        self.metrics.effects.labels(effect=type(job.effect).__name__, outcome=kind).inc()
        if not isinstance(outcome, Done):
            reason = outcome.reason
            self.log.warning("effect not done", key=job.key, outcome=kind, reason=reason)

    # -- decisions ---------------------------------------------------------------------------

    def _observe(self, before: NodeState, decision: Decision) -> None:
        self.metrics.decisions.inc()
        after = decision.state
        for event in decision.events:
            self._observe_event(event)
        if after.role is not before.role:
            self.metrics.set_role(after.role)
            self.log.info("role changed", **{"from": before.role.value, "to": after.role.value})
        self.metrics.epoch.set(after.epoch)

    def _observe_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.StepStarted):
            self._step_started[(event.plan_id, str(event.step), event.attempt)] = event.at
            self.log.info("step started", step_name=str(event.step), attempt=event.attempt)
        elif isinstance(event, ev.StepCompleted):
            for (plan, step, _), at in list(self._step_started.items()):
                if plan == event.plan_id and step == str(event.step):
                    self.metrics.step_seconds.labels(step=step).observe((event.at - at) / 1e6)
                    del self._step_started[(plan, step, _)]
            self.log.info("step completed", step_name=str(event.step))
        elif isinstance(event, ev.PlanStarted):
            self._plan_started[event.plan_id] = event.at
            self._plan_kind[event.plan_id] = event.kind.value
            self.log.info(
                "plan started", kind=event.kind.value, steps=[str(s) for s in event.steps]
            )
        elif isinstance(event, ev.PlanFinished):
            start = self._plan_started.pop(event.plan_id, None)
            kind = self._plan_kind.pop(event.plan_id, "unknown")
            if start is not None:
                self.metrics.plan_seconds.labels(kind=kind, outcome=event.outcome).observe(
                    (event.at - start) / 1e6
                )
            self.log.info("plan finished", outcome=event.outcome)
        elif isinstance(event, ev.SplitBrainDetected):
            self.metrics.split_brains.inc()
            self.log.warning("split-brain detected", peer=event.peer)
        elif isinstance(event, ev.SplitBrainResolved):
            self.log.warning("split-brain resolved", winner=event.winner, policy=str(event.policy))
        elif isinstance(event, ev.EpochOpened):
            self.log.info("epoch opened", new_epoch=event.epoch)

    # -- sources -----------------------------------------------------------------------------

    def _offer(self, received: inp.Input) -> list[Job]:
        self.metrics.inputs.labels(kind=str(received.KIND)).inc()
        return self._d().offer(received)

    def _fifo_input(self, item: CoreInput) -> None:
        self.log.info("keepalived", line=item.record.line, seq=item.seq)
        if item.input.state.value == "MASTER" and self.vrrp_master_us is None:
            self.vrrp_master_us = item.input.at
        self._submit(lambda: self._offer(item.input))

    def _timer_fired(self, timer_id: int) -> None:
        self._submit(lambda: self._d().timer_fired(timer_id, self._clock()))

    def _notify_line(self, request: dict[str, Any]) -> None:
        self.log.info("keepalived notify (not acted on: the FIFO is the source)", notify=request)

    def _peer_message(self, message: PeerMessage) -> None:
        now = self._clock()
        self._last_heard[message.sender] = now
        self._peer_status[message.sender] = (message.status, now)
        st = message.status

        def decide() -> list[Job]:
            received = inp.PeerHeard(
                now, message.sender, st.role, st.epoch, st.committed, st.changes,
                st.judging, st.follows,
            )  # fmt: skip
            self._lost.discard(message.sender)
            jobs = self._offer(received)
            if not self._d().waiting:
                # the lease counts only heartbeats the core has taken in
                self._lease_heard[message.sender] = message.sent_us
            return jobs

        self._submit(decide)

    def _publish(self) -> None:
        if self.channel is not None and self.dispatcher is not None:
            self.channel.publish(self.advertisement())

    async def _tick_loop(self) -> None:
        interval = self.config.peer.heartbeat_s
        timeout_us = round(self.config.peer.timeout_s * 1e6)
        while True:
            await asyncio.sleep(interval)
            if self.dispatcher is None or not self.dispatcher.booted:
                continue
            now = self._clock()
            self._publish()
            for peer, at in sorted(self._last_heard.items()):
                self.metrics.peer_age.labels(peer=peer).set((now - at) / 1e6)
                if now - at > timeout_us and peer not in self._lost:
                    self._lost.add(peer)
                    self.log.warning("peer lost", peer=peer, silent_s=(now - at) / 1e6)
                    self._submit(self._peer_lost_thunk(peer))
            if self._d().backlog:
                self._submit(self._d().retry)
            self._enforce_lease(now)
            self._watch_keepalived(now)
            self._refresh_gauges()

    def _watch_keepalived(self, now: int) -> None:
        """keepalived killed writes no FIFO line: report its death as VRRP STOP.

        A SIGKILLed keepalived says nothing (no priority-0 advert, no FIFO
        line); without this the core would keep believing the last MASTER.
        """
        try:
            keepalived_pid(Path(self.config.keepalived.pid_file))
            alive = True
        except DumpError:
            alive = False
        if self._keepalived_alive and not alive:
            self.log.warning("keepalived is not running: reported as VRRP STOP")
            self._submit(lambda: self._offer(inp.VrrpReported(now, VrrpStatus.STOP, 0)))
        self._keepalived_alive = alive

    def _offer_thunk(self, received: inp.Input) -> Thunk:
        return lambda: self._offer(received)

    def _peer_lost_thunk(self, peer: str) -> Thunk:
        return lambda: self._offer(inp.PeerLost(self._clock(), peer))

    async def _galera_poll_loop(self) -> None:
        """The Galera port's poller: facts for status, LocalProgress for the core."""
        interval = self.config.galera.poll_s
        while True:
            try:
                facts, progress = await asyncio.wait_for(
                    asyncio.to_thread(poll_galera, self.galera_port, self._clock),
                    max(interval * 3, 5.0),
                )
            except TimeoutError:
                facts = GaleraFacts(None, None, "status poll timed out", self._clock())
                progress = None
            except Exception as exc:  # the poller must outlive a bad answer
                facts = GaleraFacts(None, None, f"poll failed: {exc}", self._clock())
                progress = None
            self.galera_facts = facts
            if progress is not None and self.dispatcher is not None and self.dispatcher.booted:
                if progress.committed != self.state.committed:
                    self._submit(self._offer_thunk(progress))
            health = galera_health(facts, self.state.unhealthy)
            if health is not None and self.dispatcher is not None and self.dispatcher.booted:
                self._submit(self._offer_thunk(health))  # a change of health: the core acts
            await asyncio.sleep(interval)

    async def _service_poll_loop(self) -> None:
        """k3s readiness and litestream's replicate, for status and the peers."""
        assert self.ports is not None
        k3s, datastore, gluster = self.ports.k3s, self.ports.datastore, self.ports.gluster
        interval = self.config.k3s.poll_s
        while True:
            try:
                self.service_facts = await asyncio.wait_for(
                    asyncio.to_thread(poll_services, k3s, datastore, gluster, self._clock),
                    max(interval * 3, 5.0),
                )
            except TimeoutError:
                self.service_facts = ServiceFacts(None, None, "poll timed out", self._clock())
            except Exception as exc:  # the poller must outlive a bad answer
                self.service_facts = ServiceFacts(None, None, f"poll failed: {exc}", self._clock())
            await asyncio.sleep(interval)

    def _enforce_lease(self, now: int) -> None:
        if self.cluster.mode is not Mode.SAFETY_FIRST or self.ports is None:
            return
        state = self.state
        ok = may_write(self.cluster, state, now, self._lease_heard)
        if state.role is Role.ACTIVE and not state.frozen and not ok and not self._lease_fenced:
            self._lease_fenced = True
            self.log.warning("write lease lapsed: fencing writes")
            self._lease_call(True, now)
        elif ok and self._lease_fenced:
            self._lease_fenced = False
            self.log.info("write lease regained: writes open")
            self._lease_call(False, now)

    def _lease_call(self, fenced: bool, now: int) -> None:
        assert self.ports is not None
        what = "lease-fence" if fenced else "lease-unfence"
        call = Call(
            Op.GALERA_FENCE_WRITES, f"{self.name}/{what}-{now}", now + 5_000_000, flag=fenced
        )
        ports = self.ports

        async def run() -> None:
            outcome = await asyncio.wait_for(asyncio.to_thread(call_port, ports, call), 5.0)
            if not isinstance(outcome, Done):
                self.log.error("lease fence failed", outcome=str(outcome))

        self._background.append(asyncio.create_task(run(), name=what))

    def _fresh_service_facts(self, now: int) -> ServiceFacts:
        """The last k3s/litestream poll, unless too old to say anything about now."""
        if now - self.service_facts.at > round(max(5.0, 3 * self.config.k3s.poll_s) * 1e6):
            return NOT_POLLED
        return self.service_facts

    def _refresh_gauges(self) -> None:
        self.metrics.writable.set(1 if self.writable() else 0)
        facts = self._fresh_service_facts(self._clock())
        if facts.replicating:
            self.metrics.set_replica_lag(facts.lag_revisions, facts.lag_seconds)
        else:  # a standby's replica is not "behind" anything it writes
            self.metrics.set_replica_lag(None, None)
        if self.channel is not None:
            for reason, n in self.channel.receiver.dropped.items():
                self.metrics.peer_dropped.labels(reason=reason).set(n)
            self.metrics.peer_accepted.set(self.channel.receiver.accepted)

    def _render_metrics(self) -> bytes:
        self._refresh_gauges()
        now = self._clock()
        for peer, at in sorted(self._last_heard.items()):
            self.metrics.peer_age.labels(peer=peer).set((now - at) / 1e6)
        return self.metrics.render()

    # -- operator ----------------------------------------------------------------------------

    async def _operator(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "status":
            return {"ok": True, "status": self.status_doc()}
        commands = {
            "switchover": (Command.SWITCHOVER, "target"),
            "resolve": (Command.RESOLVE, "winner"),
            "clear-fault": (Command.CLEAR_FAULT, None),
        }
        if op not in commands:
            return {"ok": False, "error": f"unknown op {op!r}"}
        command, field = commands[str(op)]
        target = request.get(field, "") if field else ""
        if not isinstance(target, str):
            return {"ok": False, "error": f"{field} must be a node name"}
        names = [n.name for n in self.config.cluster.nodes]
        if target and target not in names:
            return {"ok": False, "error": f"{target!r} is not a node of the cluster"}
        if command is Command.RESOLVE and not target:
            return {"ok": False, "error": "resolve needs --winner NODE"}
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        before = self.state.role
        self._submit(
            lambda: self._offer(inp.OperatorCommand(self._clock(), command, target)), future
        )
        decided = await asyncio.wait_for(future, 10.0)
        self.log.info("operator command", command=command.value, target=target, decided=decided)
        rejected = self._last_rejection()
        return {
            "ok": decided > 0 and rejected is None,
            "decided": decided,
            "role_before": before.value,
            "role": self.state.role.value,
            "rejected": rejected,
        }

    def _last_rejection(self) -> str | None:
        assert self.staged is not None
        records = list(self.staged.records(max(1, len(self.staged) - 8)))
        for record in reversed(records):
            message = record.message()
            if isinstance(message, inp.OperatorCommand):
                return None
            if isinstance(message, ev.OperatorRejected):
                return str(getattr(message, "reason", "rejected"))
        return None

    def status_doc(self) -> dict[str, Any]:
        """This node's view: itself, and each peer as last heard over the channel."""
        now = self._clock()
        s = self.state
        timeout_us = round(self.config.peer.timeout_s * 1e6)
        peers: dict[str, Any] = {}
        for other in self.config.others:
            seen = self._peer_status.get(other.name)
            if seen is None:
                peers[other.name] = None
                continue
            status, at = seen
            peers[other.name] = {
                **status.to_json(),
                "age_s": round((now - at) / 1e6, 3),
                "fresh": now - at <= timeout_us,
            }
        svc = self.config.services
        receiver = self.channel.receiver if self.channel is not None else None
        return {
            "version": version(),
            "node": self.name,
            "deployment": self.config.cluster.deployment,
            "virtual_ip": self.config.cluster.virtual_ip,
            "nodes": [{"name": n.name, "address": n.address} for n in self.config.cluster.nodes],
            "mode": self.cluster.mode.value,
            "policy": self.cluster.policy.value,
            "now_us": now,
            "started_us": self.started_us,
            "self": {
                **self.advertisement().to_json(),
                "booted": self._d().booted,
                "frozen": s.frozen,
                "lease_fenced": self._lease_fenced,
                "litestream_lag": self.service_facts.lag,
            },
            "peers": peers,
            "services": {
                "k3s": svc.k3s,
                "galera": svc.galera,
                "gluster": svc.gluster,
                "litestream": svc.litestream,
            },
            "galera_adapter": self.config.galera.adapter,
            "galera_members": self.config.cluster.galera_members,
            "adapters": {
                "galera": self.config.galera.adapter,
                "datastore": self.config.datastore.adapter,
                "k3s": self.config.k3s.adapter,
                "gluster": self.config.gluster.adapter,
            },
            "peer_channel": None
            if receiver is None
            else {"accepted": receiver.accepted, "dropped": dict(receiver.dropped)},
        }

    # -- stop --------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self.log.info("agent stopping")
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.timers is not None:
            self.timers.cancel_all()
        if self.fifo is not None:
            self.fifo.close()
        for closer in (self.operator, self.http, self.channel):
            if closer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closer.close(), STOP_GRACE_S)
        # Cancel running jobs; a cancelled plan step becomes a failed attempt in the log.
        self._cancelled = []
        running = list(self._tasks)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.dispatcher is not None and self.staged is not None:
            for job, outcome in self._cancelled:
                self.dispatcher.completed(job, outcome, self._clock())  # jobs not run: stopping
            with contextlib.suppress(Exception):
                await self.staged.flush()
        if self.store is not None:
            await self.store.close()
        self.log.info("agent stopped")
