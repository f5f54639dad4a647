"""Rendering keepalived.conf: what the renderer accepts, keepalived accepts (issue 15).

The examples are the issue's: an empty peer list (keepalived silently falls
back to multicast), duplicate peers, a VIP equal to a node's address, names
with a trailing newline, tab or NUL. The fuzz test draws specs from a space
much wider than the valid one; the root property test hands every config the
renderer accepts to ``keepalived -t``, in a private network namespace where
the interfaces the config names exist (keepalived -t checks them), with track
scripts that exist and are secure (keepalived -t checks those too: they are
facts of the host, not of the config).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from boundary_fuzz import ACCEPTED, FAST, SLOW, TRICKY, TYPED_ERROR, tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keepalived_helpers import instance as _instance

from adapters.keepalived import (
    ConfigError,
    KeepalivedConfig,
    TrackFile,
    TrackInterface,
    TrackScript,
    VrrpInstanceSpec,
)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"unicast_peers": ()}, "unicast_peers"),
        ({"unicast_peers": ("10.77.0.2", "10.77.0.2")}, "unicast_peers"),
        ({"unicast_peers": ("0.0.0.0",)}, "unicast_peers"),
        ({"unicast_peers": ("224.0.0.18",)}, "unicast_peers"),
        ({"virtual_ipaddresses": ("10.77.0.1/24",)}, "virtual_ipaddresses"),  # our own
        ({"virtual_ipaddresses": ("10.77.0.2",)}, "virtual_ipaddresses"),  # the peer's
        ({"virtual_ipaddresses": ("10.77.0.9/24", "10.77.0.9/32")}, "virtual_ipaddresses"),
        ({"name": "VI_1\n"}, "name"),
        ({"name": "VI\t1"}, "name"),
        ({"name": "VI\x001"}, "name"),
        ({"interface": "eth0\n"}, "interface"),
        ({"interface": ".."}, "interface"),
        ({"unicast_src_ip": 167772161}, "unicast_src_ip"),  # an int is not an address
        ({"notify_argv": ("/usr/bin/hacore", "no\ttab")}, "notify_argv"),
    ],
)
def test_the_renderer_refuses_what_keepalived_would_misread(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        _instance(**kw)
    assert info.value.field == field


def test_track_script_arguments_with_spaces_or_control_characters_are_refused() -> None:
    for arg in ("two words", "tab\there", "nul\x00", "new\nline", ""):
        with pytest.raises(ConfigError, match="argv"):
            TrackScript("chk", ("/usr/bin/true", arg))


# -- drawing specs: valid ones, then a few fields replaced from a much wider space ----

_NAME_CHARS = st.sampled_from("abcXYZ019_.-") | st.sampled_from(TRICKY)
_wild_names = st.text(_NAME_CHARS, min_size=0, max_size=8) | st.sampled_from(["VI_1", ".", ""])
_wild_ifnames = st.text(st.sampled_from("eth0_.-x"), min_size=0, max_size=16) | st.sampled_from(
    ["veth1", ".", "..", "eth0\n"]
)
_names = st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True)
_ifnames = st.from_regex(r"[A-Za-z0-9_.\-]{1,15}", fullmatch=True).filter(
    lambda n: n not in (".", "..")
)
_args = st.from_regex(r"[A-Za-z0-9_.\-]{1,6}", fullmatch=True)
_wild_args = st.text(_NAME_CHARS, max_size=6)
_BASE = int(ipaddress.IPv4Address("10.77.0.1"))
_wild_ints = st.integers(-2, 300) | st.sampled_from([0, 1, 254, 255, 256, 1000, 1001, 3600, 3601])
_wild_addresses = st.one_of(
    st.integers(0, 6).map(lambda i: str(ipaddress.IPv4Address(_BASE + i))),
    st.sampled_from(["0.0.0.0", "255.255.255.255", "224.0.0.18", "127.0.0.1", "10.77.0.01"]),
    st.text(st.sampled_from("0123456789./ \n"), max_size=12),
)
_SCRIPTS = ("/usr/bin/true", "/usr/bin/false")  # exist and are root-owned (script security)


def _maybe_wild(
    draw: st.DrawFn, valid: st.SearchStrategy[Any], wild: st.SearchStrategy[Any]
) -> Any:
    """Mostly a valid value; one in thirty from the wide space."""
    # (not == 0: hypothesis draws the bounds of a range far more often than 1 in 30)
    return draw(wild) if draw(st.integers(0, 29)) == 13 else draw(valid)


@st.composite
def _track_scripts(draw: st.DrawFn) -> TrackScript:
    args = draw(st.lists(_args, max_size=2))
    if draw(st.integers(0, 29)) == 13:
        args.append(draw(_wild_args))
    return TrackScript(
        _maybe_wild(draw, _names, _wild_names),
        (draw(st.sampled_from(_SCRIPTS)), *args),
        interval=_maybe_wild(draw, st.integers(1, 3600), _wild_ints),
        weight=_maybe_wild(draw, st.integers(-253, 253), st.integers(-300, 300)),
        fall=_maybe_wild(draw, st.integers(1, 255), _wild_ints),
        rise=_maybe_wild(draw, st.integers(1, 255), _wild_ints),
    )


@st.composite
def _specs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of one VrrpInstanceSpec: valid by construction, then perturbed."""
    pool = draw(st.lists(st.integers(0, 60), min_size=3, max_size=7, unique=True))
    addresses = [str(ipaddress.IPv4Address(_BASE + i)) for i in pool]
    n_peers = draw(st.integers(1, len(addresses) - 2))
    src, peers, vips = addresses[0], addresses[1 : 1 + n_peers], addresses[1 + n_peers :]
    prefixes = st.sampled_from(["", "/24", "/32", "/16", "/8"])
    preempt = draw(st.booleans())
    start_as_master = preempt and draw(st.booleans())
    spec: dict[str, Any] = {
        "name": draw(_names),
        "vrid": draw(st.integers(1, 255)),
        "interface": draw(_ifnames),
        "priority": draw(st.integers(1, 255)),
        "unicast_src_ip": src,
        "unicast_peers": tuple(peers),
        "virtual_ipaddresses": tuple(v + draw(prefixes) for v in vips),
        "advert_int": str(Decimal(draw(st.integers(1, 4095))) / 100),
        "preempt": preempt,
        "preempt_delay": draw(st.integers(0, 1000)) if preempt and not start_as_master else 0,
        "start_as_master": start_as_master,
        "track_scripts": draw(st.lists(_track_scripts(), max_size=2)),
        "track_interfaces": [
            TrackInterface(
                _maybe_wild(draw, _ifnames, _wild_ifnames),
                _maybe_wild(draw, st.integers(-253, 253), st.integers(-300, 300)),
            )
            for _ in range(draw(st.integers(0, 2)))
        ],
        "notify_argv": draw(st.none() | st.just(("/usr/bin/true", "notify"))),
    }
    wild: dict[str, st.SearchStrategy[Any]] = {
        "name": _wild_names,
        "vrid": _wild_ints,
        "interface": _wild_ifnames,
        "priority": _wild_ints,
        "unicast_src_ip": _wild_addresses,
        "unicast_peers": st.lists(_wild_addresses, max_size=3).map(tuple),
        "virtual_ipaddresses": st.lists(
            st.tuples(_wild_addresses, st.sampled_from(["", "/0", "/33", "/24"])).map("".join),
            max_size=3,
        ).map(tuple),
        "advert_int": st.sampled_from(["0", "-1", "0.015", "41", "nan", "1e1", "inf", "0.001"]),
        "preempt": st.sampled_from([0, 1, "yes", None]),
        "preempt_delay": _wild_ints,
        "start_as_master": st.booleans(),
        "notify_argv": st.sampled_from(
            [("/usr/bin/true", "a b"), ("rel",), (), ("/usr/bin/true", "x\x00")]
        ),
    }
    for key in draw(st.lists(st.sampled_from(sorted(wild)), max_size=2, unique=True)):
        if draw(st.integers(0, 3)) == 2:
            spec[key] = draw(wild[key])
    return spec


