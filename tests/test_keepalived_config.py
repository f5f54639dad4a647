"""Rendering keepalived.conf: values validated at the boundary, errors name the field."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import keepalived_helpers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.keepalived import (
    ConfigError,
    KeepalivedConfig,
    TrackFile,
    TrackInterface,
    TrackScript,
    VrrpInstanceSpec,
    parse_advert_int,
)


def instance(**kw: Any) -> VrrpInstanceSpec:
    return keepalived_helpers.instance(**{"advert_int": "0.1", **kw})


def test_renders_a_unicast_vrrpv3_instance_with_fifo() -> None:
    text = KeepalivedConfig(
        router_id="n1", instances=(instance(),), notify_fifo="/run/k/notify.fifo"
    ).render()
    for expected in (
        "vrrp_notify_fifo /run/k/notify.fifo",
        "vrrp_instance VI_1 {",
        "state BACKUP",
        "virtual_router_id 51",
        "priority 150",
        "advert_int 0.1",
        "version 3",
        "unicast_src_ip 10.77.0.1",
        "    10.77.0.2",
        "10.77.0.250/24 dev eth0",
    ):
        assert expected in text
    assert "nopreempt" not in text and "preempt_delay" not in text
    assert text.count("{") == text.count("}")


def test_renders_preempt_options_tracking_and_notify() -> None:
    inst = instance(
        preempt_delay=5,
        track_scripts=(TrackScript("chk", ("/usr/bin/true",), weight=-20),),
        track_interfaces=(TrackInterface("eth1", weight=-30),),
        track_files=(TrackFile("bias", "/run/k/bias", weight=1),),
        notify_argv=("/usr/local/bin/hacore", "notify"),
    )
    text = KeepalivedConfig(router_id="n1", instances=(inst,)).render()
    assert "preempt_delay 5" in text
    assert 'vrrp_script chk {\n  script "/usr/bin/true"' in text
    assert "weight -20" in text
    assert "eth1 weight -30" in text
    assert "vrrp_track_file bias {\n  file /run/k/bias" in text
    assert "track_file {\n    bias" in text
    assert 'notify "/usr/local/bin/hacore notify"' in text
    nopre = KeepalivedConfig(router_id="n1", instances=(instance(preempt=False),)).render()
    assert "  nopreempt\n" in nopre


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("vrid", {"vrid": 0}),
        ("vrid", {"vrid": 256}),
        ("priority", {"priority": 0}),
        ("priority", {"priority": 256}),
        ("interface", {"interface": "this-name-is-too-long"}),
        ("interface", {"interface": "eth 0"}),
        ("unicast_src_ip", {"unicast_src_ip": "10.77.0.300"}),
        ("unicast_peers", {"unicast_peers": ("10.77.0.x",)}),
        ("unicast_peers", {"unicast_peers": ("10.77.0.1",)}),
        ("virtual_ipaddresses", {"virtual_ipaddresses": ()}),
        ("virtual_ipaddresses", {"virtual_ipaddresses": ("fe80::1",)}),
        ("advert_int", {"advert_int": "0.005"}),
        ("advert_int", {"advert_int": "0.015"}),
        ("advert_int", {"advert_int": "41"}),
        ("advert_int", {"advert_int": "fast"}),
        ("preempt_delay", {"preempt_delay": 1001}),
        ("preempt", {"preempt": False, "start_as_master": True}),
        ("preempt_delay", {"preempt_delay": 1, "start_as_master": True}),
        ("notify_argv", {"notify_argv": ("hacore", "notify")}),
    ],
)
def test_invalid_values_get_an_error_naming_the_field(field: str, kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        instance(**kw)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")


def test_duplicate_vrid_on_one_interface_is_refused() -> None:
    with pytest.raises(ConfigError, match="instances"):
        KeepalivedConfig(router_id="n1", instances=(instance(), instance(name="VI_2")))


@given(st.integers(1, 4095))
def test_every_centisecond_interval_is_accepted_and_rendered_exactly(cs: int) -> None:
    d = Decimal(cs) / 100
    inst = instance(advert_int=str(d))
    assert inst.advert_interval_us == cs * 10_000
    assert f"advert_int {format(d.normalize(), 'f')}\n" in inst.render()


@given(st.integers(1, 4095), st.integers(1, 9))
def test_sub_centisecond_intervals_are_refused(cs: int, extra: int) -> None:
    value = Decimal(cs) / 100 + Decimal(extra) / 1000
    with pytest.raises(ConfigError, match="advert_int"):
        parse_advert_int(str(value))


@pytest.mark.root
def test_keepalived_accepts_the_rendered_config(tmp_path: Path) -> None:
    from realdaemon import require_root_tools

    require_root_tools("keepalived")
    conf = tmp_path / "keepalived.conf"
    inst = instance(
        preempt_delay=2,
        track_scripts=(TrackScript("chk", ("/usr/bin/true",), weight=-20),),
        track_files=(TrackFile("bias", str(tmp_path / "bias"), weight=1),),
    )
    conf.write_text(KeepalivedConfig(router_id="n1", instances=(inst,)).render())
    keepalived = shutil.which("keepalived")
    assert keepalived is not None
    proc = subprocess.run(  # noqa: S603
        [keepalived, "-t", "-f", str(conf)], capture_output=True, text=True, timeout=20
    )
    # keepalived -t exits non-zero on a config error; an unknown keyword is only logged
    assert proc.returncode == 0, proc.stderr
    assert "Unknown keyword" not in proc.stderr
