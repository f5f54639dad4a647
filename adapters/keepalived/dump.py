"""keepalived's own view of its instances, from the dumps it writes on a signal.

``SIGJSON`` (``keepalived --signum=JSON``, 36 on this build) makes the VRRP
process write ``/tmp/keepalived.json``; ``SIGUSR1`` writes
``/tmp/keepalived.data`` (text, format not guaranteed stable). We parse the
JSON into frozen ``InstanceStatus`` records; the text dump only for the few
fields we need, as a fallback when keepalived was built without JSON.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any

import attrs

from hacore import codec

# keepalived's internal state numbers (vrrp.h)
_STATE_NAMES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 97: "STOP", 98: "DELETED"}
SIGJSON_DEFAULT = 36


class DumpError(ValueError):
    """A dump is missing or not what keepalived writes; the message says which."""


@attrs.frozen
class InstanceStatus:
    name: str
    state: str
    vrid: int
    base_priority: int
    effective_priority: int
    advert_int: float
    master_adver_int: float
    nopreempt: bool
    preempt_delay: float
    vip_set: bool
    adverts_sent: int
    adverts_received: int
    priority_zero_sent: int
    priority_zero_received: int
    became_master: int
    released_master: int


_COUNTER_MAX = 2**63 - 1  # keepalived's counters are 64-bit


def _get(d: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in d:
        raise DumpError(f"{where}: missing field {key!r}")
    value = d[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise DumpError(f"{where}: field {key!r} is not an int: {value!r}")
    if not isinstance(value, kind):
        raise DumpError(f"{where}: field {key!r} is not {kind.__name__}: {value!r}")
    return value


def _int(d: dict[str, Any], key: str, where: str, lo: int, hi: int) -> int:
    value: int = _get(d, key, int, where)
    if not lo <= value <= hi:
        raise DumpError(f"{where}: field {key!r} = {value} outside {lo}..{hi}")
    return value


def _seconds(d: dict[str, Any], key: str, where: str, *, positive: bool) -> float:
    """A finite duration; an advert interval must also be above zero."""
    value: float = _get(d, key, float, where)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "a finite number above 0" if positive else "a finite number >= 0"
        raise DumpError(f"{where}: field {key!r} = {value!r} is not {need}")
    return value


def _counter(stats: dict[str, Any], key: str, where: str) -> int:
    return _int(stats, key, where, 0, _COUNTER_MAX)


def parse_json_dump(text: str) -> tuple[InstanceStatus, ...]:
    """Parse the content of keepalived.json (a list of {data, stats} objects).

    Every field is checked against what keepalived can write: a known state,
    VRID 1..255, priorities 0..255, finite positive advert intervals,
    non-negative counters; anything else is a :class:`DumpError`.
    """
    try:
        raw = codec.parse_json(text)
    except codec.JsonError as exc:
        raise DumpError(f"keepalived.json: {exc}") from None
    if not isinstance(raw, list):
        raise DumpError("keepalived.json: expected a list of instances")
    out = []
    for i, item in enumerate(raw):
        where = f"keepalived.json[{i}]"
        if not isinstance(item, dict):
            raise DumpError(f"{where}: expected an object")
        data = _get(item, "data", dict, where)
        stats = _get(item, "stats", dict, where)
        state_num = _get(data, "state", int, where)
        if state_num not in _STATE_NAMES:
            raise DumpError(f"{where}: field 'state' = {state_num} is not a keepalived state")
        out.append(
            InstanceStatus(
                name=_get(data, "iname", str, where),
                state=_STATE_NAMES[state_num],
                vrid=_int(data, "vrid", where, 1, 255),
                base_priority=_int(data, "base_priority", where, 0, 255),
                effective_priority=_int(data, "effective_priority", where, 0, 255),
                advert_int=_seconds(data, "adver_int", where, positive=True),
                master_adver_int=_seconds(data, "master_adver_int", where, positive=True),
                nopreempt=_get(data, "nopreempt", bool, where),
                preempt_delay=_seconds(data, "preempt_delay", where, positive=False),
                vip_set=_get(data, "vipset", bool, where),
                adverts_sent=_counter(stats, "advert_sent", where),
                adverts_received=_counter(stats, "advert_rcvd", where),
                priority_zero_sent=_counter(stats, "pri_zero_sent", where),
                priority_zero_received=_counter(stats, "pri_zero_rcvd", where),
                became_master=_counter(stats, "become_master", where),
                released_master=_counter(stats, "release_master", where),
            )
        )
    return tuple(out)


_DATA_INSTANCE = re.compile(r"^\s*VRRP Instance = (\S+)\s*$")
_DATA_FIELD = re.compile(r"^\s*(State|Effective priority|Priority) = (\S+)\s*$")


def parse_data_dump(text: str) -> dict[str, dict[str, str]]:
    """The few fields we need from keepalived.data: {instance: {State, Priority, ...}}."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        m = _DATA_INSTANCE.match(line)
        if m:
            current = out.setdefault(m.group(1), {})
            continue
        f = _DATA_FIELD.match(line)
        if f and current is not None and f.group(1) not in current:
            current[f.group(1)] = f.group(2)
    return out


def read_json_dump(
    pid: int, tmp_dir: Path, *, timeout: float = 2.0, signum: int = SIGJSON_DEFAULT
) -> tuple[InstanceStatus, ...]:
    """Signal keepalived (by PID) to write its JSON dump into tmp_dir; parse it."""
    path = tmp_dir / "keepalived.json"
    before = path.stat().st_mtime_ns if path.exists() else None
    os.kill(pid, signum)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns != before:
            text = path.read_text()
            if text.rstrip().endswith("]"):
                return parse_json_dump(text)
        time.sleep(0.02)
    raise DumpError(f"keepalived (pid {pid}) wrote no {path} within {timeout} s")


DEFAULT_PID_FILE = Path("/run/keepalived.pid")


def keepalived_pid(pid_file: Path = DEFAULT_PID_FILE) -> int:
    """The keepalived parent's PID from its pid file, checked to be a live keepalived."""
    try:
        text = pid_file.read_text().strip()
    except OSError as exc:
        raise DumpError(f"{pid_file}: cannot read keepalived's pid file ({exc.strerror})") from None
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text, re.ASCII):  # isdigit() admits "²"
        raise DumpError(f"{pid_file}: not a PID: {text[:40]!r}")
    pid = int(text)
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        raise DumpError(f"{pid_file}: process {pid} is not running") from None
    if comm != "keepalived":
        raise DumpError(f"{pid_file}: process {pid} is {comm!r}, not keepalived")
    return pid


def read_status(
    pid_file: Path = DEFAULT_PID_FILE, tmp_dir: Path = Path("/tmp"), *, timeout: float = 2.0
) -> tuple[InstanceStatus, ...]:
    """keepalived's own view for ``hacore status``: SIGJSON to the PID in pid_file."""
    return read_json_dump(keepalived_pid(pid_file), tmp_dir, timeout=timeout)
