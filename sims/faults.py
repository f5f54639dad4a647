"""Fault schedules: what the nemesis does, when, written so a person can replay it.

A schedule is a tuple of :class:`Fault` sorted by time. Its text form is one
comma-separated string, ``"20s:crash:active,50s:restart:n1"``, which
``hacore simulate --schedule`` accepts: every violation prints the exact
command that replays it, and the fuzzer's shrunk counterexample is printed in
the same form.

Fault kinds
-----------
``partition:SPEC`` (SPEC: ``isolate-NODE``, ``isolate-active``, ``halves``,
``ring``, ``bridge``, ``oneway-A-B``), ``heal``, ``crash:NODE``,
``restart:NODE``, ``pause:NODE``, ``resume:NODE``, ``slow:NODE:FACTOR`` (plan
steps take FACTOR times longer; 1 restores), ``failsteps:NODE:COUNT`` (the next
COUNT step attempts fail), ``diskfull:NODE``/``diskok:NODE`` (log appends
fail), ``noise:LOSS%:DUP%``, ``resolve`` (operator RESOLVE on frozen nodes),
``switchover`` (operator switchover of the active). NODE may be ``active``
(the node that is active when the fault fires) or ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass

SECOND = 1_000_000

KINDS = (
    "partition",
    "heal",
    "crash",
    "restart",
    "pause",
    "resume",
    "slow",
    "failsteps",
    "diskfull",
    "diskok",
    "noise",
    "resolve",
    "switchover",
)
# Faults after which the cluster is back to normal (for the convergence clock).
HEALING = frozenset({"heal", "restart", "resume", "diskok"})


class ScheduleError(ValueError):
    """A schedule string that does not parse."""


@dataclass(frozen=True, slots=True, order=True)
class Fault:
    at: int  # microseconds of simulated time
    kind: str
    target: str = ""
    arg: str = ""

    def text(self) -> str:
        parts = [fmt_time(self.at), self.kind]
        if self.target or self.arg:
            parts.append(self.target)
        if self.arg:
            parts.append(self.arg)
        return ":".join(parts)


def fmt_time(us: int) -> str:
    whole, frac = divmod(us, SECOND)
    if frac == 0:
        return f"{whole}s"
    return f"{whole}.{frac:06d}".rstrip("0") + "s"


def parse_time(text: str) -> int:
    t = text.strip()
    scale = SECOND
    if t.endswith("ms"):
        t, scale = t[:-2], 1000
    elif t.endswith("s"):
        t = t[:-1]
    try:
        whole, _, frac = t.partition(".")
        digits = len(str(scale)) - 1
        frac = (frac + "0" * digits)[:digits] if frac else "0"
        value = int(whole or "0") * scale + int(frac or "0")
    except ValueError:
        raise ScheduleError(f"bad time {text!r} (use e.g. 20s, 1.5s or 300ms)") from None
    if value < 0:
        raise ScheduleError(f"negative time {text!r}")
    return value


def parse_schedule(text: str) -> tuple[Fault, ...]:
    faults: list[Fault] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) < 2:
            raise ScheduleError(f"fault {item!r}: expected TIME:KIND[:TARGET[:ARG]]")
        at = parse_time(parts[0])
        kind = parts[1]
        if kind not in KINDS:
            raise ScheduleError(
                f"fault {item!r}: unknown kind {kind!r} (one of {', '.join(KINDS)})"
            )
        target = parts[2] if len(parts) > 2 else ""
        arg = parts[3] if len(parts) > 3 else ""
        faults.append(Fault(at, kind, target, arg))
    return tuple(sorted(faults, key=lambda f: f.at))  # stable: same-instant order kept


def check_schedule(faults: tuple[Fault, ...] | list[Fault], members: int) -> None:
    """Refuse faults that cannot be applied to a cluster of ``members`` (data nodes
    plus the witness): a majorities ring needs at least 3."""
    for f in faults:
        if f.kind == "partition" and f.target == "ring" and members < 3:
            raise ScheduleError(
                f"fault {f.text()!r}: a majorities ring needs at least 3 members "
                f"(nodes plus witness), this cluster has {members}: with fewer, no "
                "grudge lets each member see a different majority"
            )


def schedule_text(faults: tuple[Fault, ...] | list[Fault]) -> str:
    return ",".join(f.text() for f in faults)


# Fault kinds whose target is one member (or ``active``/``all``).
_NODE_KINDS = frozenset(
    {"crash", "restart", "pause", "resume", "slow", "failsteps", "diskfull", "diskok"}
)


def _named_members(f: Fault) -> list[str]:
    """The members a fault names explicitly (not ``active``/``all``)."""
    if f.kind in _NODE_KINDS:
        return [] if f.target in ("active", "all") else [f.target]
    if f.kind == "partition":
        if f.target.startswith("isolate-") and f.target != "isolate-active":
            return [f.target[len("isolate-") :]]
        if f.target.startswith("oneway-"):
            return f.target.split("-")[1:]
    return []


def check_run(faults: tuple[Fault, ...], members: list[str], duration_us: int | None) -> None:
    """Refuse, before the run, a schedule that cannot mean what it says: a fault
    naming a member the cluster does not have, a restart of a node no earlier
    fault crashed, a duration that ends before the last fault."""
    crashed: set[str] = set()  # membership only
    any_crash = False
    for f in faults:
        for name in _named_members(f):
            if not name:
                raise ScheduleError(f"fault {f.text()!r}: name a member, active or all")
            if name not in members:
                raise ScheduleError(
                    f"fault {f.text()!r}: no member {name!r} (the cluster has {', '.join(members)})"
                )
        if f.kind == "partition" and f.target.startswith("oneway-"):
            if len(f.target.split("-")) != 3:
                raise ScheduleError(f"fault {f.text()!r}: expected oneway-FROM-TO")
        if f.kind == "crash":
            any_crash = True
            if f.target not in ("active", "all"):
                crashed.add(f.target)
        elif f.kind == "restart" and f.target not in ("all",):
            # ``active`` is up by definition; a named node must have been crashed
            # by an earlier fault (by name, ``all`` or ``active``).
            if f.target == "active" or (f.target not in crashed and not any_crash):
                raise ScheduleError(
                    f"fault {f.text()!r}: restart before any crash of {f.target} "
                    "(a restart boots a node that is down)"
                )
    check_duration(faults, duration_us)


def check_duration(faults: tuple[Fault, ...], duration_us: int | None) -> None:
    """Refuse a duration that ends before the schedule's last fault (``hacore
    simulate``; a library caller may cut a run short on purpose)."""
    last = max((f.at for f in faults), default=0)
    if duration_us is not None and duration_us < last:
        raise ScheduleError(
            f"duration {fmt_time(duration_us)} ends before the schedule's last fault "
            f"at {fmt_time(last)}"
        )
