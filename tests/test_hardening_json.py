"""Every JSON boundary answers bad input with its own typed error (issue 15).

The boundaries: keepalived's JSON dump (DumpError), the core codec
(DecodeError), the cluster configuration stored in a store (ConfigDecodeError)
and ClusterConfig itself (ClusterConfigError). The issue's examples first (an
integer of more than 4,300 digits, 2,000 levels of nesting, out-of-range
values), then a fuzz test per boundary whose oracle restates what a valid
value is, independently of the code under test.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
import re
import typing
from typing import Any

import pytest
from boundary_fuzz import ACCEPTED, FAST, SLOW, TYPED_ERROR, json_mutants, tally
from hypothesis import given
from hypothesis import strategies as st
from test_codec import ANY_MESSAGE

from adapters.keepalived.dump import DumpError, InstanceStatus, parse_json_dump
from adapters.store.config_json import config_from_json, config_to_dict, config_to_json
from adapters.store.errors import ConfigDecodeError
from hacore import codec
from hacore.config import ClusterConfig, ClusterConfigError, NodeSpec, Timing
from hacore.inputs import VrrpReported
from hacore.roles import Mode, Policy, VrrpStatus

HUGE = "9" * 5000
DEEP = "[" * 2000 + "]" * 2000

_DUMP_ITEM = {
    "data": {
        "iname": "VI_1",
        "vrid": 51,
        "base_priority": 150,
        "effective_priority": 150,
        "vipset": True,
        "adver_int": 0.1,
        "master_adver_int": 0.1,
        "nopreempt": False,
        "preempt_delay": 0,
        "state": 2,
    },
    "stats": {
        "advert_rcvd": 1,
        "advert_sent": 75,
        "become_master": 1,
        "release_master": 0,
        "pri_zero_rcvd": 0,
        "pri_zero_sent": 0,
    },
}


def _dump_with(section: str, key: str, value: Any) -> str:
    item = json.loads(json.dumps(_DUMP_ITEM))
    item[section][key] = value
    return json.dumps([item], allow_nan=True)


# -- examples ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [f"[{HUGE}]", DEEP, _dump_with("stats", "advert_sent", 0)[:-1]])
def test_keepalived_dump_huge_deep_or_torn_json_is_a_dump_error(text: str) -> None:
    with pytest.raises(DumpError):
        parse_json_dump(text)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("data", "base_priority", 256),
        ("data", "effective_priority", -1),
        ("data", "vrid", 0),
        ("data", "vrid", 256),
        ("data", "state", 42),
        ("stats", "advert_sent", -1),
        ("stats", "become_master", 2**64),
        ("data", "adver_int", float("nan")),
        ("data", "adver_int", float("inf")),
        ("data", "adver_int", 0),
        ("data", "master_adver_int", -0.1),
        ("data", "preempt_delay", -1),
    ],
)
def test_keepalived_dump_values_out_of_range_are_refused(
    section: str, key: str, value: Any
) -> None:
    with pytest.raises(DumpError, match=key):
        parse_json_dump(_dump_with(section, key, value))


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"VrrpReported","v":1,"payload":{"at":' + HUGE + ',"priority":1,"state":"MASTER"}}',
        DEEP,
        '{"type":"VrrpReported","v":1,"payload":{"at":9223372036854775808,'
        '"priority":1,"state":"MASTER"}}',
        '{"type":"VrrpReported","v":1,"payload":{"at":-1,"priority":1,"state":"MASTER"}}',
        '{"type":"VrrpReported","v":1,"payload":{"at":1,"priority":256,"state":"MASTER"}}',
    ],
)
def test_codec_huge_deep_or_out_of_range_is_a_decode_error(text: str) -> None:
    with pytest.raises(codec.DecodeError):
        codec.loads(text)


def test_codec_takes_the_extremes_of_the_range() -> None:
    top = VrrpReported(at=2**63 - 1, state=VrrpStatus.MASTER, priority=255)
    assert codec.loads(codec.dumps(top)) == top


@pytest.mark.parametrize("name", sorted(codec.registered_types()))
def test_no_negative_time_epoch_or_position_decodes(name: str) -> None:
    from core_helpers import minimal_message

    cls = codec.registered_types()[name]
    hints = typing.get_type_hints(cls)
    data = codec.encode(minimal_message(cls))
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if hints[f.name] is int:
            lo, _hi = codec.int_bounds(f.name)
            bad = dict(data, payload={**data["payload"], f.name: lo - 1})
            with pytest.raises(codec.DecodeError, match=f.name):
                codec.decode(bad)


def _config() -> ClusterConfig:
    return ClusterConfig((NodeSpec("n1", "10.0.0.1", 200), NodeSpec("n2", "10.0.0.2", 100)))


@pytest.mark.parametrize("text", [HUGE, DEEP, config_to_json(_config())[:-1]])
def test_stored_config_huge_deep_or_torn_is_a_config_decode_error(text: str) -> None:
    with pytest.raises(ConfigDecodeError):
        config_from_json(text)


@pytest.mark.parametrize(
    "build",
    [
        lambda: ClusterConfig((NodeSpec("n1", "10.0.0.1"), NodeSpec("n2", "10.0.0.1"))),
        lambda: ClusterConfig((NodeSpec("n1", "10.0.0.1"), NodeSpec("n2", "10.0.0.2")), witness=""),
        lambda: ClusterConfig(
            (NodeSpec("n1", "10.0.0.1"), NodeSpec("n2", "10.0.0.2")), witness="w w"
        ),
        lambda: NodeSpec("n1", "10.0.0.1", 1.5),  # type: ignore[arg-type]
        lambda: NodeSpec("n1", "10.0.0.1", True),
        lambda: NodeSpec("n\u0131", "10.0.0.1"),  # isalnum() admits any Unicode letter
        lambda: NodeSpec("n1\n", "10.0.0.1"),
        lambda: NodeSpec("n1", 167772161),  # type: ignore[arg-type]
        lambda: NodeSpec(None, "10.0.0.1"),  # type: ignore[arg-type]
        lambda: ClusterConfig(None),  # type: ignore[arg-type]
        lambda: ClusterConfig([NodeSpec("n1", "10.0.0.1"), NodeSpec("n2", "10.0.0.2")]),  # type: ignore[arg-type]
        lambda: ClusterConfig(
            (NodeSpec("n1", "10.0.0.1"), NodeSpec("n2", "10.0.0.2")),
            mode="safety-first",  # type: ignore[arg-type]
        ),
        lambda: Timing(hold_down_us=1.5),  # type: ignore[arg-type]
        lambda: Timing(hold_down_us=2**63),
    ],
)
def test_cluster_config_refuses_with_its_typed_error(build: Any) -> None:
    with pytest.raises(ClusterConfigError):
        build()


# -- fuzz: keepalived's JSON dump ----------------------------------------------------

_dump_docs = st.lists(st.just(_DUMP_ITEM), min_size=1, max_size=2)
_STATES = {0, 1, 2, 3, 97, 98}


def _dump_valid(raw: Any, parsed: tuple[InstanceStatus, ...]) -> None:
    """Oracle: the accepted text is a list of {data, stats} with every field we read in range."""
    assert isinstance(raw, list) and len(raw) == len(parsed)
    for item, inst in zip(raw, parsed, strict=True):
        data, stats = item["data"], item["stats"]
        assert type(data["state"]) is int and data["state"] in _STATES
        for key, lo, hi in (("vrid", 1, 255), ("base_priority", 0, 255)):
            assert type(data[key]) is int and lo <= data[key] <= hi
        assert 0 <= inst.effective_priority <= 255 and inst.name == data["iname"]
        for key in ("adver_int", "master_adver_int"):
            assert math.isfinite(data[key]) and data[key] > 0
        assert math.isfinite(data["preempt_delay"]) and data["preempt_delay"] >= 0
        # other keys are not read: later keepalived versions add some
        for key in ("advert_rcvd", "advert_sent", "become_master", "release_master"):
            assert type(stats[key]) is int and 0 <= stats[key] < 2**63


def check_dump(text: str) -> None:
    try:
        parsed = parse_json_dump(text)
    except DumpError:
        tally("keepalived JSON dump", TYPED_ERROR)
        return
    _dump_valid(json.loads(text), parsed)
    tally("keepalived JSON dump", ACCEPTED)


@FAST
@given(json_mutants(_dump_docs))
def test_fuzz_keepalived_dump(text: str) -> None:
    check_dump(text)


@pytest.mark.slow
@SLOW
@given(json_mutants(_dump_docs))
def test_fuzz_keepalived_dump_slow(text: str) -> None:
    check_dump(text)


# -- fuzz: the core codec --------------------------------------------------------------


def check_codec(text: str) -> None:
    try:
        message = codec.loads(text)
    except codec.DecodeError:
        tally("core codec", TYPED_ERROR)
        return
    hints = typing.get_type_hints(type(message))
    for f in dataclasses.fields(message):  # type: ignore[arg-type]
        value = getattr(message, f.name)
        if hints[f.name] is int:
            lo, hi = codec.int_bounds(f.name)
            assert type(value) is int and lo <= value <= hi, (f.name, value)
    assert codec.loads(codec.dumps(message)) == message
    tally("core codec", ACCEPTED)


_codec_docs = ANY_MESSAGE.map(codec.encode)


@FAST
@given(json_mutants(_codec_docs))
def test_fuzz_codec(text: str) -> None:
    check_codec(text)


@pytest.mark.slow
@SLOW
@given(json_mutants(_codec_docs))
def test_fuzz_codec_slow(text: str) -> None:
    check_codec(text)


# -- fuzz: the stored cluster configuration -------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@st.composite
def _config_docs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 4))
    nodes = tuple(
        NodeSpec(f"n{i}", f"10.0.0.{i}", draw(st.integers(1, 255))) for i in range(1, n + 1)
    )
    config = ClusterConfig(
        nodes,
        draw(st.sampled_from(list(Mode))),
        draw(st.sampled_from(list(Policy))),
        draw(st.none() | st.just("w1")),
    )
    return config_to_dict(config)


def check_config(text: str) -> None:
    try:
        config = config_from_json(text)
    except ConfigDecodeError:
        tally("stored cluster config", TYPED_ERROR)
        return
    # Oracle: exactly the document (so no bool for an int, no float, no coercion) ...
    assert codec.canonical_json(config_to_dict(config)) == codec.canonical_json(json.loads(text))
    # ... and a valid one, restated here.
    names = [n.name for n in config.nodes]
    addresses = [n.address for n in config.nodes]
    assert len(names) >= 2 and all(_NAME.fullmatch(x) for x in names)
    assert len(set(names)) == len(names) and len(set(addresses)) == len(addresses)
    assert all(str(ipaddress.IPv4Address(a)) == a for a in addresses)
    assert all(type(n.priority) is int and 1 <= n.priority <= 255 for n in config.nodes)
    assert config.witness is None or (
        _NAME.fullmatch(config.witness) and config.witness not in names
    )
    for f in dataclasses.fields(config.timing):
        value = getattr(config.timing, f.name)
        assert type(value) is int and 0 <= value < 2**63
    tally("stored cluster config", ACCEPTED)


@FAST
@given(json_mutants(_config_docs()))
def test_fuzz_stored_config(text: str) -> None:
    check_config(text)


@pytest.mark.slow
@SLOW
@given(json_mutants(_config_docs()))
def test_fuzz_stored_config_slow(text: str) -> None:
    check_config(text)
