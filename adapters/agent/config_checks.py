"""Validators of the agent's configuration fields (attrs validators).

Each raises :class:`ConfigValueError` with the field's name, the value and
what was expected; :func:`adapters.agent.tomlconf.build` prefixes the
section, so an error reads ``datastore.replica_dir: expected ..., got ...``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import attrs

from adapters.agent.tomlconf import ConfigValueError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")
_PATH_BAD = re.compile(r"[\s\"'\\{}#!]")


def name(_: object, a: attrs.Attribute[str], v: str) -> None:
    if not NAME.match(v):
        raise ConfigValueError(a.name, v, "a name of letters, digits, '-' or '_' (1..63)")


def optional_name(_: object, a: attrs.Attribute[Any], v: str | None) -> None:
    if v is not None and not NAME.match(v):
        raise ConfigValueError(a.name, v, "a name of letters, digits, '-' or '_' (1..63)")


def ipv4(_: object, a: attrs.Attribute[str], v: str) -> None:
    try:
        ipaddress.IPv4Address(v)
    except ValueError:
        raise ConfigValueError(a.name, v, "an IPv4 address (a.b.c.d)") from None


def ipv4_interface(_: object, a: attrs.Attribute[str], v: str) -> None:
    try:
        ipaddress.IPv4Interface(v)
    except ValueError:
        raise ConfigValueError(a.name, v, "an IPv4 address with prefix (a.b.c.d/len)") from None
    if "/" not in v:
        raise ConfigValueError(a.name, v, "an IPv4 address with prefix (a.b.c.d/len)")


def abs_path(_: object, a: attrs.Attribute[Any], v: str | None) -> None:
    if v is None:
        return
    if not v.startswith("/") or _PATH_BAD.search(v):
        raise ConfigValueError(a.name, v, "an absolute path without spaces or quotes")


def ifname(_: object, a: attrs.Attribute[str], v: str) -> None:
    if not _IFNAME.match(v):
        raise ConfigValueError(a.name, v, "an interface name (1..15 of [A-Za-z0-9_.-])")


def int_range(lo: int, hi: int) -> Any:
    def check(_: object, a: attrs.Attribute[int], v: int) -> None:
        if not lo <= v <= hi:
            raise ConfigValueError(a.name, v, f"an integer in {lo}..{hi}")

    return check


def seconds(lo: float, hi: float) -> Any:
    def check(_: object, a: attrs.Attribute[float], v: float) -> None:
        if not lo <= v <= hi:
            raise ConfigValueError(a.name, v, f"a number of seconds in {lo:g}..{hi:g}")

    return check


def level(_: object, a: attrs.Attribute[str], v: str) -> None:
    if v not in ("debug", "info", "warning", "error"):
        raise ConfigValueError(a.name, v, "one of 'debug', 'info', 'warning', 'error'")


def one_of(*choices: str) -> Any:
    def check(_: object, a: attrs.Attribute[str], v: str) -> None:
        if v not in choices:
            raise ConfigValueError(a.name, v, "one of " + ", ".join(repr(c) for c in choices))

    return check


def argv(_: object, a: attrs.Attribute[tuple[str, ...]], v: tuple[str, ...]) -> None:
    """A command as an argv array: never a shell line, so no item may be empty
    or carry a NUL/newline; the program is an absolute path."""
    for i, item in enumerate(v):
        if not item or any(c in item for c in "\0\n\r"):
            raise ConfigValueError(
                f"{a.name}[{i}]", item, "a non-empty argument without NUL/newline"
            )
    if v and not v[0].startswith("/"):
        raise ConfigValueError(f"{a.name}[0]", v[0], "the program as an absolute path")
