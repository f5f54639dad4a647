"""The agent's clock (adapters/agent/clock.py): a wall-clock step while the
agent runs fires no timer early or late and loses no peer.

The contrast cases run the same scenario on a clock that reads the wall
clock every time (the agent's clock before this change) and show the harm,
so the checks here can fail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from test_agent_runtime import Pair, _promote_a, until

from adapters.agent.clock import AgentClock
from adapters.agent.ports import LoopTimers
from hacore.roles import Role

HOUR_NS = 3600 * 10**9


class SteppedWall:
    """A wall clock an NTP step can move: real time plus an offset."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset_ns

    def step(self, seconds: float) -> None:
        self.offset_ns += int(seconds * 1e9)


def test_the_clock_ignores_wall_steps_and_follows_the_monotonic_clock() -> None:
    wall, mono = [1_000 * 10**9], [5 * 10**9]
    clock = AgentClock(lambda: wall[0], lambda: mono[0])
    assert clock() == 1_000 * 10**6  # wall time at start
    wall[0] += HOUR_NS
    assert clock() == 1_000 * 10**6
    wall[0] -= 2 * HOUR_NS
    mono[0] += 1_500_000_000
    assert clock() == 1_000 * 10**6 + 1_500_000


def test_not_before_only_moves_the_clock_forward() -> None:
    mono = [0]
    clock = AgentClock(lambda: 10 * 10**9, lambda: mono[0])
    clock.not_before(5 * 10**6)  # the log's last record is older: nothing changes
    assert clock() == 10 * 10**6
    clock.not_before(20 * 10**6)  # the wall clock went back while the agent was down
    assert clock() == 20 * 10**6
    mono[0] += 1000
    assert clock() == 20 * 10**6 + 1


async def _fire_after_steps(
    clock: AgentClock | None, wall: SteppedWall, steps: tuple[float, ...], budget_s: float
) -> tuple[float, int, int] | None:
    """Arm a 0.3 s timer, step the wall clock by ``steps`` (seconds), and return
    (monotonic seconds until it fired, the clock at firing, its due), or None
    if it did not fire within ``budget_s``."""
    read: Callable[[], int] = clock if clock is not None else (lambda: wall() // 1000)
    fired: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    timers = LoopTimers(lambda _id: fired.set_result(read()), read)
    t0 = time.monotonic()
    due = read() + 300_000
    timers.start(timer_id=1, due=due, key="t")
    for seconds in steps:
        wall.step(seconds)
        await asyncio.sleep(0.05)
    try:
        at = await asyncio.wait_for(fired, budget_s)
    except TimeoutError:
        timers.cancel_all()
        return None
    return time.monotonic() - t0, at, due


async def test_a_timer_fires_on_time_across_wall_clock_steps() -> None:
    wall = SteppedWall()
    fired = await _fire_after_steps(AgentClock(wall), wall, (-3600, +7200), 30)
    assert fired is not None
    elapsed, at, due = fired
    assert elapsed >= 0.3  # not early
    assert elapsed < 20  # not an hour late (a generous bound for a loaded machine)
    assert at >= due  # the dispatcher takes this firing (it drops one with at < due)


async def test_contrast_on_a_wall_reading_clock_a_step_back_delays_the_timer() -> None:
    wall = SteppedWall()
    # a step back of an hour: the timer is not due for an hour on this clock
    assert await _fire_after_steps(None, wall, (-3600,), 2.0) is None


async def _fire_armed_after_a_step(read: Callable[[], int], wall: SteppedWall) -> float:
    """The core decides a 1 s timer, the wall clock steps an hour forward
    before the loop arms it (the commit in between): seconds until it fires."""
    fired: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timers = LoopTimers(lambda _id: fired.set_result(None), read)
    t0 = time.monotonic()  # before the due time is taken: the 1 s counts from here
    due = read() + 1_000_000
    wall.step(+3600)
    timers.start(timer_id=1, due=due, key="t")
    await asyncio.wait_for(fired, 30)
    return time.monotonic() - t0


async def test_a_timer_armed_after_a_forward_step_is_not_early() -> None:
    wall = SteppedWall()
    assert await _fire_armed_after_a_step(AgentClock(wall), wall) >= 1.0


async def test_contrast_on_a_wall_reading_clock_a_forward_step_fires_it_at_once() -> None:
    wall = SteppedWall()
    assert await _fire_armed_after_a_step(lambda: wall() // 1000, wall) < 0.5


async def _peer_lost_after_forward_step(tmp_path: Path, agent_clock: bool) -> bool:
    p = Pair(tmp_path)
    wall = SteppedWall()
    clock = AgentClock(wall) if agent_clock else (lambda: wall() // 1000)
    try:
        await p.start("a", clock)
        await p.start("b")
        await _promote_a(p)
        a = p.agents["a"]
        wall.step(+3600)  # an NTP step on a
        # 5 ticks of a's 0.1 s heartbeat loop, in loop time (monotonic)
        for _ in range(10):
            await asyncio.sleep(0.1)
        return "b" in a._lost
    finally:
        for node in list(p.runs):
            await p.stop(node)


async def test_a_wall_step_forward_loses_no_peer(tmp_path: Path) -> None:
    assert not await _peer_lost_after_forward_step(tmp_path, agent_clock=True)


async def test_contrast_a_wall_reading_clock_loses_the_peer_on_the_step(tmp_path: Path) -> None:
    assert await _peer_lost_after_forward_step(tmp_path, agent_clock=False)


async def test_a_wall_step_back_still_notices_a_silent_peer(tmp_path: Path) -> None:
    p = Pair(tmp_path)
    wall = SteppedWall()
    try:
        await p.start("a", AgentClock(wall))
        await p.start("b")
        await _promote_a(p)
        wall.step(-3600)  # a silent peer would look heard for an hour on the wall clock
        await p.stop("b")
        await until(lambda: "b" in p.agents["a"]._lost, 30)  # peer.timeout_s is 2 s
        assert p.agents["a"].state.role is Role.ACTIVE
    finally:
        for node in list(p.runs):
            if not p.runs[node].done():
                await p.stop(node)


async def test_a_restart_after_a_step_back_never_reads_earlier_than_its_log(
    tmp_path: Path,
) -> None:
    from adapters.store import SqliteStore

    p = Pair(tmp_path)
    ahead = SteppedWall()
    ahead.step(+3600)  # the wall clock was an hour fast while a ran ...
    try:
        first = await p.start("a", AgentClock(ahead))  # alone: b would drop its skewed messages
        p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
        await until(lambda: first.state.role is Role.ACTIVE, 30)  # once b counts as lost
        await p.stop("a")
        path = str(tmp_path / "a" / "events.sqlite")
        with SqliteStore.open(path, create=False, readonly=True) as store:
            last = max(r.at for r in store.records("a"))
        assert last > time.time_ns() // 1000 + 3000 * 10**6
        a = await p.start("a")  # ... and was corrected (stepped back) before the restart
        assert a._clock() >= last  # timers in the log are not pushed an hour late
        p.fifo("a", 'INSTANCE "VI_1" MASTER 150')
        await until(lambda: a.state.role is Role.ACTIVE, 30)
    finally:
        for node in list(p.runs):
            if not p.runs[node].done():
                await p.stop(node)
