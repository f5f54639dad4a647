"""The arguments keepalived passes to a ``notify`` script: TYPE NAME STATE PRIORITY.

Exact, like the fifo grammar: upper-case words as keepalived writes them (no
case folding: a dotless i or a long s folds to I or S under ``str.upper``),
ASCII decimal priorities without a leading zero (``str.isdigit`` admits
superscript and circled digits), names of printable ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from adapters.keepalived.fifo import NAME_PATTERN, PRIORITY_PATTERN

TYPES = ("INSTANCE", "GROUP")
STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")
_NAME = re.compile(NAME_PATTERN, re.ASCII)
_PRIORITY = re.compile(PRIORITY_PATTERN, re.ASCII)


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
    if typ not in TYPES:
        raise NotifyArgsError(f"TYPE: must be INSTANCE or GROUP, got {typ!r}")
    if not _NAME.fullmatch(name):
        raise NotifyArgsError(
            f"NAME: 1..64 printable ASCII characters without spaces or quotes, got {name!r}"
        )
    if state not in STATES:
        raise NotifyArgsError(f"STATE: must be one of {', '.join(STATES)}, got {state!r}")
    if not _PRIORITY.fullmatch(prio) or int(prio) > 255:
        raise NotifyArgsError(
            f"PRIORITY: must be a decimal integer in 0..255 without leading zeros, got {prio!r}"
        )
    if typ == "GROUP" and state == "DELETED":
        raise NotifyArgsError("STATE: DELETED is only reported for instances")
    return NotifyArgs(typ, name, state, int(prio))
