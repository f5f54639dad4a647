"""``hacore log verify`` and ``log replay`` stream a node's log: their memory does
not grow with it.

The check reads records and commit markers page by page and holds neither
(``adapters.store._core.check_node_log`` takes iterables), and replay folds and
re-decides in two streaming passes. Measured with ``tracemalloc`` (allocations,
not time, so the test does not depend on the machine's load): the peak while
checking or replaying a log of 12,000 records is about the peak for one of
3,000 (a page of rows is the constant part), while the log itself, held as
records, takes four times the memory (holding it would make the peak grow
with it; benchmarks/log_memory.py measures the 2-million-record store's
resident set).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from crash_writer import CONFIG, drive

from adapters.store import SqliteStore
from hacli.main import main
from hacore.log import InMemoryLog
from hacore.node import Node

SMALL, LARGE = 3_000, 12_000


def traced_peak(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _store(path: Path, records: int) -> tuple[int, int]:
    """A store of about ``records`` records: (its record count, what they took in
    memory as records)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    node = Node(CONFIG, "a", InMemoryLog("a"))
    for length in drive(node, 10**9, seed=7):
        if length >= records:
            break
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    with SqliteStore.open(str(path), config=CONFIG, synchronous="NORMAL") as store:
        count = store.write_run({"a": node.log.records()})["a"]
    return count, held


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, int, int]]:
    """Per size: (the store, its record count, the records' size in memory)."""
    directory = tmp_path_factory.mktemp("stream")
    out = {}
    for n in (SMALL, LARGE):
        path = directory / f"{n}.db"
        out[n] = (path, *_store(path, n))
    # Warm up: the first command imports modules, which tracemalloc would count.
    for command in ("verify", "replay"):
        assert main(["log", command, str(out[SMALL][0])]) == 0
    return out


def _peaks(
    stores: dict[int, tuple[Path, int, int]], capsys: pytest.CaptureFixture[str], command: str
) -> tuple[int, int]:
    peaks = []
    for n in (SMALL, LARGE):
        path, count, _held = stores[n]
        codes: list[int] = []

        def run(
            argv: tuple[str, ...] = ("log", command, str(path)), codes: list[int] = codes
        ) -> None:
            codes.append(main(list(argv)))

        peaks.append(traced_peak(run))
        out = capsys.readouterr().out
        assert codes == [0], out
        assert str(count) in out
    return peaks[0], peaks[1]


def test_the_log_held_in_memory_grows_with_it(stores: dict[int, tuple[Path, int, int]]) -> None:
    assert stores[LARGE][2] > 3 * stores[SMALL][2]


@pytest.mark.parametrize("command", ["verify", "replay"])
def test_the_command_streams_the_log(
    command: str, stores: dict[int, tuple[Path, int, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    small, large = _peaks(stores, capsys, command)
    assert large < small * 1.5 + 2**20, (small, large)  # flat, not x4


def test_opening_a_store_verifies_it_streaming(stores: dict[int, tuple[Path, int, int]]) -> None:
    peaks = []
    for n in (SMALL, LARGE):
        path, count, _held = stores[n]

        def open_and_verify(path: Path = path, count: int = count) -> None:
            with SqliteStore.open(str(path), readonly=True, create=False) as store:
                assert store.verify_node("a") == count

        peaks.append(traced_peak(open_and_verify))
    assert peaks[1] < peaks[0] * 1.5 + 2**20, peaks
