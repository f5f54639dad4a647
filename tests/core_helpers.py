# mypy: disable-error-code="comparison-overlap"
# (role checks before and after a state-changing call look non-overlapping to mypy)
"""Shared helpers for the core's tests: cluster configs, a node driver, strategies.

The strategies build inputs *against a state* (step results that match the
running plan, timers that are armed), mixed with stale and arbitrary values,
so random sequences reach deep states instead of bouncing off guards.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from hypothesis import strategies as st

from hacore import events as ev
from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec, Services, Timing
from hacore.decider import Decision
from hacore.inputs import InputKind
from hacore.node import Node
from hacore.plans import plan_steps
from hacore.roles import (
    Command,
    Mode,
    PeerRole,
    PlanKind,
    Policy,
    Role,
    Service,
    TimerPurpose,
    VrrpStatus,
)
from hacore.state import ArmedTimer, NodeState, PeerView, PlanProgress

SEC = 1_000_000


def cluster(
    n: int = 2,
    mode: Mode = Mode.AVAILABILITY_FIRST,
    policy: Policy = Policy.VRRP_WINNER,
    witness: str | None = None,
    services: Services | None = None,
    priorities: tuple[int, ...] | None = None,
) -> ClusterConfig:
    """Nodes a, b, c, ... at 10.0.0.1, .2, ...; a has the highest priority."""
    prios = priorities or tuple(150 - 10 * i for i in range(n))
    nodes = tuple(NodeSpec(chr(ord("a") + i), f"10.0.0.{i + 1}", prios[i]) for i in range(n))
    return ClusterConfig(
        nodes,
        mode=mode,
        policy=policy,
        witness=witness,
        services=services or Services(),
        timing=Timing(),
    )


class Driver:
    """A Node with a clock and shorthands for the inputs a runtime would feed it."""

    def __init__(self, config: ClusterConfig, name: str, node: Node | None = None) -> None:
        self.config = config
        self.name = name
        self.node = node or Node(config, name)
        self.now = 0
        self.decisions: list[tuple[inp.Input, Decision]] = []

    @property
    def state(self) -> NodeState:
        return self.node.state

    @property
    def role(self) -> Role:
        return self.node.state.role

    def feed(self, received: inp.Input) -> Decision:
        self.now = max(self.now, received.at)
        decision = self.node.handle(received)
        self.decisions.append((received, decision))
        return decision

    def tick(self, us: int = 1000) -> int:
        self.now += us
        return self.now

    # -- shorthands ---------------------------------------------------------
    def boot(self) -> Decision:
        return self.feed(inp.Booted(self.tick()))

    def vrrp(self, status: VrrpStatus, priority: int | None = None) -> Decision:
        prio = self.config.node(self.name).priority if priority is None else priority
        return self.feed(inp.VrrpReported(self.tick(), status, prio))

    def heard(
        self,
        peer: str,
        role: PeerRole,
        epoch: int = 0,
        committed: int = 0,
        changes: int = 0,
        judging: bool = False,
        follows: str = "",
    ) -> Decision:
        return self.feed(
            inp.PeerHeard(self.tick(), peer, role, epoch, committed, changes, judging, follows)
        )

    def lost(self, peer: str) -> Decision:
        return self.feed(inp.PeerLost(self.tick(), peer))

    def progress(self, committed: int) -> Decision:
        return self.feed(inp.LocalProgress(self.tick(), committed))

    def operator(self, command: Command, target: str = "") -> Decision:
        return self.feed(inp.OperatorCommand(self.tick(), command, target))

    def succeed(self) -> Decision:
        plan = self.state.plan
        assert plan is not None, "no plan is running"
        return self.feed(
            inp.StepSucceeded(self.tick(), plan.plan_id, plan.current_step, plan.attempt)
        )

    def fail(self, reason: str = "exit status 1") -> Decision:
        plan = self.state.plan
        assert plan is not None, "no plan is running"
        return self.feed(
            inp.StepFailed(self.tick(), plan.plan_id, plan.current_step, plan.attempt, reason)
        )

    def fire(self, purpose: TimerPurpose) -> Decision:
        """Fire the armed timer of ``purpose`` at its due time."""
        armed = self.state.timer_for(purpose)
        assert armed is not None, f"no {purpose} timer armed"
        self.now = max(self.now, armed.due)
        return self.feed(inp.TimerFired(self.now, armed.timer_id))

    def fire_id(self, timer_id: int) -> Decision:
        return self.feed(inp.TimerFired(self.tick(), timer_id))

    def run_plan(self) -> None:
        """Succeed every step of the running plan."""
        while self.state.plan is not None:
            self.succeed()

    def promote(self) -> None:
        """From a fresh node: become active (VRRP master, plan completed)."""
        self.vrrp(VrrpStatus.MASTER)
        assert self.role is Role.PROMOTING, self.role
        self.run_plan()
        assert self.role is Role.ACTIVE, self.role


def all_events(decisions: Iterable[tuple[inp.Input, Decision]]) -> list[ev.Event]:
    return [e for _, d in decisions for e in d.events]


def events_of_type(decision: Decision, cls: type[ev.Event]) -> list[Any]:
    return [e for e in decision.events if isinstance(e, cls)]


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

ATS = st.integers(min_value=0, max_value=200 * SEC)
SMALL = st.integers(min_value=0, max_value=50)


def peer_names(config: ClusterConfig, name: str) -> list[str]:
    names = [n.name for n in config.nodes if n.name != name]
    if config.witness is not None:
        names.append(config.witness)
    return names


@st.composite
def node_states(draw: st.DrawFn, config: ClusterConfig, name: str, role: Role) -> NodeState:
    """Any state a node of ``role`` can be in (the invariants evolve maintains)."""
    epoch = draw(st.integers(0, 40))
    max_seen = epoch + draw(st.integers(0, 10))
    plan: PlanProgress | None = None
    next_plan_id = draw(st.integers(1, 20))
    if role in (Role.PROMOTING, Role.DEMOTING):
        kind = PlanKind.PROMOTION if role is Role.PROMOTING else PlanKind.DEMOTION
        steps = plan_steps(kind, config)
        plan = PlanProgress(
            plan_id=next_plan_id,
            kind=kind,
            steps=steps,
            index=draw(st.integers(0, len(steps) - 1)),
            attempt=draw(st.integers(0, config.timing.max_attempts)),
            bootstrap_allowed=draw(st.booleans()),
        )
        next_plan_id += 1
    purposes = draw(st.lists(st.sampled_from(list(TimerPurpose)), max_size=4))
    timers = tuple(ArmedTimer(i + 1, p, draw(ATS)) for i, p in enumerate(purposes))
    others = peer_names(config, name)
    peers: list[PeerView] = []
    for peer in others:
        if draw(st.booleans()):
            is_witness = peer == config.witness
            prole = PeerRole.WITNESS if is_witness else draw(st.sampled_from(list(PeerRole)))
            peers.append(
                PeerView(
                    peer,
                    prole,
                    draw(st.integers(0, max_seen)),
                    draw(SMALL),
                    draw(SMALL),
                    draw(st.booleans()),
                )
            )
    data_peers = [p for p in others if p != config.witness]
    split_peer = draw(st.sampled_from(["", *data_peers]))
    frozen = split_peer != "" and role is Role.ACTIVE and config.policy is Policy.MANUAL
    frozen = frozen and draw(st.booleans())
    committed = draw(SMALL)
    return NodeState(
        name=name,
        role=role,
        epoch=epoch,
        max_epoch_seen=max_seen,
        vrrp=draw(st.sampled_from(list(VrrpStatus))),
        vrrp_priority=draw(st.integers(0, 255)),
        plan=plan,
        next_plan_id=next_plan_id,
        next_timer_id=len(timers) + 1 + draw(st.integers(0, 3)),
        timers=timers,
        peers=tuple(sorted(peers, key=lambda p: p.name)),
        committed=committed,
        committed_at_loss=draw(st.none() | st.integers(0, committed)),
        split_peer=split_peer,
        split_peer_epoch=draw(st.integers(0, max_seen)) if split_peer else 0,
        split_winner=(
            "" if not split_peer or frozen else draw(st.sampled_from(["", name, split_peer]))
        ),
        frozen=frozen,
        priority_yielded=draw(st.booleans()),
        quorum_lost=draw(st.booleans()),
        hold_down_until=draw(st.integers(0, 100 * SEC)),
        unhealthy=tuple(sorted(draw(st.sets(st.sampled_from(list(Service)))))),
        service_repairs=draw(st.integers(0, 4)),
        promotion_parked=draw(st.booleans()),
    )


@st.composite
def inputs_for(
    draw: st.DrawFn,
    config: ClusterConfig,
    name: str,
    state: NodeState,
    kind: InputKind | None = None,
    at: int | None = None,
) -> inp.Input:
    """An input of ``kind`` (any kind when None), mostly relevant to ``state``."""
    if kind is None:
        kind = draw(st.sampled_from(list(InputKind)))
    t = draw(ATS) if at is None else at
    others = peer_names(config, name)
    plan = state.plan
    if kind is InputKind.VRRP:
        prio = config.node(name).priority
        if draw(st.integers(0, 5)) == 0:  # keepalived's MASTER_RX_LOWER_PRI line
            return inp.VrrpLowerPriorityReported(t, VrrpStatus.MASTER, prio)
        return inp.VrrpReported(
            t, draw(st.sampled_from(list(VrrpStatus))), draw(st.sampled_from([prio, 0, 50, 254]))
        )
    if kind is InputKind.PEER_HEARD:
        peer = draw(st.sampled_from(others))
        if peer == config.witness:
            role = draw(st.sampled_from([PeerRole.WITNESS, PeerRole.ACTIVE]))
        else:
            role = draw(st.sampled_from(list(PeerRole)))
        votes = ["", name, peer, *others]
        view = state.peer(peer)
        if view is not None and draw(st.integers(0, 2)) == 0:
            # Most heartbeats repeat the stored view: sometimes all of it, sometimes
            # all but the vote or the judging flag (the fields easiest to overlook).
            follows = view.follows if draw(st.booleans()) else draw(st.sampled_from(votes))
            heard = (view.role, view.epoch, view.committed, view.changes)
            return inp.PeerHeard(t, peer, *heard, draw(st.booleans()), follows)
        epoch = draw(st.integers(0, state.max_epoch_seen + 4))
        return inp.PeerHeard(
            t,
            peer,
            role,
            epoch,
            draw(SMALL),
            draw(SMALL),
            draw(st.booleans()),
            draw(st.sampled_from(votes)),
        )
    if kind is InputKind.PEER_LOST:
        return inp.PeerLost(t, draw(st.sampled_from(others)))
    if kind in (InputKind.STEP_SUCCEEDED, InputKind.STEP_FAILED):
        if plan is not None and plan.attempt > 0 and draw(st.integers(0, 3)) > 0:
            plan_id, step, attempt = plan.plan_id, plan.current_step, plan.attempt
        else:  # a stale or foreign result
            plan_id = draw(st.integers(0, state.next_plan_id + 1))
            step = draw(st.sampled_from(plan_steps(PlanKind.PROMOTION, config)))
            attempt = draw(st.integers(1, 4))
        if kind is InputKind.STEP_SUCCEEDED:
            return inp.StepSucceeded(t, plan_id, step, attempt)
        return inp.StepFailed(t, plan_id, step, attempt, "boom")
    if kind is InputKind.TIMER_FIRED:
        armed = [a.timer_id for a in state.timers]
        if armed and draw(st.integers(0, 3)) > 0:
            return inp.TimerFired(t, draw(st.sampled_from(armed)))
        return inp.TimerFired(t, draw(st.integers(0, state.next_timer_id + 2)))
    if kind is InputKind.OPERATOR:
        command = draw(st.sampled_from(list(Command)))
        target = draw(st.sampled_from(["", name, *others]))
        return inp.OperatorCommand(t, command, target)
    if kind is InputKind.BOOTED:
        return inp.Booted(t)
    if kind is InputKind.SERVICE:
        service = draw(st.sampled_from(list(Service)))
        return inp.ServiceReported(t, service, draw(st.booleans()), "probe")
    assert kind is InputKind.PROGRESS
    return inp.LocalProgress(t, state.committed + draw(st.integers(0, 5)))


CONFIGS = st.builds(
    cluster,
    n=st.integers(2, 5),
    mode=st.sampled_from(list(Mode)),
    policy=st.sampled_from(list(Policy)),
    witness=st.sampled_from([None, "w"]),
)


def random_run(
    data: st.DataObject, config: ClusterConfig, name: str, max_steps: int = 40
) -> Driver:
    """Drive a fresh node through a hypothesis-chosen input sequence (time moves forward)."""
    driver = Driver(config, name)
    n = data.draw(st.integers(1, max_steps), label="steps")
    for _ in range(n):
        at = driver.now + data.draw(st.integers(0, 40 * SEC), label="dt")
        received = data.draw(inputs_for(config, name, driver.state, at=at))
        driver.feed(received)
    return driver


_M = TypeVar("_M")


def minimal_value(hint: Any) -> Any:
    """A fixed, valid value of a codec field type (ints are 7, strings "x")."""
    if hint is bool:
        return True
    if hint is int:
        return 7
    if hint is float:
        return 1.5
    if hint is str:
        return "x"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return minimal_value(inner)
    if origin is tuple:
        return (minimal_value(typing.get_args(hint)[0]),)
    raise TypeError(hint)


def minimal_message(cls: type[_M]) -> _M:
    """A deterministic value of a registered message class, every field minimal."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return cls(**{f.name: minimal_value(hints[f.name]) for f in fields})
