"""keepalived's JSON/data dumps parsed into typed status records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from adapters.keepalived.dump import DumpError, parse_data_dump, parse_json_dump

# Captured from keepalived 2.2.7 (SIGJSON) in the lab, trimmed.
SAMPLE = (
    '[{"data":{"iname":"VI_1","vrid":51,"base_priority":150,"effective_priority":150,'
    '"vipset":true,"adver_int":0.1,"master_adver_int":0.1,"nopreempt":false,'
    '"preempt_delay":0,"state":2,"wantstate":2,"version":3},'
    '"stats":{"advert_rcvd":1,"advert_sent":75,"become_master":1,"release_master":0,'
    '"pri_zero_rcvd":0,"pri_zero_sent":0}}]'
)


def test_parses_the_json_dump() -> None:
    (inst,) = parse_json_dump(SAMPLE)
    assert inst.name == "VI_1" and inst.state == "MASTER" and inst.vrid == 51
    assert inst.effective_priority == 150 and inst.advert_int == 0.1 and inst.vip_set
    assert inst.adverts_sent == 75 and inst.became_master == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not JSON"),
        ("{}", "expected a list"),
        ("[1]", "expected an object"),
        ('[{"data": {}, "stats": {}}]', "missing field 'state'"),
    ],
)
def test_bad_dumps_give_a_clear_error(text: str, match: str) -> None:
    with pytest.raises(DumpError, match=match):
        parse_json_dump(text)


def test_wrong_field_type_is_named() -> None:
    raw = json.loads(SAMPLE)
    raw[0]["data"]["vrid"] = "51"
    with pytest.raises(DumpError, match="vrid"):
        parse_json_dump(json.dumps(raw))


def test_parses_the_text_data_dump() -> None:
    text = (
        "------< VRRP Topology >------\n VRRP Instance = VI_1\n   State = MASTER\n"
        "   Priority = 150\n   Effective priority = 140\n VRRP Instance = VI_2\n"
        "   State = BACKUP\n"
    )
    got = parse_data_dump(text)
    assert got["VI_1"] == {"State": "MASTER", "Priority": "150", "Effective priority": "140"}
    assert got["VI_2"] == {"State": "BACKUP"}


def test_pid_file_problems_are_typed_errors(tmp_path: Path) -> None:
    from adapters.keepalived.dump import keepalived_pid

    with pytest.raises(DumpError, match="cannot read"):
        keepalived_pid(tmp_path / "missing.pid")
    bad = tmp_path / "bad.pid"
    bad.write_text("abc\n")
    with pytest.raises(DumpError, match="not a PID"):
        keepalived_pid(bad)
    mine = tmp_path / "mine.pid"
    mine.write_text(f"{os.getpid()}\n")  # a live process that is not keepalived
    with pytest.raises(DumpError, match="not keepalived"):
        keepalived_pid(mine)
