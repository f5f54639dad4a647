"""The arguments keepalived passes to a ``notify`` script: TYPE NAME STATE PRIORITY."""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

TYPES = ("INSTANCE", "GROUP")
STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")
_NAME = re.compile(r"^[^\s\"]{1,64}$")


class NotifyArgsError(ValueError):
    """The notify arguments are not what keepalived passes; the message names the field."""


@attrs.frozen
class NotifyArgs:
    type: str
    name: str
    state: str
    priority: int

    def as_fifo_line(self) -> str:
        """The same report as keepalived writes it to notify_fifo."""
        return f'{self.type} "{self.name}" {self.state} {self.priority}'


def parse_notify_args(args: Sequence[str]) -> NotifyArgs:
    if len(args) != 4:
        raise NotifyArgsError(f"expected TYPE NAME STATE PRIORITY (4 arguments), got {len(args)}")
    typ, name, state, prio = args
    if typ.upper() not in TYPES:
        raise NotifyArgsError(f"TYPE: must be INSTANCE or GROUP, got {typ!r}")
    if not _NAME.match(name):
        raise NotifyArgsError(f"NAME: 1..64 characters without spaces or quotes, got {name!r}")
    if state.upper() not in STATES:
        raise NotifyArgsError(f"STATE: must be one of {', '.join(STATES)}, got {state!r}")
    if not prio.isdigit() or not 0 <= int(prio) <= 255:
        raise NotifyArgsError(f"PRIORITY: must be an integer in 0..255, got {prio!r}")
    if typ.upper() == "GROUP" and state.upper() == "DELETED":
        raise NotifyArgsError("STATE: DELETED is only reported for instances")
    return NotifyArgs(typ.upper(), name, state.upper(), int(prio))
