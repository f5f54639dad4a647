"""The simulator runs the real runtime: it has no effect interpreter of its own.

Two checks. Statically, no module of ``sims`` imports the core's effects or
names an effect type or a step: it cannot branch on them. Dynamically, over
runs that produce every effect type, every job the dispatcher hands out is
carried out through ``hacore.dispatch.perform`` on the node's port fakes, and
nothing else reaches a fake.
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path
from typing import Any

import pytest

import hacore.dispatch as dispatch
import sims.lifecycle as lifecycle
from hacore import effects as fx
from hacore.codec import registered_types
from hacore.ports import Outcome, Ports
from sims.faults import parse_schedule
from sims.run import make_simulation
from sims.simnode import SimNode

SIMS = Path(__file__).resolve().parent.parent / "sims"
EFFECT_NAMES = {c.__name__ for c in registered_types().values() if issubclass(c, fx.Effect)}
FORBIDDEN_NAMES = EFFECT_NAMES | {"StepName", "STEP_OPS", "effects_of", "call_port"}


def references(source: str) -> list[str]:
    """Imports of the core's effects, and names of effect types or steps, in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = {a.name for a in node.names}
            if module == "hacore.effects" or (module == "hacore" and "effects" in names):
                found.append(f"import {module}")
            found += [f"import {n}" for n in sorted(names & FORBIDDEN_NAMES)]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name == "hacore.effects"]
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(node.attr)
    return found


@pytest.mark.parametrize("path", sorted(SIMS.glob("*.py")), ids=lambda p: p.name)
def test_no_simulator_module_interprets_effects_or_steps(path: Path) -> None:
    assert references(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from hacore import effects as fx\n",
        "from hacore.effects import RunStep\n",
        "import hacore.effects\n",
        "if isinstance(e, fx.FenceWrites):\n    pass\n",
        "if step == StepName.START_K3S:\n    pass\n",
    ],
)
def test_the_checker_catches_an_effect_interpreter(source: str) -> None:
    assert references(source) != []


# Runs that between them produce every effect type: a failover, a split-brain
# and its heal, and a standby whose plan keeps failing (fault: stop services,
# yield priority).
RUNS = (
    ("active-crash", None),
    ("partition-heal", None),
    ("custom", "20s:failsteps:n2:9,21s:crash:n1,60s:restart:n1"),
)


def test_every_job_of_the_dispatcher_is_performed_through_the_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each job handed out is performed on the ports, except a plan step the
    simulator's failure model fails instead (failsteps, transient failures), one
    still running at the end, or one that died with its node (a crash)."""
    handed_out: dict[int, dispatch.Job] = {}
    performed: set[int] = set()
    failed_by_model: set[int] = set()
    died: set[int] = set()
    kinds: collections.Counter[str] = collections.Counter()
    model_reasons = ("injected failure", "transient failure")

    def track(method: Any) -> Any:
        def wrapper(self: dispatch.Dispatcher, *args: Any) -> list[dispatch.Job]:
            if method.__name__ == "completed":
                job, outcome = args[0], args[1]
                if id(job) not in performed and getattr(outcome, "reason", "") in model_reasons:
                    failed_by_model.add(id(job))
            jobs: list[dispatch.Job] = method(self, *args)
            for job in jobs:
                handed_out[id(job)] = job
            return jobs

        return wrapper

    for name in ("boot", "offer", "retry", "timer_fired", "completed"):
        monkeypatch.setattr(dispatch.Dispatcher, name, track(getattr(dispatch.Dispatcher, name)))
    perform = dispatch.perform

    def counting(ports: Ports, job: dispatch.Job) -> Outcome:
        assert id(job) in handed_out, "a job the dispatcher did not hand out"
        performed.add(id(job))
        kinds[type(job.effect).__name__] += 1
        return perform(ports, job)

    monkeypatch.setattr(lifecycle, "perform", counting)
    crash = lifecycle.NodeLifecycle._crash

    def crashing(self: lifecycle.NodeLifecycle, n: SimNode) -> None:
        for _at, _pri, _seq, fn, arg in self.heap:
            if fn == self._job_done and arg[0] == n.index and arg[1] == n.inc:
                died.add(id(arg[2]))
        crash(self, n)

    monkeypatch.setattr(lifecycle.NodeLifecycle, "_crash", crashing)
    for scenario, schedule in RUNS:
        sim = make_simulation(scenario, 1, schedule=parse_schedule(schedule) if schedule else None)
        sim.run()
        running = {id(arg[2]) for _at, _p, _s, fn, arg in sim.heap if fn == sim._job_done}
        missing = set(handed_out) - performed - failed_by_model - died - running
        assert not missing, [handed_out[i].effect for i in sorted(missing)][:5]
        assert performed, scenario
        for kept in (handed_out, performed, failed_by_model, died):
            kept.clear()
    assert set(kinds) == EFFECT_NAMES, kinds
