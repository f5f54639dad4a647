"""Where shards run: local worker processes, or a Dask cluster.

Both take shard specs and hand back :class:`Finished` records; neither knows
about budgets, files or reports (that is :mod:`hacli.campaign.runner`).

* :class:`LocalProcesses` — ``hacore campaign run`` without ``--cluster``: a few
  worker processes started once (spawned, so each imports hacore once), one
  shard at a time each. A worker that dies mid-shard is replaced and its shard
  given to a worker again (twice at most); one that overruns the hard timeout is
  killed by its PID and replaced, and its shard reported lost.
* :class:`DaskEngine` — ``--cluster ADDRESS`` (or a ``LocalCluster`` the
  benchmark starts): each shard is one task. Dask itself re-runs the task of a
  worker that dies (up to its ``allowed-failures``); a task over the hard timeout
  is cancelled and reported lost.

A lost shard is not recorded as done, so the next run of the campaign redoes it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import time
import uuid
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from hacli.campaign.config import ShardSpec
from hacli.campaign.shard import run_shard


class EngineError(Exception):
    """The distributed engine is missing or cannot be reached."""


@dataclass
class Finished:
    spec: ShardSpec
    record: dict[str, Any] | None  # None: the shard was lost (see error)
    error: str | None = None


class Executor(Protocol):
    def slots(self) -> int: ...

    def submit(self, spec: ShardSpec) -> None: ...

    def wait(self, timeout_s: float) -> list[Finished]: ...

    def close(self) -> None: ...


def _worker_main(conn: Connection, database: str | None, preload: tuple[str, ...]) -> None:
    """A local worker: shards in, records out, until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    try:
        for name in preload:
            # Like Dask's --preload with its dask_setup(): import, then campaign_setup().
            setup = getattr(importlib.import_module(name), "campaign_setup", None)
            if setup is not None:
                setup()
        import hacli.campaign.shard  # noqa: F401 - fail here, not on the first shard
    except Exception as exc:
        conn.send({"error": f"--preload {' '.join(preload)}: {type(exc).__name__}: {exc}"})
        return
    conn.send({"ready": True})
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            return  # the coordinator is gone
        if spec is None:
            return
        try:
            reply: dict[str, Any] = run_shard(spec, database)
        except Exception as exc:  # reported as a lost shard, the worker lives on
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


@dataclass
class _Slot:
    process: BaseProcess
    conn: Connection
    spec: ShardSpec | None = None
    since: float = 0.0