def _build(draw: st.DrawFn, track_file_dir: str) -> KeepalivedConfig | None:
    """A config from drawn values, or None when the renderer (rightly) refused them."""
    try:
        instances = []
        for spec in draw(st.lists(_specs(), min_size=1, max_size=2)):
            files = [
                TrackFile(
                    _maybe_wild(draw, _names, _wild_names),
                    f"{track_file_dir}/track-{i}",
                    _maybe_wild(draw, st.integers(-254, 254), st.integers(-300, 300)),
                )
                for i in range(draw(st.integers(0, 1)))
            ]
            instances.append(VrrpInstanceSpec(**spec, track_files=files))
        config = KeepalivedConfig(
            router_id=_maybe_wild(draw, _names, _wild_names),
            instances=tuple(instances),
            notify_fifo=draw(st.none() | st.just(f"{track_file_dir}/fifo")),
        )
        config.render()  # the renderer's last checks (track names) run here
        return config
    except ConfigError:
        return None


def check_rendered(config: KeepalivedConfig | None) -> None:
    if config is None:
        tally("keepalived renderer", TYPED_ERROR)
        return
    text = config.render()
    for line in text.splitlines():
        assert line.isascii() and line.isprintable(), line  # no tab, NUL, stray newline
    for inst in config.instances:
        assert inst.unicast_peers and inst.unicast_src_ip not in inst.unicast_peers
        assert len(set(inst.unicast_peers)) == len(inst.unicast_peers)
        own = {inst.unicast_src_ip, *inst.unicast_peers}
        assert not {str(ipaddress.IPv4Interface(v).ip) for v in inst.virtual_ipaddresses} & own
        assert Decimal("0.01") <= inst.advert_int <= Decimal("40.95")
    tally("keepalived renderer", ACCEPTED)


