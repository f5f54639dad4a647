"""One shard, run on a worker: a bounded fuzz run of one configuration.

:func:`run_shard` is what the engine (or a local worker process) executes. It
is a plain function of JSON-able data: the shard's spec in, its record out
(schedules run, the shrunk failure if any with its replay's artifacts, the
table cells it exercised, who ran it and when), so any worker with hacore installed can run it.

The wall-time bound: once ``wall_s`` has passed, every schedule hypothesis
starts is rejected before it simulates anything (``hypothesis.reject``), so
the run winds down in milliseconds and reports what it had. Not once a failure
was found (hypothesis has saved it to the database): the shrinker replays
schedules it ran before, and rejecting one of those now would look to
hypothesis like a flaky test; shrinking is bounded by hypothesis itself. A single
schedule is bounded by the simulator's own budgets; the coordinator's hard
timeout (see :mod:`hacli.campaign.executors`) is the last resort.
"""

from __future__ import annotations

import os
import re
import socket
import time
from typing import Any

from hypothesis import reject
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    InMemoryExampleDatabase,
)

from hacli.campaign.config import ShardSpec
from hacli.campaign.failures import replay_failure
from sims import coverage
from sims.fuzz import cli_hypothesis_home, run_fuzz


class KeyedDatabase(ExampleDatabase):
    """A shared example database seen through a per-configuration prefix, and
    never forgetting.

    Hypothesis keys its saved examples by the test function, which is the same
    for every configuration; the prefix keeps a 3-node failure from being
    replayed as a (meaningless) 2-node choice sequence.

    Append-only: hypothesis deletes (or moves aside) a saved failure that no
    longer fails, and the last shrink steps it superseded. In a campaign, a
    failure saved by one shard may not fail in another (its seed differs, so
    does the simulator's noise); deleting it there would take it from every
    later shard. So deletes are dropped and moves copy: every shard of the
    configuration replays every failure found so far first (hypothesis tries
    the smallest saved example, then a sample)."""

    def __init__(self, inner: ExampleDatabase, prefix: str) -> None:
        super().__init__()
        self.inner = inner
        self.prefix = prefix.encode() + b"/"
        self.saved = False  # hypothesis saves a failing example as soon as it finds one

    def save(self, key: bytes, value: bytes) -> None:
        self.saved = True
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Any:
        return self.inner.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        """Dropped: see the class's docstring."""

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.save(self.prefix + dest, value)  # a copy: ``src`` keeps it


def worker_name() -> str:
    """The engine's name for this worker when run by one, else host and PID."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _violated(message: str) -> list[str]:
    """The invariant names of a fuzz failure's message (its lines before ``seed:``)."""
    names: list[str] = []
    for line in message.splitlines():
        if line.startswith("seed:"):
            break
        name = line.split(":", 1)[0].strip()
        if name and name not in names:
            names.append(name)
    return sorted(names)


def run_shard(spec_json: dict[str, Any], database: str | None) -> dict[str, Any]:
    """Run one shard; return its record (JSON-able). ``database``: the shared
    hypothesis example directory (None: one in memory, for this shard only)."""
    spec = ShardSpec.from_json(spec_json)
    cfg = spec.config
    started = time.time()
    clock = time.perf_counter()
    deadline = clock + spec.wall_s
    stopped = [False]
    simulated = [0]  # schedules actually run (shrinking's included), not the rejected

    shared = DirectoryBasedExampleDatabase(database) if database else InMemoryExampleDatabase()
    db = KeyedDatabase(shared, cfg.key)

    def bounded(_count: int) -> None:
        if time.perf_counter() > deadline and not db.saved:
            stopped[0] = True
            reject()
        simulated[0] += 1

    with coverage.recording() as cells:
        outcome = run_fuzz(
            examples=spec.examples,
            nodes=cfg.nodes,
            witness=cfg.witness,
            policy=cfg.policy,
            mode=cfg.mode,
            seed=spec.seed,
            steps=cfg.steps,
            weights=cfg.weights,
            max_advance_s=cfg.max_advance_s,
            progress=bounded,
            home=cli_hypothesis_home(),
            database=db,
        )
    failure = None
    artifacts = None
    if outcome.failure is not None:
        message = str(outcome.failure)
        match = re.search(r"--seed (\d+)", outcome.failure.command)
        failure = {
            "message": message,
            "invariants": _violated(message),
            "command": outcome.failure.command,
            "schedule": outcome.failure.schedule,
            "sim_seed": int(match.group(1)) if match else None,
        }
        # Replayed here, where the bug was found (same code, same plugins).
        artifacts = replay_failure(outcome.failure.command)
    return {
        "shard": spec.shard_id,
        "spec": spec.to_json(),
        "config": cfg.key,
        "schedules": simulated[0],
        "wall_s": round(time.perf_counter() - clock, 3),
        "started": started,
        "finished": time.time(),
        "worker": worker_name(),
        "stopped_by_wall_bound": stopped[0],
        "failure": failure,
        "cells": [[*cell, count] for cell, count in sorted(cells.hits.items())],
        # Large (the picture, the logs): the coordinator keeps them with the
        # failure, not in the shard's record.
        "artifacts": artifacts,
    }
