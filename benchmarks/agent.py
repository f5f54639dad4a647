"""Benchmark of `hacore agent` on the lab: real keepalived, two agents (root).

Prints ``name: value unit`` lines:

* ``master_to_first_step_ms_{median,p99,max}``: from the keepalived MASTER
  line reaching the promoting agent (its log line for the FIFO record) to
  the agent's first plan step started (its ``step started`` line), over
  ``--cycles`` failovers driven by the lab's priority bias;
* ``agent_input_overhead_us_{median,p99}``: per decided input, the agent's
  decide + durable commit (aiosqlite, FULL before effects) + job dispatch,
  from the agents' ``decided`` log lines;
* ``core_decide_us_{median,p99}``: the core's own ``step`` (decide + evolve
  + effects) on the same inputs, replayed from the agents' logs in this
  process, and ``overhead_to_decide_ratio``: the two medians divided (the
  baseline is the core measured in the same run).

Timing on a shared 2-core machine is noisy; run it more than once. Not a
test: nothing here is asserted. Run: ``.venv/bin/python benchmarks/agent.py``
(as root; ``--cycles N``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from adapters.store import SqliteStore
from hacore import inputs as inp
from hacore.decider import Context, initial_state, step
from hacore.log import EVENT, INPUT, replay_records

_TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(_TESTS))
_spec = importlib.util.spec_from_file_location("agent_lab", _TESTS / "agent_lab.py")
assert _spec is not None and _spec.loader is not None
agent_lab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agent_lab)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _log(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _parse_time(text: str) -> float:
    stamp, frac = text.rstrip("Z").split(".")
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1e6


def master_to_step_ms(rows: list[dict[str, Any]]) -> list[float]:
    out: list[float] = []
    master_at: float | None = None
    for row in rows:
        if row.get("msg") == "keepalived" and " MASTER " in str(row.get("line")):
            master_at = _parse_time(row["time"])
        elif row.get("msg") == "step started" and master_at is not None:
            out.append((_parse_time(row["time"]) - master_at) * 1000)
            master_at = None
    return out


def core_decide_us(store_path: Path, node: str, config: Any) -> list[float]:
    """Re-decide the node's recorded inputs from the state before each, timing ``step``."""
    with SqliteStore.open(str(store_path), create=False, readonly=True) as store:
        records = list(store.records(node))
    ctx = Context(config, node)
    out: list[float] = []
    state = initial_state(config, node)
    done: list[Any] = []
    for record in records:
        if record.kind == INPUT:
            received = record.message()
            assert isinstance(received, inp.Input)
            t0 = time.perf_counter_ns()
            step(ctx, state, received)
            out.append((time.perf_counter_ns() - t0) / 1000)
        done.append(record)
        if record.kind == EVENT:
            state = replay_records(node, done)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("benchmarks/agent.py: needs root (the lab's namespaces and keepalived)")
        return 2
    d = Path("/run/hacore-lab-bench") / f"agent-{os.getpid()}"
    lab = agent_lab.AgentLab(d, delay_s=0.0)
    try:
        for name in ("a", "b"):
            lab.start_agent(name)
        lab.lab.start_together()
        lab.wait_roles({"a": "active", "b": "standby"})
        for cycle in range(args.cycles):
            promoter = "b" if cycle % 2 == 0 else "a"
            lab.lab.set_bias("a", -100 if promoter == "b" else 0)
            other = "a" if promoter == "b" else "b"
            lab.wait_roles({promoter: "active", other: "standby"}, 30)
        lab.stop_agent("a")
        lab.stop_agent("b")
        latencies: list[float] = []
        overheads: list[float] = []
        decides: list[float] = []
        config = None
        for name in ("a", "b"):
            rows = _log(lab.dir(name) / "agent.log")
            latencies += master_to_step_ms(rows)
            overheads += [float(r["overhead_us"]) for r in rows if r.get("msg") == "decided"]
            store_path = lab.dir(name) / "events.sqlite"
            with SqliteStore.open(str(store_path), create=False, readonly=True) as store:
                config = store.config
            assert config is not None
            decides += core_decide_us(store_path, name, config)
        print(f"cycles: {args.cycles} failovers")
        print(f"master_to_first_step_ms_median: {statistics.median(latencies):.2f} ms")
        print(f"master_to_first_step_ms_p99: {_pct(latencies, 0.99):.2f} ms")
        print(f"master_to_first_step_ms_max: {max(latencies):.2f} ms")
        print(f"decided_inputs: {len(overheads)} inputs")
        print(f"agent_input_overhead_us_median: {statistics.median(overheads):.0f} us")
        print(f"agent_input_overhead_us_p99: {_pct(overheads, 0.99):.0f} us")
        print(f"core_decide_us_median: {statistics.median(decides):.1f} us")
        print(f"core_decide_us_p99: {_pct(decides, 0.99):.1f} us")
        ratio = statistics.median(overheads) / statistics.median(decides)
        print(f"overhead_to_decide_ratio: {ratio:.1f} x")
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
