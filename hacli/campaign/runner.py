"""Runs a campaign: hands shards to an executor, records them as they finish.

The loop is the only place that knows the budget. It keeps at most two shards
per worker slot in flight (enough to keep every worker busy, few enough that a
wall-time budget is not overshot by a long queue), records every finished
shard (its failure first: a shard's record implies its failure is kept), and
stops submitting when the schedule budget is spent or the wall time is up;
shards in flight then finish (each bounded by the shard wall bound).
Shards already recorded in the output directory are skipped: that is resume.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from hacli.campaign.config import Campaign
from hacli.campaign.executors import Executor
from hacli.campaign.failures import FailureBook
from hacli.campaign.store import CampaignStore


@dataclass
class Progress:
    total_shards: int | None  # None: until the wall budget ends
    wall_budget_s: float | None
    already_done: int
    done: int = 0
    schedules: int = 0
    failing_shards: int = 0
    distinct_failures: int = 0
    lost: list[str] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)  # replay commands, as found
    elapsed_s: float = 0.0

    def fraction(self) -> float:
        if self.total_shards:
            return min(1.0, (self.already_done + self.done) / self.total_shards)
        if self.wall_budget_s:
            return min(1.0, self.elapsed_s / self.wall_budget_s)
        return 0.0


class ProgressBar:
    """One line on a terminal (redrawn), one line per tenth in a log file."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.last_tenth = -1
        self.printed_failures = 0

    def __call__(self, p: Progress) -> None:
        for command in p.new_failures[self.printed_failures :]:
            self.stream.write(("\n" if self.tty else "") + f"campaign: new failure: {command}\n")
        self.printed_failures = len(p.new_failures)
        width = 30
        filled = int(p.fraction() * width)
        total = "?" if p.total_shards is None else str(p.total_shards)
        text = (
            f"[{'#' * filled}{'.' * (width - filled)}] {p.already_done + p.done}/{total} shards,"
            f" {p.schedules} schedules, {p.distinct_failures} distinct failures"
            f" ({p.failing_shards} failing shards), {p.elapsed_s:.0f} s"
        )
        if self.tty:
            self.stream.write("\r" + text)
        else:
            tenth = int(p.fraction() * 10)
            if tenth == self.last_tenth:
                return
            self.last_tenth = tenth
            self.stream.write(f"campaign: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run_campaign(
    campaign: Campaign,
    store: CampaignStore,
    executor: Executor,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    poll_s: float = 0.5,
) -> Progress:
    """Run (or resume) ``campaign`` into ``store`` on ``executor``; the final tally."""
    store.create()
    done = store.done()
    book = FailureBook(store)
    run_id = f"{os.getpid()}-{time.time():.0f}"
    plan = (spec for spec in campaign.shards() if spec.shard_id not in done)
    progress = Progress(campaign.total_shards, campaign.budget_wall_s, len(done))
    progress.distinct_failures = len(book.cases)
    started = time.monotonic()
    in_flight = 0
    exhausted = False
    while True:
        progress.elapsed_s = time.monotonic() - started
        out_of_time = (
            campaign.budget_wall_s is not None and progress.elapsed_s >= campaign.budget_wall_s
        )
        while not (exhausted or out_of_time) and in_flight < 2 * executor.slots():
            spec = next(plan, None)
            if spec is None:
                exhausted = True
                break
            executor.submit(spec)
            in_flight += 1
        if in_flight == 0:
            break
        for finished in executor.wait(poll_s):
            in_flight -= 1
            record = finished.record
            if record is None:
                progress.lost.append(f"{finished.spec.shard_id}: {finished.error}")
                continue
            artifacts = record.pop("artifacts", None)
            record["run"] = run_id
            if record["failure"] is not None:
                progress.failing_shards += 1
                if book.add(record, artifacts):
                    progress.new_failures.append(record["failure"]["command"])
            store.record_shard(record)
            progress.done += 1
            progress.schedules += int(record["schedules"])
        progress.distinct_failures = len(book.cases)
        progress.elapsed_s = time.monotonic() - started
        if on_progress is not None:
            on_progress(progress)
    return progress
