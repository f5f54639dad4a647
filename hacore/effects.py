"""Effects: what the runtime must do, derived from events already appended.

``effects_of(state_after, events)`` is a pure function of persisted facts, so
no effect can exist that the log does not justify (raft's "persist before
acting", by construction). Every effect carries an idempotency ``key``: a
runner that sees a key twice (say, after a crash and replay) may skip it or
re-run it safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from hacore import events as ev
from hacore.codec import Message, register
from hacore.plans import StepName
from hacore.roles import PlanKind, Role
from hacore.state import NodeState


class Effect(Message):
    __slots__ = ()
    key: str


@register
@dataclass(frozen=True, slots=True)
class RunStep(Effect):
    TYPE: ClassVar[str] = "run-step"
    key: str
    plan_id: int
    kind: PlanKind
    step: StepName
    attempt: int
    bootstrap_allowed: bool


@register
@dataclass(frozen=True, slots=True)
class StartTimer(Effect):
    TYPE: ClassVar[str] = "start-timer"
    key: str
    timer_id: int
    due: int


@register
@dataclass(frozen=True, slots=True)
class CancelTimer(Effect):
    TYPE: ClassVar[str] = "cancel-timer"
    key: str
    timer_id: int


@register
@dataclass(frozen=True, slots=True)
class Announce(Effect):
    """Tell peers this node's (durable) role and epoch now."""

    TYPE: ClassVar[str] = "announce"
    key: str
    role: Role
    epoch: int


@register
@dataclass(frozen=True, slots=True)
class SetPriorityYield(Effect):
    """Lower (or restore) this node's VRRP priority, e.g. via a keepalived track_file."""

    TYPE: ClassVar[str] = "set-priority-yield"
    key: str
    yielded: bool


@register
@dataclass(frozen=True, slots=True)
class FenceWrites(Effect):
    """Make the local business database refuse (or accept again) client writes."""

    TYPE: ClassVar[str] = "fence-writes"
    key: str
    fenced: bool


@register
@dataclass(frozen=True, slots=True)
class StopServices(Effect):
    """Best-effort, idempotent stop of what a partial promotion may have started."""

    TYPE: ClassVar[str] = "stop-services"
    key: str


@register
@dataclass(frozen=True, slots=True)
class ProbeVrrp(Effect):
    """Ask keepalived for its current state: notifications are not a complete history."""

    TYPE: ClassVar[str] = "probe-vrrp"
    key: str


# The event types for which ``effects_of`` can yield an effect (kept beside it;
# ``tests/test_store_sync.py`` checks it against ``effects_of`` for every
# registered event type). A batch holding one precedes an action, so the store
# commits it with ``synchronous=FULL`` whatever its configured mode.
EFFECT_EVENTS: tuple[type[ev.Event], ...] = (
    ev.StepStarted,  # RunStep
    ev.TimerArmed,  # StartTimer
    ev.TimerDisarmed,  # CancelTimer
    ev.RoleChanged,  # Announce, FenceWrites, StopServices
    ev.EpochOpened,  # Announce
    ev.SplitBrainDetected,  # Announce
    ev.PriorityYielded,  # SetPriorityYield
    ev.PriorityRestored,  # SetPriorityYield
    ev.Frozen,  # FenceWrites
    ev.Unfrozen,  # FenceWrites
    ev.NodeBooted,  # ProbeVrrp, StartTimer (re-armed)
)
EFFECT_EVENT_TYPES: frozenset[str] = frozenset(cls.TYPE for cls in EFFECT_EVENTS)


def effects_of(state: NodeState, events: Sequence[ev.Event]) -> list[Effect]:
    """The effects justified by ``events``, given the state after applying them."""
    out: list[Effect] = []
    node = state.name
    plan = state.plan
    for event in events:
        if isinstance(event, ev.StepStarted):
            kind = plan.kind if plan is not None and plan.plan_id == event.plan_id else None
            if kind is None:  # defensive: a plan always exists while a step runs
                continue
            out.append(
                RunStep(
                    key=f"{node}/plan-{event.plan_id}/{event.step}/{event.attempt}",
                    plan_id=event.plan_id,
                    kind=kind,
                    step=event.step,
                    attempt=event.attempt,
                    bootstrap_allowed=plan.bootstrap_allowed if plan is not None else False,
                )
            )
        elif isinstance(event, ev.TimerArmed):
            out.append(
                StartTimer(
                    key=f"{node}/timer-{event.timer_id}", timer_id=event.timer_id, due=event.due
                )
            )
        elif isinstance(event, ev.TimerDisarmed):
            out.append(CancelTimer(key=f"{node}/cancel-{event.timer_id}", timer_id=event.timer_id))
        elif isinstance(event, ev.RoleChanged | ev.EpochOpened | ev.SplitBrainDetected):
            # SplitBrainDetected: the peer must learn our frozen facts now.
            out.append(
                Announce(key=f"{node}/announce-{event.at}", role=state.role, epoch=state.epoch)
            )
            if isinstance(event, ev.RoleChanged):
                out.extend(_role_entry_effects(node, event))
        elif isinstance(event, ev.PriorityYielded):
            out.append(SetPriorityYield(key=f"{node}/yield-{event.at}", yielded=True))
        elif isinstance(event, ev.PriorityRestored):
            out.append(SetPriorityYield(key=f"{node}/restore-{event.at}", yielded=False))
        elif isinstance(event, ev.Frozen):
            out.append(FenceWrites(key=f"{node}/fence-{event.at}", fenced=True))
        elif isinstance(event, ev.Unfrozen):
            out.append(FenceWrites(key=f"{node}/unfence-{event.at}", fenced=False))
        elif isinstance(event, ev.NodeBooted):
            out.append(ProbeVrrp(key=f"{node}/probe-{event.at}"))
            # Timers are volatile: a restarted runtime has none. Re-arm what the log holds.
            for armed in state.timers:
                out.append(
                    StartTimer(
                        key=f"{node}/timer-{armed.timer_id}", timer_id=armed.timer_id, due=armed.due
                    )
                )
    # One effect per idempotency key and batch: several role/epoch events in one
    # decision are one Announce, and a timer armed by a Booted decision is not
    # started a second time by the re-arming of the log's timers.
    seen_keys: set[str] = set()
    deduped: list[Effect] = []
    for effect in out:
        if effect.key in seen_keys:
            continue
        seen_keys.add(effect.key)
        deduped.append(effect)
    return deduped


def _role_entry_effects(node: str, event: ev.RoleChanged) -> list[Effect]:
    # Only an active node takes writes: leaving active fences at once, before
    # any plan step runs; entering active (plan finished) opens them.
    if event.role is Role.ACTIVE:
        return [FenceWrites(key=f"{node}/unfence-{event.at}", fenced=False)]
    if event.role in (Role.DEMOTING, Role.FAULT):
        fence: list[Effect] = [FenceWrites(key=f"{node}/fence-{event.at}", fenced=True)]
        if event.role is Role.FAULT:
            fence.append(StopServices(key=f"{node}/stop-services-{event.at}"))
        return fence
    return []