@FAST
@given(st.data())
def test_fuzz_renderer(data: st.DataObject) -> None:
    check_rendered(data.draw(st.composite(lambda draw: _build(draw, "/run/hacore-test"))()))


@pytest.mark.slow
@SLOW
@given(st.data())
def test_fuzz_renderer_slow(data: st.DataObject) -> None:
    check_rendered(data.draw(st.composite(lambda draw: _build(draw, "/run/hacore-test"))()))


# -- root: keepalived -t agrees with every config the renderer accepts --------------


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    from realdaemon import require_root_tools

    require_root_tools("ip", "keepalived")
    name = f"hci15t-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)  # noqa: S603
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], timeout=10)  # noqa: S603


_peer_names: list[str] = []


def _keepalived_check(netns: str, config: KeepalivedConfig, tmp: Path) -> None:
    links = {i.interface for i in config.instances} | {
        t.name for i in config.instances for t in i.track_interfaces
    }
    for link in sorted(links):
        # veth, not dummy (not every kernel has the dummy module); the peer's
        # name holds a '+', which no name the renderer accepts can.
        _peer_names.append(f"+{len(_peer_names)}")
        argv = ["ip", "-n", netns, "link", "add", "name", link, "type", "veth"]
        made = subprocess.run(  # noqa: S603
            [*argv, "peer", "name", _peer_names[-1]],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert made.returncode == 0 or "exists" in made.stderr, (link, made.stderr)
    conf = tmp / "keepalived.conf"
    conf.write_text(config.render())
    keepalived = shutil.which("keepalived")
    assert keepalived is not None
    proc = subprocess.run(  # noqa: S603
        ["ip", "netns", "exec", netns, keepalived, "-t", "-f", str(conf)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 0, (config.render(), proc.stderr)
    assert "Unknown keyword" not in proc.stderr, proc.stderr


def _root_property(netns: str, tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    tmp = tmp_path_factory.mktemp("kat")
    config = data.draw(st.composite(lambda draw: _build(draw, str(tmp)))())
    if config is None:
        tally("keepalived -t (root)", TYPED_ERROR)
        return
    _keepalived_check(netns, config, tmp)
    tally("keepalived -t (root)", ACCEPTED)


_ROOT = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
_ROOT_SLOW = settings(max_examples=2_000, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.root
@_ROOT
@given(data=st.data())
def test_keepalived_accepts_every_config_the_renderer_accepts(
    netns: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    _root_property(netns, tmp_path_factory, data)


@pytest.mark.root
@pytest.mark.slow
@_ROOT_SLOW
@given(data=st.data())
def test_keepalived_accepts_every_config_the_renderer_accepts_slow(
    netns: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    _root_property(netns, tmp_path_factory, data)
