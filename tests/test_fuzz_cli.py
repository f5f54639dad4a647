"""`hacore fuzz` from the command line: shards, exit codes, where hypothesis writes."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hacli.main import main
from hacore.decider import Context, Decision, step
from hacore.inputs import Input
from hacore.state import NodeState
from sims.fuzz import shard_sizes


@pytest.fixture
def broken_decider(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decider whose new state goes back one epoch once past epoch 1: the
    first step after an election already breaks epochs-monotonic, so the
    fuzzer fails on its first example and shrinks in a moment. (Never below
    epoch 0: the codec refuses negative epochs, which would end the run with a
    decode error instead of the invariant's report.)"""

    def forgets(ctx: Context, state: NodeState, received: Input) -> Decision:
        decision = step(ctx, state, received)
        if decision.events and state.epoch >= 1:
            return replace(decision, state=replace(decision.state, epoch=state.epoch - 1))
        return decision

    monkeypatch.setattr("hacore.node.step", forgets)  # what Node.handle calls


@pytest.mark.parametrize(
    ("examples", "jobs", "sizes"),
    [(10, 3, [4, 3, 3]), (3, 2, [2, 1]), (5, 1, [5]), (2, 5, [1, 1]), (7, 7, [1] * 7)],
)
def test_shard_sizes_spread_the_remainder(examples: int, jobs: int, sizes: list[int]) -> None:
    assert shard_sizes(examples, jobs) == sizes
    assert sum(sizes) == examples


def test_cli_fuzz_jobs_two_runs_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--examples", "5", "--jobs", "2", "--seed", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] is False
    assert data["examples"] >= 5  # 3 + 2, not 2 * (5 // 2)


def test_cli_fuzz_jobs_two_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--examples", "3", "--jobs", "2", "--seed", "1"]) == 0
    assert "no invariant violated in 3 schedules" in capsys.readouterr().out


def test_cli_fuzz_exits_one_and_prints_the_reproducer(
    broken_decider: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fuzz", "--examples", "20", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "INVARIANT VIOLATED (shrunk counterexample):" in out
    assert "replay: hacore simulate custom --seed " in out
    assert "--schedule '" in out


class _InProcessPool:
    """A Pool that maps in this process, so the monkeypatched decider applies."""

    def __init__(self, processes: int) -> None:
        self.processes = processes

    def __enter__(self) -> _InProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(fn, items)


class _InProcessContext:
    def Pool(self, processes: int) -> _InProcessPool:
        return _InProcessPool(processes)


def test_cli_fuzz_jobs_two_exits_one_with_the_reproducer(
    broken_decider: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(multiprocessing, "get_context", lambda _method: _InProcessContext())
    assert main(["fuzz", "--examples", "20", "--jobs", "2", "--seed", "3", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["found"] is True
    assert data["replay"].startswith("hacore simulate custom --seed ")
    assert "--schedule '" in data["replay"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cli_fuzz_leaves_no_hypothesis_directory_in_the_working_directory(
    tmp_path: Path, jobs: str
) -> None:
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    code = "import sys; from hacli.main import main; sys.exit(main(sys.argv[1:]))"
    argv = ["fuzz", "--examples", "3", "--jobs", jobs, "--json"]
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed argv
        [sys.executable, "-c", code, *argv], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert list(work.iterdir()) == []  # no .hypothesis/
    assert (cache / "hacore" / "hypothesis").is_dir()


def test_cli_fuzz_restores_hypothesis_storage_for_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hypothesis.configuration import storage_directory

    before = storage_directory("x", intent_to_write=False).path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["fuzz", "--examples", "2", "--json"]) == 0
    capsys.readouterr()
    assert storage_directory("x", intent_to_write=False).path == before
    assert (tmp_path / "hacore" / "hypothesis").is_dir()
