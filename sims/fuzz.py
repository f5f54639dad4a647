"""Hypothesis fault-schedule fuzzing: ``hacore fuzz`` and the canary test.

A :class:`hypothesis.stateful.RuleBasedStateMachine` drives one simulation:
its rules are the nemesis (partition, heal, crash, restart, pause, resume,
slow and failing plan steps, a full disk and its repair, operator commands)
and ``advance`` (let simulated time pass). Hypothesis only
chooses the *coarse* schedule; fine-grained noise (link delays, step
durations, transient failures) comes from the run's seeded ``random.Random``,
so shrinking removes faults, not jitter. Safety invariants are checked after
every rule; liveness (convergence, nothing lost, replay) in the teardown,
after a heal phase. A failure raises :class:`FuzzFailure` whose message is the
``hacore simulate`` command that replays the shrunk schedule exactly: each
fault is injected at priority 2 (after everything else at its instant), so the
same faults scheduled up front give the identical run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    rule,
)

from hacore.roles import Mode, Policy
from sims.faults import SECOND, Fault, schedule_text
from sims.progress import default_event_budget, default_wall_budget_s
from sims.replay import NEVER, replay_command
from sims.sim import SimParams, Simulation

# Checked after every rule: the safety invariants, and progress (a run whose
# budget ran out stops there: a livelock is found, not waited for).
SAFETY = ("one-active-per-epoch", "epochs-monotonic", "idempotent-steps", "progress")
# The nemesis and time rules a schedule is drawn from (FuzzConfig.weights names them).
RULES = (
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
    "operator",
    "advance",
)


class FuzzFailure(AssertionError):
    """An invariant broke; ``command`` replays the schedule."""

    def __init__(self, message: str, command: str, schedule: str, digest: str = "") -> None:
        super().__init__(message)
        self.command = command
        self.schedule = schedule
        self.digest = digest  # of the failing run's logs: the replay's must be the same


@dataclass(frozen=True, slots=True)
class FuzzConfig:
    nodes: int = 2
    witness: bool = False
    policy: Policy = Policy.VRRP_WINNER
    mode: Mode = Mode.AVAILABILITY_FIRST
    seed: int = 0
    # (rule name, weight) pairs: a rule of weight k is offered k times (k copies of
    # it among the machine's rules), 0 leaves it out; unnamed rules weigh 1.
    weights: tuple[tuple[str, int], ...] = ()
    max_advance_s: int = 45  # the longest single ``advance`` of simulated time
    steps: int = 12  # rules per example (hypothesis's stateful_step_count)
    event_budget: int | None = None  # per example; None: derived (example_budgets)
    wall_budget_s: float | None = None

    def weight(self, rule_name: str) -> int:
        return dict(self.weights).get(rule_name, 1)

    def params(self) -> SimParams:
        return SimParams(nodes=self.nodes, witness=self.witness, policy=self.policy, mode=self.mode)

    def longest_example_us(self) -> int:
        """The most simulated time one example can span: the chaos start, every
        step an ``advance`` of the longest kind, then the teardown's heal phase."""
        p = self.params()
        advance = self.max_advance_s * SECOND
        return p.chaos_start_us + self.steps * advance + p.convergence_bound_us()

    def example_budgets(self) -> tuple[int, float]:
        """Each example's (event budget, wall budget): as given, or derived from
        the longest example (sims.progress)."""
        longest = self.longest_example_us()
        events, wall = self.event_budget, self.wall_budget_s
        return (
            events if events is not None else default_event_budget(self.params(), longest),
            wall if wall is not None else default_wall_budget_s(longest),
        )


