"""Which cells of the transition table a run exercised: (role, input kind, rule).

The core's decider stays as it is (no hook, no counter in ``decide``). The
simulator asks :func:`active_recorder` once per node boot; only while a
:func:`recording` block is open in the current context (a fuzz campaign's
shard) does it get a recorder back, which it hands the node's dispatcher as its
``on_input`` hook (:class:`hacore.dispatch.Dispatcher`; otherwise the hook is
None, one comparison per input). The recorder finds the first rule whose guard
holds for the input in the state before it, exactly as
:func:`hacore.decider.decide` does, and counts it. Guards are pure, so
evaluating one twice changes nothing.

What is counted is the decisions handed to the core: a heartbeat the simulator
knows the core would ignore (:func:`hacore.decider.heartbeat_is_quiet`) is not
handed over and so not counted; its rule, the quiet-heartbeat rule that opens
every ``PeerHeard`` cell, is counted by the quiet heartbeats that do reach the
core (those that arrive while an observation waits in the backlog).

Everything here reads only ``hacore.table.TABLE`` (role -> input type ->
ordered rules, each a guard and an action function; a cell is named by its
input type's kind): if the table is restructured, this module is the one place
to follow it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hacore import inputs as inp
from hacore.state import NodeState
from hacore.table import TABLE, Context, Rule, cell_of

Cell = tuple[str, str, str]  # (role, input kind, rule label)


def rule_label(rule: Rule) -> str:
    return f"{rule.guard.__name__} -> {rule.action.__name__}"


def table_cells() -> list[Cell]:
    """Every (role, input kind, rule) of the table, in the table's order."""
    cells: dict[Cell, None] = {}
    for role, kinds in TABLE.items():
        for input_type, rules in kinds.items():
            for rule in rules:
                cells[(str(role), str(input_type.KIND), rule_label(rule))] = None
    return list(cells)


class CellRecorder:
    """Counts, per table cell, the decisions that went through it."""

    def __init__(self) -> None:
        self.hits: dict[Cell, int] = {}

    def record(self, ctx: Context, state: NodeState, received: inp.Input) -> None:
        rules = cell_of(state.role, type(received)) or ()
        for rule in rules:
            if rule.guard(ctx, state, received):
                key = (str(state.role), str(received.KIND), rule_label(rule))
                self.hits[key] = self.hits.get(key, 0) + 1
                return


_RECORDER: ContextVar[CellRecorder | None] = ContextVar("hacore_cell_recorder", default=None)


def active_recorder() -> CellRecorder | None:
    """The recorder of the open :func:`recording` block, if any (None: record nothing)."""
    return _RECORDER.get()


@contextmanager
def recording() -> Iterator[CellRecorder]:
    """Record the cells of every decision the simulator makes in this block.

    A context variable, not a global: each thread (a Dask worker's task thread)
    records only its own runs."""
    recorder = CellRecorder()
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)
