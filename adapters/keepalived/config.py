"""Render keepalived.conf from validated, frozen specs (attrs at the adapter boundary).

Every value is validated when the spec is built, with an error naming the
field, because keepalived itself often accepts a bad value with a log line and
runs with a default (an ``advert_int`` below 0.01 s silently becomes 1 s, an
empty ``unicast_peer`` block silently becomes multicast). Names and paths are
matched whole (``fullmatch``, ASCII): a trailing newline, a tab or NUL would
otherwise split or end a keepalived config line. An accepted config passes
``keepalived -t`` (a root property test checks that).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from hacore.vrrp import MAX_ADVERT_INTERVAL_US, advert_interval_in_force_us

_IFNAME = re.compile(r"[A-Za-z0-9_.\-]{1,15}", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}", re.ASCII)
# What may not appear in a path or an argument: whitespace, quotes, keepalived's
# comment and block characters, control characters, anything not ASCII.
_PATH_BAD = re.compile(r"[\s\"'\\{}#!\x00-\x1f\x7f-\U0010ffff]")
MAX_ADVERT_INTERVAL = Decimal(MAX_ADVERT_INTERVAL_US) / 1_000_000  # VRRPv3: 12 bits
CENTI = Decimal("0.01")


class ConfigError(ValueError):
    """A configuration value is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _fail(field: str, message: str) -> None:
    raise ConfigError(field, message)