def make_machine(cfg: FuzzConfig, counter: list[int]) -> type[RuleBasedStateMachine]:
    names = [f"n{i + 1}" for i in range(cfg.nodes)]
    targets = [*names, "active"]
    specs = ["halves", "isolate-active", *[f"isolate-{n}" for n in names]]
    specs += ["ring", "bridge"] if cfg.nodes + (1 if cfg.witness else 0) >= 3 else []
    specs += [f"oneway-{a}-{b}" for a in names for b in names if a != b][:4]
    # Each rule's strategies; the rules are made from this table after the class
    # (weighted by ``cfg.weight``), not by decorators, so a campaign can reweigh them.
    rule_arguments: dict[str, dict[str, st.SearchStrategy[Any]]] = {
        "partition": {"spec": st.sampled_from(specs)},
        "heal": {},
        "crash": {"node": st.sampled_from(targets)},
        "restart": {"node": st.sampled_from([*names, "all"])},
        "pause": {"node": st.sampled_from(targets)},
        "resume": {"node": st.sampled_from([*names, "all"])},
        "slow": {"node": st.sampled_from(targets), "factor": st.sampled_from([1, 3, 10])},
        "failsteps": {"node": st.sampled_from(targets), "count": st.integers(1, 3)},
        "diskfull": {"node": st.sampled_from(targets)},
        "diskok": {"node": st.sampled_from([*names, "all"])},
        "operator": {"command": st.sampled_from(["resolve", "switchover"])},
        "advance": {"half_seconds": st.integers(1, 2 * cfg.max_advance_s)},
    }
    unknown = sorted(name for name, _w in cfg.weights if name not in rule_arguments)
    if unknown:
        raise ValueError(f"no fuzz rule named {', '.join(unknown)}; known: {', '.join(RULES)}")
    if not any(cfg.weight(name) for name in rule_arguments):
        raise ValueError("every fuzz rule has weight 0")

    class ClusterMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.sim: Simulation | None = None
            self.sim_seed = 0
            self.until = 0  # where the last run_until stopped (or was to stop)
            self.step_faults = False  # slow/failsteps used: the teardown restores them
            counter[0] += 1

        @initialize(noise=st.integers(0, 1000))
        def start(self, noise: int) -> None:
            self.sim_seed = cfg.seed * 1000 + noise
            p = cfg.params()
            sim = Simulation(p, self.sim_seed, (), "custom", duration_us=None)
            sim.last_heal = NEVER  # unknown until the teardown heals
            sim.set_budgets(*cfg.example_budgets())
            sim.start()
            self.sim = sim
            self._run(p.chaos_start_us)

        def _run(self, until: int) -> None:
            """Let the simulation run to ``until``; a replay ends there too."""
            assert self.sim is not None
            self.until = until
            self.sim.run_until(until)

        def _inject(self, kind: str, target: str = "", arg: str = "") -> None:
            assert self.sim is not None
            self.sim.inject(Fault(self.sim.now, kind, target, arg))
            self._run(self.sim.now)

        def partition(self, spec: str) -> None:
            self._inject("partition", spec)

        def heal(self) -> None:
            self._inject("heal")

        def crash(self, node: str) -> None:
            self._inject("crash", node)

        def restart(self, node: str) -> None:
            self._inject("restart", node)

        def pause(self, node: str) -> None:
            self._inject("pause", node)

        def resume(self, node: str) -> None:
            self._inject("resume", node)

        def slow(self, node: str, factor: int) -> None:
            """Plan steps on ``node`` take ``factor`` times longer (1 restores)."""
            self.step_faults = True
            self._inject("slow", node, str(factor))

        def failsteps(self, node: str, count: int) -> None:
            """The next ``count`` plan-step attempts on ``node`` fail."""
            self.step_faults = True
            self._inject("failsteps", node, str(count))

        def diskfull(self, node: str) -> None:
            """Log appends on ``node`` fail (disk full): the core cannot act."""
            self._inject("diskfull", node)

        def diskok(self, node: str) -> None:
            self._inject("diskok", node)

        def operator(self, command: str) -> None:
            self._inject(command)

        def advance(self, half_seconds: int) -> None:
            assert self.sim is not None
            self._run(self.sim.now + half_seconds * SECOND // 2)

        @invariant()
        def safety(self) -> None:
            sim = self.sim
            if sim is None:
                return
            broken = [v for v in sim.violations if v.split(":", 1)[0] in SAFETY]
            if broken:
                self._fail(broken)

        def _fail(self, violations: list[str]) -> None:
            sim = self.sim
            assert sim is not None
            # The replay runs exactly as far as this example did (and no heal
            # phase begins in it unless the teardown had begun one).
            sim.end = self.until
            sched = schedule_text(sim.schedule)
            command = replay_command(sim)
            text = "\n".join(
                [*violations, f"seed: {self.sim_seed}", f"schedule: {sched}", f"replay: {command}"]
            )
            raise FuzzFailure(text, command, sched, sim.digest())

        def teardown(self) -> None:
            sim = self.sim
            if sim is None:
                return
            t = sim.now
            sim.last_heal = t
            heal = [("heal", "", ""), ("resume", "all", ""), ("diskok", "all", "")]
            if self.step_faults:
                # The convergence bound assumes plan steps of normal speed.
                heal += [("slow", "all", "1"), ("failsteps", "all", "0")]
            heal.append(("restart", "all", ""))
            for kind, target, arg in heal:
                sim.inject(Fault(t, kind, target, arg))
            sim.end = t + sim.p.convergence_bound_us()
            self._run(sim.end)
            result = sim.finish(0.0)
            if not result.ok:
                self._fail(result.violations)

    make_rule: Callable[..., Callable[[Callable[..., None]], Callable[..., None]]] = rule
    for name, arguments in rule_arguments.items():
        method = getattr(ClusterMachine, name)
        for copy in range(cfg.weight(name)):
            # Copy 1 keeps the method's name, so the default machine is the one
            # the decorators used to make (same rules, same order, same schedules).
            label = name if copy == 0 else f"{name}_{copy + 1}"
            setattr(ClusterMachine, label, make_rule(**arguments)(method))
    return ClusterMachine


def cli_hypothesis_home() -> str:
    """Where ``hacore fuzz`` lets hypothesis keep its files (its example database is
    off; it still caches the constants it finds in the code under test), instead of
    ``.hypothesis/`` in the caller's working directory: ``$XDG_CACHE_HOME/hacore/
    hypothesis`` (``~/.cache/hacore/hypothesis`` by default), or a fresh temporary
    directory when that cannot be created."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "hacore", "hypothesis")
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK | os.X_OK):
            return path
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="hacore-hypothesis-")


@contextmanager
def _hypothesis_home(path: str | None) -> Iterator[None]:
    """Point hypothesis's storage at ``path`` for the duration (None: leave it)."""
    if path is None:
        yield
        return
    from hypothesis import configuration

    previous = getattr(configuration, "__hypothesis_home_directory", None)
    configuration.set_hypothesis_home_dir(path)
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)


