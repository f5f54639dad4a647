"""A campaign on a real Dask cluster: a scheduler and two workers started by the
test as processes on this machine (loopback only), the fuzz canary planted in
the workers with Dask's --preload. The campaign, run as `hacore campaign run
--cluster`, finds the planted bug and keeps it once; one worker is killed by
its PID in the middle of a shard, and the shard is redone by the other worker:
no result is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")  # the [campaign] extra (in [dev])

TESTS = Path(__file__).parent


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    with open(log, "wb") as fh:
        return subprocess.Popen(  # noqa: S603 - fixed argv of our own interpreter/tools
            args, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _wait_for(what: str, check: Any, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A scheduler and workers w1, w2 (one thread each, no nanny: the PID is the worker)."""
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = tmp_path / "scheduler.json"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        processes["scheduler"] = _start(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            tmp_path / "scheduler.log",
        )
        _wait_for(
            "the scheduler file", lambda: scheduler_file.exists() and scheduler_file.read_text()
        )
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for name in ("w1", "w2"):
            processes[name] = _start(
                [
                    dask,
                    "worker",
                    address,
                    "--name",
                    name,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--preload",
                    str(TESTS / "canary.py"),
                    "--local-directory",
                    str(tmp_path / name),
                ],
                tmp_path / f"{name}.log",
            )
        client = distributed.Client(address, timeout=30)
        _wait_for("two workers", lambda: len(client.scheduler_info()["workers"]) == 2)
        yield {"address": address, "client": client, "processes": processes}
        client.close()
    finally:
        for process in processes.values():  # each in its own session: stop by its PID
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


CAMPAIGN = """
[campaign]
seed = 4
shard_examples = 30
shard_wall_s = 60
[budget]
schedules = 180
[matrix]
steps = [4]
"""


def test_dask_cluster_campaign_finds_dedups_and_survives_a_killed_worker(
    cluster: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "campaign.toml"
    config.write_text(CAMPAIGN)
    out = tmp_path / "out"
    client = cluster["client"]
    workers = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
    command = ["campaign", "run", "--config", str(config), "--out", str(out)]
    campaign = subprocess.Popen(  # noqa: S603 - our interpreter, fixed argv
        [sys.executable, "-m", "hacli.main", *command, "--cluster", cluster["address"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # Kill w1 while it runs a shard (the task is in its processing set).
        running = _wait_for(
            "a shard on w1", lambda: client.processing(workers=[workers["w1"]])[workers["w1"]]
        )
        os.kill(cluster["processes"]["w1"].pid, signal.SIGKILL)
        stdout, stderr = campaign.communicate(timeout=120)
    finally:
        if campaign.poll() is None:
            os.killpg(campaign.pid, signal.SIGKILL)
            campaign.wait(10)
    assert campaign.returncode == 1, stderr  # 1: a failure was found
    assert "shard lost" not in stderr
    records = [json.loads(p.read_text()) for p in (out / "shards").glob("*.json")]
    assert len(records) == 6  # every shard's result, the killed one's included
    killed_shard = next(r for r in records if r["shard"] in str(running[0]))
    assert killed_shard["worker"] == workers["w2"]  # redone by the survivor
    failing = [r for r in records if r["failure"]]
    failures = [json.loads(p.read_text()) for p in (out / "failures").glob("*/failure.json")]
    assert len(failing) >= 2 and 1 <= len(failures) < len(failing)  # found, de-duplicated
    assert sum(len(f["occurrences"]) for f in failures) == len(failing)
    assert all(f["reproduced"] for f in failures)
    assert "distinct failures" in stdout