class LocalProcesses:
    MAX_RETRIES = 2
    START_TIMEOUT_S = 120.0

    def __init__(
        self,
        workers: int,
        database: str | None,
        *,
        hard_timeout_s: float,
        preload: tuple[str, ...] = (),
    ) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._database = database
        self._preload = preload
        self._hard_timeout_s = hard_timeout_s
        self._queue: deque[ShardSpec] = deque()
        self._retries: dict[str, int] = {}
        self._slots = [self._spawn() for _ in range(workers)]

    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self._database, self._preload),
            name="hacore-campaign-worker",
            daemon=True,  # never outlives the coordinator
        )
        process.start()
        child.close()
        # The worker says it is ready once its imports and preloads are done; a
        # worker that cannot start is a campaign error, not a shard to retry.
        hello = None
        try:
            if parent.poll(self.START_TIMEOUT_S):
                hello = parent.recv()
        except (EOFError, OSError):
            pass  # it died first
        if not isinstance(hello, dict) or not hello.get("ready"):
            if process.is_alive():
                process.kill()
            process.join(5)
            parent.close()
            why = hello.get("error") if isinstance(hello, dict) else None
            raise EngineError(
                f"a local worker did not start: {why or f'exit code {process.exitcode}'}"
            )
        return _Slot(process, parent)

    def slots(self) -> int:
        return len(self._slots)

    def busy(self) -> list[tuple[int, str]]:
        """(worker PID, shard) of every worker running a shard now."""
        return [
            (s.process.pid, s.spec.shard_id)
            for s in self._slots
            if s.spec is not None and s.process.pid is not None
        ]

    def submit(self, spec: ShardSpec) -> None:
        self._queue.append(spec)
        self._dispatch()

    def _dispatch(self) -> None:
        for slot in self._slots:
            if slot.spec is None and self._queue:
                spec = self._queue.popleft()
                slot.conn.send(spec.to_json())
                slot.spec, slot.since = spec, time.monotonic()

    def _replace(self, index: int) -> None:
        old = self._slots[index]
        if old.process.is_alive():
            old.process.kill()
        old.process.join(5)
        old.conn.close()
        self._slots[index] = self._spawn()

    def wait(self, timeout_s: float) -> list[Finished]:
        busy = [s for s in self._slots if s.spec is not None]
        if not busy:
            return []
        wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout_s)
        out: list[Finished] = []
        for index, slot in enumerate(self._slots):
            spec = slot.spec
            if spec is None:
                continue
            reply = None
            try:
                if slot.conn.poll():
                    reply = slot.conn.recv()
            except (EOFError, OSError):
                reply = None
            if reply is not None:
                slot.spec = None
                error = reply.get("error")
                out.append(Finished(spec, None if error else reply, error))
            elif not slot.process.is_alive():
                self._replace(index)
                tries = self._retries.get(spec.shard_id, 0) + 1
                self._retries[spec.shard_id] = tries
                if tries <= self.MAX_RETRIES:
                    self._queue.appendleft(spec)  # redone from its start, same seed
                else:
                    out.append(Finished(spec, None, f"its worker died {tries} times"))
            elif time.monotonic() - slot.since > self._hard_timeout_s:
                self._replace(index)
                out.append(
                    Finished(spec, None, f"over the hard timeout ({self._hard_timeout_s} s)")
                )
        self._dispatch()
        return out

    def close(self) -> None:
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + 5
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()  # by its PID: ours, started above
                slot.process.join(5)
            slot.conn.close()


class DaskEngine:
    """Shards as tasks on a Dask cluster (``address``) or a ``LocalCluster``."""

    def __init__(
        self,
        address: str | None,
        database: str | None,
        *,
        hard_timeout_s: float,
        local_workers: int = 2,
        connect_timeout_s: float = 20,
    ) -> None:
        try:
            # Untyped for mypy's purposes: the engine is reached through Any.
            self._dask: Any = importlib.import_module("distributed")
        except ImportError:
            raise EngineError(
                "--cluster needs Dask distributed: pip install 'hacore[campaign]'"
            ) from None
        self._database = database
        self._hard_timeout_s = hard_timeout_s
        self._futures: dict[Any, tuple[ShardSpec, float]] = {}
        self._cluster: Any = None
        try:
            if address is None:
                self._cluster = self._dask.LocalCluster(
                    n_workers=local_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
                self._client = self._dask.Client(self._cluster, timeout=connect_timeout_s)
            else:
                self._client = self._dask.Client(address, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise EngineError(f"cannot reach the Dask scheduler at {address}: {exc}") from None

    def slots(self) -> int:
        threads: dict[str, int] = self._client.nthreads()
        return max(1, sum(threads.values()))

    def submit(self, spec: ShardSpec) -> None:
        future = self._client.submit(
            run_shard,
            spec.to_json(),
            self._database,
            key=f"hacore-shard-{spec.shard_id}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        self._futures[future] = (spec, time.monotonic())

    def wait(self, timeout_s: float) -> list[Finished]:
        if not self._futures:
            return []
        try:
            self._dask.wait(list(self._futures), timeout=timeout_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            pass
        out: list[Finished] = []
        now = time.monotonic()
        for future, (spec, since) in list(self._futures.items()):
            if future.status == "finished":
                del self._futures[future]
                out.append(Finished(spec, future.result()))
            elif future.status in ("error", "cancelled", "lost"):
                del self._futures[future]
                if future.status == "error":
                    exc = future.exception()
                    out.append(Finished(spec, None, f"{type(exc).__name__}: {exc}"))
                else:
                    out.append(Finished(spec, None, f"the task was {future.status}"))
            elif now - since > self._hard_timeout_s:
                del self._futures[future]
                future.cancel()
                out.append(
                    Finished(spec, None, f"over the hard timeout ({self._hard_timeout_s} s)")
                )
        return out

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