@dataclass
class FuzzOutcome:
    examples_run: int
    failure: FuzzFailure | None = None
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def run_fuzz(
    *,
    examples: int,
    nodes: int = 2,
    witness: bool = False,
    policy: Policy = Policy.VRRP_WINNER,
    mode: Mode = Mode.AVAILABILITY_FIRST,
    seed: int = 0,
    steps: int = 12,
    progress: Callable[[int], None] | None = None,
    home: str | None = None,
    weights: tuple[tuple[str, int], ...] = (),
    max_advance_s: int = 45,
    database: ExampleDatabase | None = None,
    event_budget: int | None = None,
    wall_budget_s: float | None = None,
) -> FuzzOutcome:
    """Run ``examples`` schedules; return the shrunk failure if one is found.
    ``home``: hypothesis's storage directory for this run (None: hypothesis's own
    choice, ``.hypothesis/`` in the working directory, as under pytest).
    ``database``: hypothesis's example database (None: none; a campaign shares one
    between its workers so that a failure found once is replayed first everywhere).
    ``progress`` is called as each schedule starts, with the count so far. The
    budgets bound each example (None: derived from its longest run)."""
    cfg = FuzzConfig(nodes, witness, policy, mode, seed, weights, max_advance_s, steps)
    cfg = replace(cfg, event_budget=event_budget, wall_budget_s=wall_budget_s)
    with _hypothesis_home(home):
        return _run_fuzz(cfg, examples, steps, progress, database)


def _run_fuzz(
    cfg: FuzzConfig,
    examples: int,
    steps: int,
    progress: Callable[[int], None] | None,
    database: ExampleDatabase | None,
) -> FuzzOutcome:
    counter = [0]
    machine = make_machine(cfg, counter)
    if progress is not None:
        original = machine.__init__

        def init_with_progress(self: RuleBasedStateMachine) -> None:
            original(self)
            progress(counter[0])

        machine.__init__ = init_with_progress  # type: ignore[method-assign]
    fuzz_settings = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=database,
        # The explain phase replays the shrunk failure many times to annotate
        # hypothesis's own report, which the fuzzer never prints (seconds per
        # failure for nothing).
        phases=[phase for phase in Phase if phase is not Phase.explain],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        # One counterexample: a livelock can show both mid-run (a rule spends the
        # budget) and in the teardown; hypothesis would raise them as a group.
        report_multiple_bugs=False,
    )
    # The seed goes on the machine (hypothesis copies it to the test), not on the
    # test: @seed on a test also switches its example database off, and a campaign
    # wants both, seeded generation and the failures other shards saved replayed.
    machine = hypothesis_seed(cfg.seed)(machine)
    test = get_state_machine_test(machine, settings=fuzz_settings)
    wall = time.perf_counter()
    failure: FuzzFailure | None = None
    try:
        test()
    except FuzzFailure as exc:
        failure = exc
    return FuzzOutcome(counter[0], failure, time.perf_counter() - wall)


