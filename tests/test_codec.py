"""The JSON form of every input, event and effect: round trip and strict decoding."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from typing import Any

import pytest
from core_helpers import minimal_message
from hypothesis import given, settings
from hypothesis import strategies as st

import hacore.effects
import hacore.events
import hacore.inputs
from hacore import codec
from hacore.codec import DecodeError, Message

TYPES = codec.registered_types()


def strategy_for(hint: Any, name: str = "") -> st.SearchStrategy[Any]:
    """A hypothesis strategy for one field type of the codec's small vocabulary.

    Integers span the whole range the field takes (``codec.int_bounds``), ends included.
    """
    if hint is bool:
        return st.booleans()
    if hint is int:
        lo, hi = codec.int_bounds(name)
        return st.integers(min_value=lo, max_value=hi) | st.sampled_from([lo, hi])
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if hint is str:
        return st.text(max_size=20)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return st.none() | strategy_for(inner, name)
    if origin is tuple:
        item, _ = typing.get_args(hint)
        return st.lists(strategy_for(item, name), max_size=5).map(tuple)
    raise TypeError(f"no strategy for {hint!r}")


def messages_of(cls: type[Message]) -> st.SearchStrategy[Message]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for(hints[f.name], f.name) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return st.builds(cls, **fields)


ANY_MESSAGE = st.sampled_from(sorted(TYPES)).flatmap(lambda name: messages_of(TYPES[name]))


def _minimal(cls: type[Message]) -> Message:
    """A deterministic value of ``cls``, for the decode-error tests."""
    return minimal_message(cls)


def test_inputs_events_and_effects_are_all_registered() -> None:
    expected = (
        set(hacore.inputs.INPUT_TYPES)
        | set(hacore.events.EVENT_TYPES)
        | {
            v
            for v in vars(hacore.effects).values()
            if isinstance(v, type)
            and issubclass(v, hacore.effects.Effect)
            and v is not hacore.effects.Effect
        }
    )
    assert set(TYPES.values()) == expected


@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_registered_type_is_a_frozen_slotted_dataclass(name: str) -> None:
    cls = TYPES[name]
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen
    assert "__slots__" in cls.__dict__
    assert cls.TYPE == name


@settings(max_examples=400)
@given(ANY_MESSAGE)
def test_encoding_then_decoding_gives_the_same_value(message: Message) -> None:
    text = codec.dumps(message)
    assert codec.loads(text) == message
    assert codec.decode(json.loads(text)) == message
    # Canonical: encoding the decoded value gives the same bytes.
    assert codec.dumps(codec.loads(text)) == text


@pytest.mark.parametrize("name", sorted(TYPES))
def test_json_form_has_type_version_and_payload(name: str) -> None:
    data = codec.encode(_minimal(TYPES[name]))
    assert set(data) == {"type", "v", "payload"}
    assert data["type"] == name
    assert data["v"] == TYPES[name].VERSION


def _form(name: str) -> dict[str, Any]:
    return json.loads(codec.dumps(_minimal(TYPES[name])))  # type: ignore[no-any-return]


def test_unknown_type_is_a_decode_error_naming_it() -> None:
    with pytest.raises(DecodeError, match="unknown message type 'no-such-thing'"):
        codec.decode({"type": "no-such-thing", "v": 1, "payload": {}})


@pytest.mark.parametrize("name", sorted(TYPES))
def test_unknown_version_is_a_decode_error_naming_type_and_version(name: str) -> None:
    data = _form(name)
    data["v"] = 99
    with pytest.raises(DecodeError, match=rf"{name}: unsupported version 99"):
        codec.decode(data)


def test_version_must_be_an_integer_not_a_boolean() -> None:
    with pytest.raises(DecodeError, match="non-integer 'v'"):
        codec.decode({"type": "booted", "v": True, "payload": {"at": 1}})


def _fields(name: str) -> list[str]:
    return [f.name for f in dataclasses.fields(TYPES[name])]  # type: ignore[arg-type]


FIELD_CASES = [(name, field) for name in sorted(TYPES) for field in _fields(name)]


@pytest.mark.parametrize(("name", "field"), FIELD_CASES)
def test_missing_field_is_a_decode_error_naming_the_field(name: str, field: str) -> None:
    data = _form(name)
    del data["payload"][field]
    with pytest.raises(DecodeError, match=rf"{name}: missing field '{field}'"):
        codec.decode(data)


@pytest.mark.parametrize("name", sorted(TYPES))
def test_extra_field_is_a_decode_error_naming_the_field(name: str) -> None:
    data = _form(name)
    data["payload"]["surprise"] = 1
    with pytest.raises(DecodeError, match=rf"{name}: unknown field\(s\) \['surprise'\]"):
        codec.decode(data)


def _wrong_value(hint: Any) -> Any:
    """A JSON value that is not of type ``hint`` (and not None for optionals)."""
    if hint is str or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
        return 12
    if typing.get_origin(hint) is tuple:
        return "not-a-list"
    return "not-a-number"


@pytest.mark.parametrize(("name", "field"), FIELD_CASES)
def test_ill_typed_field_is_a_decode_error_naming_the_field(name: str, field: str) -> None:
    hint = typing.get_type_hints(TYPES[name])[field]
    data = _form(name)
    data["payload"][field] = _wrong_value(hint)
    with pytest.raises(DecodeError, match=rf"{name}\.{field}"):
        codec.decode(data)


INT_FIELDS = [
    (name, field)
    for name, field in FIELD_CASES
    if typing.get_type_hints(TYPES[name])[field] in (int, int | None)
]


@pytest.mark.parametrize(("name", "field"), INT_FIELDS)
def test_a_boolean_is_not_accepted_as_an_integer(name: str, field: str) -> None:
    data = _form(name)
    data["payload"][field] = True
    with pytest.raises(DecodeError, match=rf"{name}\.{field}: expected an integer, got bool"):
        codec.decode(data)


def test_an_integer_is_not_accepted_as_a_boolean() -> None:
    data = _form("plan-started")
    data["payload"]["bootstrap_allowed"] = 1
    with pytest.raises(DecodeError, match=r"plan-started\.bootstrap_allowed: expected a boolean"):
        codec.decode(data)


def test_enum_value_outside_the_enum_names_the_allowed_values() -> None:
    data = _form("vrrp-reported")
    data["payload"]["state"] = "LEADER"
    with pytest.raises(DecodeError, match=r"vrrp-reported\.state: 'LEADER' is not one of INIT"):
        codec.decode(data)


def test_tuple_items_are_checked_one_by_one() -> None:
    data = _form("plan-started")
    data["payload"]["steps"] = ["mark_active", 3]
    with pytest.raises(DecodeError, match=r"plan-started\.steps\[1\]: 3 is not one of"):
        codec.decode(data)


def test_a_step_name_outside_the_catalogue_is_refused() -> None:
    # Step identity is one enum (hacore.plans.StepName): the codec is the only
    # place a step name is a string, and it refuses one no plan knows.
    data = _form("plan-started")
    data["payload"]["steps"] = ["mark_active", "reboot_everything"]
    with pytest.raises(DecodeError, match=r"plan-started\.steps\[1\]: 'reboot_everything'"):
        codec.decode(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "expected an object"),
        ('{"type": "booted", "v": 1}', "booted: payload must be an object"),
        ('{"type": "booted", "v": 1, "payload": {"at": 1}, "x": 0}', "unexpected top-level"),
        ('{"v": 1, "payload": {}}', "missing or non-string 'type'"),
        ("{not json", "not JSON"),
    ],
)
def test_malformed_documents_are_decode_errors(text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        codec.loads(text)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)
