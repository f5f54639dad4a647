"""Every generated copy equals its plain twin: hacore.codegen's fast paths never change a value.

The copies the replay, the VRRP model and the log use are generated from the
classes' fields (hacore.codegen); ``dataclasses.replace`` and the classes' own
constructors stay the definition. These hold each generated function to its
twin on random values, and check the generator refuses a class it would get
wrong (one that validates in ``__post_init__``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from core_helpers import CONFIGS, node_states
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hacore import codegen, evolve, vrrp
from hacore.config import ClusterConfig
from hacore.log import LogRecord, new_record
from hacore.roles import Role, VrrpStatus
from hacore.state import NodeState, PeerView, PlanProgress

SETTINGS = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def two_states(draw: st.DrawFn) -> tuple[NodeState, NodeState]:
    """A state, and another of the same node whose fields serve as new values."""
    config: ClusterConfig = draw(CONFIGS)
    name = config.nodes[0].name
    state = draw(node_states(config, name, draw(st.sampled_from(list(Role)))))
    return state, draw(node_states(config, name, draw(st.sampled_from(list(Role)))))


@SETTINGS
@given(data=st.data(), states=two_states())
def test_the_state_replacer_equals_dataclasses_replace(
    data: st.DataObject, states: tuple[NodeState, NodeState]
) -> None:
    state, donor = states
    names = data.draw(st.lists(st.sampled_from([f.name for f in dataclasses.fields(NodeState)])))
    changes = {name: getattr(donor, name) for name in names}
    assert evolve._replace_state(state, **changes) == dataclasses.replace(state, **changes)


@SETTINGS
@given(states=two_states())
def test_every_state_copier_of_the_replay_equals_dataclasses_replace(
    states: tuple[NodeState, NodeState],
) -> None:
    state, donor = states
    copiers = {
        ("timers",): evolve._set_timers,
        ("timers", "next_timer_id"): evolve._set_timers_next,
        ("plan",): evolve._set_plan,
        ("role",): evolve._set_role,
        ("vrrp", "vrrp_priority"): evolve._set_vrrp,
        ("committed",): evolve._set_committed,
        ("plan", "next_plan_id"): evolve._set_plan_next,
        ("peers", "max_epoch_seen"): evolve._set_peers_seen,
        ("epoch", "max_epoch_seen"): evolve._set_epoch,
    }
    for names, copier in copiers.items():
        values = [getattr(donor, n) for n in names]
        assert copier(state, *values) == dataclasses.replace(
            state, **dict(zip(names, values, strict=True))
        )


@SETTINGS
@given(
    index=st.integers(0, 9),
    attempt=st.integers(0, 5),
    reachable=st.booleans(),
    epoch=st.integers(0, 50),
)
def test_plan_and_peer_copies_equal_dataclasses_replace(
    index: int, attempt: int, reachable: bool, epoch: int
) -> None:
    plan = PlanProgress(3, "promotion", ("a", "b"), 1, 1, False)  # type: ignore[arg-type]
    assert evolve._set_plan_step(plan, index, attempt) == dataclasses.replace(
        plan, index=index, attempt=attempt
    )
    view = PeerView("b", "active", 1, 2, 3, True, "")  # type: ignore[arg-type]
    changed: dict[str, Any] = {"reachable": reachable, "epoch": epoch}
    assert evolve._replace_peer(view, **changed) == dataclasses.replace(view, **changed)


@SETTINGS
@given(
    kind=st.sampled_from(list(vrrp.TimerKind)),
    due=st.none() | st.integers(0, 10**9),
    generation=st.integers(0, 99),
    interval=st.integers(10_000, 40_950_000),
    state=st.sampled_from(list(VrrpStatus)),
)
def test_the_vrrp_router_copies_equal_dataclasses_replace(
    kind: vrrp.TimerKind, due: int | None, generation: int, interval: int, state: Any
) -> None:
    router = vrrp.VrrpRouter.initial(vrrp.VrrpConfig(100, 1_000_000, "10.0.0.1"))
    timer: dict[str, Any] = {"timer_kind": kind, "timer_due": due, "timer_generation": generation}
    assert vrrp._set_timer(router, kind, due, generation) == dataclasses.replace(router, **timer)
    both: dict[str, Any] = {"master_adver_interval_us": interval, **timer}
    assert vrrp._set_interval_timer(router, interval, kind, due, generation) == (
        dataclasses.replace(router, **both)
    )
    assert vrrp._set_state_interval_timer(router, state, interval, kind, due, generation) == (
        dataclasses.replace(router, state=state, **both)
    )


@SETTINGS
@given(
    seq=st.integers(1, 10**6),
    text=st.text(max_size=20),
    number=st.integers(0, 10**12),
)
def test_the_record_constructor_equals_the_class_constructor(
    seq: int, text: str, number: int
) -> None:
    values = (seq, text, number, number, "event", text, 1, "{}", text, text)
    made = new_record(*values)
    assert made == LogRecord(*values)
    assert type(made) is LogRecord


def test_the_replacer_refuses_an_unknown_field_like_dataclasses_replace() -> None:
    state = NodeState(name="a")
    with pytest.raises(TypeError, match="unknown fields"):
        evolve._replace_state(state, no_such_field=1)


def test_a_class_that_validates_in_post_init_gets_no_generated_copy() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True)
    class NotSlotted:
        value: int

    with pytest.raises(TypeError, match="__post_init__"):
        codegen.slot_copier(Checked, "value")
    with pytest.raises(TypeError, match="slotted"):
        codegen.slot_replacer(NotSlotted)
    with pytest.raises(TypeError, match="no fields"):
        codegen.slot_copier(PeerView, "nonsense")


def test_the_generated_source_is_readable() -> None:
    source = codegen.generated_source("NodeState.copy(role)")
    assert source.startswith("def copier(obj, role):")
    assert "obj.name" in source and "role)" in source
