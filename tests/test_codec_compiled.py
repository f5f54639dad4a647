"""The compiled per-class codec and log fast paths agree with the generic code.

``hacore.codec`` compiles a payload encoder and decoder per class, and
``hacore.log`` builds records without the frozen ``__init__``; the generic
functions they shortcut stay the definition. These tests hold the two equal
on random values, including values the fast paths must hand back to the
generic code (wrong JSON types, missing and extra fields, odd whitespace).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_codec import ANY_MESSAGE, TYPES

from hacore import codec
from hacore import events as ev
from hacore import inputs as inp
from hacore.log import GENESIS_HASH, LogRecord, make_records, new_record, record_hash
from hacore.roles import Role

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # the error's type and message must match too
        return (type(exc).__name__, str(exc))


@settings(max_examples=500)
@given(ANY_MESSAGE)
def test_compiled_payload_json_is_the_canonical_json_of_the_payload(message: Any) -> None:
    assert codec.payload_json(message) == codec.canonical_json(codec.payload_of(message))


@settings(max_examples=300)
@given(st.sampled_from(sorted(TYPES)), st.data())
def test_compiled_payload_json_matches_on_mistyped_field_values(name: str, data: Any) -> None:
    # Dataclasses do not check types: a value of the wrong type must still be
    # written exactly as the canonical encoder writes it.
    cls = TYPES[name]
    values = {
        f.name: data.draw(JSON_SCALARS | st.tuples(JSON_SCALARS), label=f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }
    message = cls(**values)
    assert codec.payload_json(message) == codec.canonical_json(codec.payload_of(message))


@settings(max_examples=500)
@given(ANY_MESSAGE, st.data())
def test_compiled_decoder_matches_the_checked_decoder(message: Any, data: Any) -> None:
    name = message.TYPE
    payload = json.loads(codec.payload_json(message))
    variant = data.draw(st.sampled_from(["as-is", "drop", "extra", "retype", "version"]))
    if variant == "drop" and payload:
        del payload[data.draw(st.sampled_from(sorted(payload)))]
    elif variant == "extra":
        payload[data.draw(st.text(max_size=6))] = data.draw(JSON_VALUES)
    elif variant == "retype" and payload:
        payload[data.draw(st.sampled_from(sorted(payload)))] = data.draw(JSON_VALUES)
    version = message.VERSION + (1 if variant == "version" else 0)
    fast = _outcome(codec.decode_payload, name, version, dict(payload))
    slow = _outcome(codec._decode_payload_checked, name, version, dict(payload))
    assert fast == slow
    if variant == "as-is":
        assert fast == ("ok", message)


def test_compiled_decoder_refuses_a_bool_for_an_int_and_a_list_for_a_string() -> None:
    good = {"at": 1, "timer_id": 2}
    assert codec.decode_payload("timer-fired", 1, good) == inp.TimerFired(1, 2)
    for bad in ({"at": True, "timer_id": 2}, {"at": 1, "timer_id": [2]}):
        fast = _outcome(codec.decode_payload, "timer-fired", 1, bad)
        assert fast[0] == "DecodeError"
        assert fast == _outcome(codec._decode_payload_checked, "timer-fired", 1, bad)


def test_compiled_enum_decoding_accepts_only_member_values() -> None:
    payload = {"at": 1, "role": "active", "reason": "r"}
    decoded = codec.decode_payload("role-changed", 1, payload)
    assert isinstance(decoded, ev.RoleChanged) and decoded.role is Role.ACTIVE
    for bad in ("ACTIVE", "Role.ACTIVE", 1, ["active"], None):
        payload["role"] = bad
        fast = _outcome(codec.decode_payload, "role-changed", 1, dict(payload))
        assert fast[0] == "DecodeError"
        assert fast == _outcome(codec._decode_payload_checked, "role-changed", 1, dict(payload))


def test_generated_source_is_readable_and_small() -> None:
    for name in TYPES:
        for part in ("payload_json", "decode"):
            source = codec._generated_source(f"{name}.{part}")
            assert source.startswith(f"def {part}(")
            assert len(source.splitlines()) < 80


@settings(max_examples=300)
@given(
    st.text(max_size=30)
    | JSON_VALUES.map(lambda v: json.dumps(v, separators=(",", ":")))
    | st.tuples(JSON_VALUES, st.sampled_from(["", " ", "\n", "\ufeff", " x", "}"])).map(
        lambda pair: (
            pair[1] + json.dumps(pair[0]) if pair[1] == "\ufeff" else json.dumps(pair[0]) + pair[1]
        )
    )
)
def test_parse_json_is_json_loads(text: str) -> None:
    assert _outcome(codec.parse_json, text) == _outcome(_typed_json_loads, text)


def _typed_json_loads(text: str) -> Any:
    """json.loads with its errors as parse_json types them."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise codec.JsonError(f"not JSON: {exc}") from None


def _reference_records(
    node: str, start_seq: int, prev_hash: str, epoch: int, entries: list[codec.Message]
) -> list[LogRecord]:
    """make_records as first written: the generic encoder and record_hash."""
    out: list[LogRecord] = []
    seq = start_seq
    for entry in entries:
        kind = "input" if isinstance(entry, inp.Input) else "event"
        if isinstance(entry, ev.EpochOpened):
            epoch = entry.epoch
        payload = codec.canonical_json(codec.payload_of(entry))
        at = int(getattr(entry, "at", 0))
        digest = record_hash(
            prev_hash, seq, node, epoch, at, kind, entry.TYPE, entry.VERSION, payload
        )
        out.append(
            LogRecord(
                seq, node, epoch, at, kind, entry.TYPE, entry.VERSION, payload, prev_hash, digest
            )
        )
        prev_hash = digest
        seq += 1
    return out


LOGGABLE = ANY_MESSAGE.filter(lambda m: isinstance(m, inp.Input | ev.Event))


@settings(max_examples=200)
@given(
    st.lists(LOGGABLE, max_size=12),
    st.integers(1, 10**6),
    st.integers(0, 10**6),
    st.text(min_size=1, max_size=5),
)
def test_make_records_equals_the_reference_chain(
    entries: list[codec.Message], start: int, epoch: int, node: str
) -> None:
    prev = hashlib.sha256(node.encode()).hexdigest()
    fast = make_records(node, start, prev, epoch, entries)
    slow = _reference_records(node, start, prev, epoch, entries)
    assert fast == slow
    assert [type(r) for r in fast] == [LogRecord] * len(slow)


def test_new_record_builds_the_same_value_as_the_constructor() -> None:
    args = (3, "a", 1, 7, "event", "role-changed", 1, "{}", GENESIS_HASH, "f" * 64)
    made = new_record(*args)
    assert made == LogRecord(*args)
    assert hash(made) == hash(LogRecord(*args))
    assert typing.get_type_hints(LogRecord).keys() == set(LogRecord.__slots__)