def shard_sizes(examples: int, jobs: int) -> list[int]:
    """Split ``examples`` over at most ``jobs`` shards, the remainder spread one
    each over the first shards (no shard of zero: fewer shards than jobs when
    ``examples < jobs``)."""
    shards = max(1, min(jobs, examples))
    per, extra = divmod(examples, shards)
    return [per + (1 if i < extra else 0) for i in range(shards)]


Shard = tuple[int, int, int, bool, str, str, int, str | None, int | None, float | None]


def _shard(args: Shard) -> tuple[int, str | None, str, str]:
    examples, nodes, seed, witness, policy, mode, _index, home, events, wall = args
    out = run_fuzz(
        examples=examples,
        nodes=nodes,
        witness=witness,
        policy=Policy(policy),
        mode=Mode(mode),
        seed=seed,
        home=home,
        event_budget=events,
        wall_budget_s=wall,
    )
    if out.failure is None:
        return out.examples_run, None, "", ""
    return out.examples_run, str(out.failure), out.failure.command, out.failure.schedule


_last_reported: list[int] = [-1]


def _bar(done: int, total: int) -> None:
    width = 30
    filled = min(width, done * width // max(1, total))
    if sys.stderr.isatty():
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} examples")
    else:
        # A log file gets one line per tenth, not a carriage-return animation.
        tenth = done * 10 // max(1, total)
        if tenth == _last_reported[0]:
            return
        _last_reported[0] = tenth
        sys.stderr.write(f"fuzz: {done}/{total} examples\n")
    sys.stderr.flush()


def main_fuzz(
    *,
    examples: int,
    nodes: int,
    witness: bool,
    policy: Policy,
    mode: Mode,
    seed: int,
    jobs: int,
    as_json: bool,
    event_budget: int | None = None,
    wall_budget_s: float | None = None,
) -> int:
    wall = time.perf_counter()
    message: str | None = None
    command = schedule = ""
    home = cli_hypothesis_home()
    if jobs == 1:
        outcome = run_fuzz(
            examples=examples,
            nodes=nodes,
            witness=witness,
            policy=policy,
            mode=mode,
            seed=seed,
            progress=None if as_json else lambda n: _bar(min(n, examples), examples),
            home=home,
            event_budget=event_budget,
            wall_budget_s=wall_budget_s,
        )
        run = outcome.examples_run
        if outcome.failure is not None:
            message = str(outcome.failure)
            command, schedule = outcome.failure.command, outcome.failure.schedule
    else:
        sizes = shard_sizes(examples, jobs)
        shards: list[Shard] = [
            (
                size,
                nodes,
                seed * 100 + i,
                witness,
                str(policy),
                str(mode),
                i,
                home,
                event_budget,
                wall_budget_s,
            )
            for i, size in enumerate(sizes)
        ]
        # fork where the platform has it: a spawned worker re-imports hypothesis
        # and the simulator before its first example (measured: 9.7 s against
        # 2.1 s for two one-example shards on the loaded 2-core VM), which is
        # what made --jobs 2 slower than --jobs 1 on short runs. Each worker is
        # started once and fed its shard; the parent runs no thread to fork.
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        run = 0
        with ctx.Pool(len(shards)) as pool:
            for count, msg, cmd, sch in pool.imap(_shard, shards):
                run += count
                if not as_json:
                    _bar(min(run, examples), examples)
                if msg is not None and message is None:
                    message, command, schedule = msg, cmd, sch
    if not as_json:
        sys.stderr.write("\n")
    elapsed = time.perf_counter() - wall
    if as_json:
        print(
            json.dumps(
                {
                    "examples": run,
                    "found": message is not None,
                    "violation": message,
                    "replay": command or None,
                    "schedule": schedule or None,
                    "wall_seconds": round(elapsed, 3),
                    "schedules_per_minute": round(run / elapsed * 60, 1) if elapsed else None,
                },
                sort_keys=True,
            )
        )
    elif message is None:
        print(f"no invariant violated in {run} schedules ({elapsed:.3f} s)")
    else:
        print("INVARIANT VIOLATED (shrunk counterexample):")
        print(message)
    return 0 if message is None else 1