def _int_in(lo: int, hi: int) -> Any:
    def check(inst: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            _fail(attribute.name, f"must be an integer in {lo}..{hi}, got {value!r}")

    return check


def _ifname(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    # "." and ".." match the character set but Linux refuses them as link names.
    if not isinstance(value, str) or not _IFNAME.fullmatch(value) or value in (".", ".."):
        _fail(attribute.name, f"not a valid interface name (1..15 of [A-Za-z0-9_.-]): {value!r}")


def _name(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        _fail(attribute.name, f"not a valid name (1..64 of [A-Za-z0-9_.-]): {value!r}")


def _path(inst: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith("/") or _PATH_BAD.search(value):
        _fail(attribute.name, f"must be an absolute path without spaces or quotes: {value!r}")
    # "/a/./b", "/a/../b", "/a/", "//a": a file, named the one way it is named
    if posixpath.normpath(value) != value or value == "/":
        _fail(attribute.name, f"must be a normalized path to a file: {value!r}")


def _req_path(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    _path(inst, attribute, value)  # type: ignore[arg-type]


def _unicast(field: str, address: ipaddress.IPv4Address, value: object) -> None:
    """Refuse what can never be a host's own address (keepalived does not)."""
    if address.is_unspecified or address.is_multicast or address == _BROADCAST:
        _fail(field, f"not a unicast host address: {value!r}")


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _ipv4(field: str, value: object) -> str:
    if not isinstance(value, str):
        _fail(field, f"not an IPv4 address (a string): {value!r}")
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        _fail(field, f"not an IPv4 address: {value!r}")
        raise AssertionError from None  # unreachable
    _unicast(field, address, value)
    return str(address)


def _ipv4_validator(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    _ipv4(attribute.name, value)


def _peers(inst: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    # Empty is refused: keepalived would fall back to multicast with a log line.
    if not isinstance(value, tuple) or not value:
        _fail(attribute.name, "must be a non-empty tuple of IPv4 addresses")
    assert isinstance(value, tuple)
    seen: set[str] = set()
    for v in value:
        address = _ipv4(attribute.name, v)
        if address in seen:
            _fail(attribute.name, f"lists {address} twice")
        seen.add(address)


def _vips(inst: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    if not isinstance(value, tuple) or not value:
        _fail(attribute.name, "must be a non-empty tuple of IPv4 addresses (a.b.c.d[/len])")
    assert isinstance(value, tuple)
    seen: set[ipaddress.IPv4Address] = set()
    for v in value:
        if not isinstance(v, str):
            _fail(attribute.name, f"not an IPv4 address or interface (a string): {v!r}")
        try:
            address = ipaddress.IPv4Interface(v).ip
        except ValueError:
            _fail(attribute.name, f"not an IPv4 address or interface: {v!r}")
            raise AssertionError from None  # unreachable
        _unicast(attribute.name, address, v)
        if address in seen:
            _fail(attribute.name, f"lists {address} twice")
        seen.add(address)


def parse_advert_int(value: object) -> Decimal:
    """Seconds as a Decimal, refused unless keepalived would run exactly that interval.

    What keepalived runs is :func:`hacore.vrrp.advert_interval_in_force_us` (the one
    source of truth the core's model uses too): VRRPv3 centiseconds, 0.01..40.95 s.
    """
    if isinstance(value, bool):
        _fail("advert_int", f"must be a number of seconds, got {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        _fail("advert_int", f"must be a number of seconds, got {value!r}")
        raise AssertionError from None
    if not d.is_finite() or d < CENTI:
        _fail("advert_int", f"must be >= 0.01 s (keepalived would fall back to 1 s), got {value}")
    if d > MAX_ADVERT_INTERVAL:
        _fail("advert_int", f"must be <= 40.95 s with VRRPv3, got {value}")
    us = d * 1_000_000
    in_force = advert_interval_in_force_us(int(us))
    if us != in_force:
        _fail(
            "advert_int",
            f"must be a multiple of 0.01 s (VRRPv3 centiseconds): keepalived would run "
            f"{format(Decimal(in_force) / 1_000_000, 'f')} s, got {value}",
        )
    return d


def _advert_int(inst: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    parse_advert_int(value)


def _fmt_seconds(d: Decimal) -> str:
    return format(d.normalize(), "f")


@attrs.frozen
class TrackScript:
    """A ``vrrp_script``: argv run every ``interval`` s; ``weight`` 0 means FAULT on failure."""

    name: str = attrs.field(validator=_name)
    argv: tuple[str, ...] = attrs.field()
    interval: int = attrs.field(default=1, validator=_int_in(1, 3600))
    weight: int = attrs.field(default=0, validator=_int_in(-253, 253))  # keepalived: [-253, 253]
    fall: int = attrs.field(default=1, validator=_int_in(1, 255))
    rise: int = attrs.field(default=1, validator=_int_in(1, 255))

    @argv.validator
    def _check_argv(self, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
        if not isinstance(value, tuple) or not value or not all(isinstance(a, str) for a in value):
            _fail("argv", "must be a non-empty tuple of strings")
        assert isinstance(value, tuple)
        if not value[0].startswith("/"):
            _fail("argv", f"the script must be an absolute path, got {value[0]!r}")
        for a in value:
            if not a or _PATH_BAD.search(a):
                _fail("argv", f"an argument may not be empty or hold spaces/quotes: {a!r}")

    def render(self) -> str:
        script = " ".join(self.argv)
        return (
            f"vrrp_script {self.name} {{\n"
            f'  script "{script}"\n'
            f"  interval {self.interval}\n"
            f"  weight {self.weight}\n"
            f"  fall {self.fall}\n"
            f"  rise {self.rise}\n"
            "}\n"
        )


@attrs.frozen
class TrackFile:
    """A ``vrrp_track_file``: the integer in ``path`` times ``weight`` biases the priority."""

    name: str = attrs.field(validator=_name)
    path: str = attrs.field(validator=_req_path)
    weight: int = attrs.field(default=1, validator=_int_in(-254, 254))

    def render(self) -> str:
        return (
            f"vrrp_track_file {self.name} {{\n"
            f"  file {self.path}\n"
            f"  weight {self.weight}\n"
            "  init_file 0 overwrite\n"
            "}\n"
        )


@attrs.frozen
class TrackInterface:
    name: str = attrs.field(validator=_ifname)
    weight: int = attrs.field(default=0, validator=_int_in(-253, 253))  # keepalived: [-253, 253]


def _tuple_of(kind: type) -> Any:
    def check(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple) or not all(isinstance(v, kind) for v in value):
            _fail(attribute.name, f"must be a tuple of {kind.__name__}")

    return check


def _to_tuple(value: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else value  # type: ignore[return-value]


@attrs.frozen
class VrrpInstanceSpec:
    """One ``vrrp_instance`` (one VIP group)."""

    name: str = attrs.field(validator=_name)
    vrid: int = attrs.field(validator=_int_in(1, 255))
    interface: str = attrs.field(validator=_ifname)
    priority: int = attrs.field(validator=_int_in(1, 255))
    unicast_src_ip: str = attrs.field(validator=_ipv4_validator)
    unicast_peers: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_peers)
    virtual_ipaddresses: tuple[str, ...] = attrs.field(converter=_to_tuple, validator=_vips)
    advert_int: Decimal = attrs.field(
        default=Decimal(1), converter=parse_advert_int, validator=_advert_int
    )
    preempt: bool = True
    preempt_delay: int = attrs.field(default=0, validator=_int_in(0, 1000))
    start_as_master: bool = False
    track_scripts: tuple[TrackScript, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_tuple_of(TrackScript)
    )
    track_interfaces: tuple[TrackInterface, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_tuple_of(TrackInterface)
    )
    track_files: tuple[TrackFile, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_tuple_of(TrackFile)
    )
    # e.g. ("/usr/local/bin/hacore", "notify"): keepalived appends TYPE NAME STATE PRIORITY
    notify_argv: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_to_tuple)
    )

    @notify_argv.validator
    def _check_notify(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if not isinstance(value, tuple) or not value or not all(isinstance(a, str) for a in value):
            _fail("notify_argv", "must be a non-empty tuple of strings")
        assert isinstance(value, tuple)
        if not value[0].startswith("/"):
            _fail("notify_argv", f"the program must be an absolute path, got {value[0]!r}")
        for a in value:
            if not a or _PATH_BAD.search(a):
                _fail("notify_argv", f"an argument may not be empty or hold spaces/quotes: {a!r}")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.preempt, bool):
            _fail("preempt", f"must be a bool, got {self.preempt!r}")
        if not isinstance(self.start_as_master, bool):
            _fail("start_as_master", f"must be a bool, got {self.start_as_master!r}")
        if not self.preempt and self.start_as_master:
            _fail("preempt", "nopreempt needs the initial state BACKUP (start_as_master=False)")
        if not self.preempt and self.preempt_delay:
            _fail("preempt_delay", "has no meaning with nopreempt")
        if not self.preempt and self.priority == 255:
            # the address owner always preempts; keepalived resets nopreempt
            _fail("preempt", "nopreempt is incompatible with priority 255")
        if self.priority == 255 and (
            self.track_interfaces or self.track_scripts or self.track_files
        ):
            _fail("priority", "255 is the address owner, whose tracking keepalived ignores")
        if self.start_as_master and self.preempt_delay:
            # keepalived clears it with a warning, and keepalived -t fails
            _fail("preempt_delay", "does not work with the initial state MASTER")
        tracked = [t.name for t in self.track_interfaces]
        if self.interface in tracked:
            # keepalived ignores it with a warning (its own interface is always tracked)
            _fail("track_interfaces", f"lists the instance's own interface {self.interface}")
        for what, names in (
            ("track_interfaces", tracked),
            ("track_scripts", [t.name for t in self.track_scripts]),
            ("track_files", [t.name for t in self.track_files]),
        ):
            if len(set(names)) != len(names):
                _fail(what, f"lists a name twice: {names}")
        own = {ipaddress.IPv4Address(self.unicast_src_ip)}
        peers = {ipaddress.IPv4Address(p) for p in self.unicast_peers}
        if own & peers:
            _fail("unicast_peers", f"lists our own unicast_src_ip {self.unicast_src_ip}")
        for v in self.virtual_ipaddresses:
            if ipaddress.IPv4Interface(v).ip in own | peers:
                _fail("virtual_ipaddresses", f"{v} is a node's own address, not a virtual one")

    @property
    def advert_interval_us(self) -> int:
        return int(self.advert_int * 1_000_000)

    def render(self) -> str:
        lines = [f"vrrp_instance {self.name} {{"]
        lines.append(f"  state {'MASTER' if self.start_as_master else 'BACKUP'}")
        lines.append(f"  interface {self.interface}")
        lines.append(f"  virtual_router_id {self.vrid}")
        lines.append(f"  priority {self.priority}")
        lines.append(f"  advert_int {_fmt_seconds(self.advert_int)}")
        lines.append("  version 3")
        if not self.preempt:
            lines.append("  nopreempt")
        elif self.preempt_delay:
            lines.append(f"  preempt_delay {self.preempt_delay}")
        lines.append(f"  unicast_src_ip {self.unicast_src_ip}")
        lines.append("  unicast_peer {")
        lines += [f"    {p}" for p in self.unicast_peers]
        lines.append("  }")
        lines.append("  virtual_ipaddress {")
        lines += [f"    {v} dev {self.interface}" for v in self.virtual_ipaddresses]
        lines.append("  }")
        if self.track_scripts:
            lines.append("  track_script {")
            lines += [f"    {t.name}" for t in self.track_scripts]
            lines.append("  }")
        if self.track_interfaces:
            lines.append("  track_interface {")
            lines += [f"    {t.name} weight {t.weight}" for t in self.track_interfaces]
            lines.append("  }")
        if self.track_files:
            lines.append("  track_file {")
            lines += [f"    {t.name}" for t in self.track_files]
            lines.append("  }")
        if self.notify_argv:
            lines.append(f'  notify "{" ".join(self.notify_argv)}"')
        lines.append("}")
        return "\n".join(lines) + "\n"


@attrs.frozen
class KeepalivedConfig:
    """A whole keepalived.conf: global_defs plus instances."""

    router_id: str = attrs.field(validator=_name)
    instances: tuple[VrrpInstanceSpec, ...] = attrs.field(
        converter=_to_tuple, validator=_tuple_of(VrrpInstanceSpec)
    )
    notify_fifo: str | None = attrs.field(default=None, validator=_path)
    notify_priority_changes: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.instances:
            _fail("instances", "at least one vrrp_instance is needed")
        seen_names: set[str] = set()
        seen_vrids: set[tuple[str, int]] = set()
        for inst in self.instances:
            if inst.name in seen_names:
                _fail("instances", f"duplicate instance name {inst.name!r}")
            if (inst.interface, inst.vrid) in seen_vrids:
                _fail("instances", f"duplicate vrid {inst.vrid} on {inst.interface}")
            seen_names.add(inst.name)
            seen_vrids.add((inst.interface, inst.vrid))

    def render(self) -> str:
        out = ["# generated by hacore; do not edit", "global_defs {"]
        out.append(f"  router_id {self.router_id}")
        if self.notify_fifo:
            out.append(f"  vrrp_notify_fifo {self.notify_fifo}")
        if self.notify_priority_changes:
            out.append("  vrrp_notify_priority_changes true")
        out.append("  script_user root")
        out.append("  enable_script_security")
        out.append("}")
        text = "\n".join(out) + "\n"
        scripts: dict[str, TrackScript] = {}
        files: dict[str, TrackFile] = {}
        for inst in self.instances:
            for s in inst.track_scripts:
                if scripts.setdefault(s.name, s) != s:
                    _fail("track_scripts", f"two different scripts named {s.name!r}")
            for f in inst.track_files:
                if files.setdefault(f.name, f) != f:
                    _fail("track_files", f"two different track files named {f.name!r}")
        for name in sorted(scripts):
            text += scripts[name].render()
        for name in sorted(files):
            text += files[name].render()
        for inst in self.instances:
            text += inst.render()
        return text
