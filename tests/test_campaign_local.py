"""A campaign on local worker processes: it finds the planted bug (the fuzz
canary, planted in the workers through their preload), keeps one failure for the
shards that found the same one, reproduces it, and reports it; a worker killed
mid-shard loses nothing; a killed campaign resumes without redoing shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from hacli.campaign.config import parse_campaign
from hacli.campaign.executors import LocalProcesses
from hacli.campaign.report import write_report
from hacli.campaign.runner import Progress, run_campaign
from hacli.campaign.store import CampaignStore

# Seed 4's first shard finds the canary; short schedules keep the shrinking short.
CANARY_CAMPAIGN = """
[campaign]
seed = 4
shard_examples = 30
shard_wall_s = 60
[budget]
schedules = 90
[matrix]
steps = [4]
"""


def test_local_campaign_finds_the_canary_once_and_reports_it(tmp_path: Path) -> None:
    campaign = parse_campaign(CANARY_CAMPAIGN)
    store = CampaignStore(str(tmp_path / "out"))
    executor = LocalProcesses(1, store.database_dir, hard_timeout_s=120, preload=("canary",))
    try:
        progress = run_campaign(campaign, store, executor)
    finally:
        executor.close()
    assert progress.done == 3 and not progress.lost
    failing = [r for r in store.shard_records() if r["failure"]]
    # The later shards replay the failure the first one saved in the shared database.
    assert len(failing) == 3, [r["shard"] for r in failing]
    assert failing[1]["schedules"] < failing[0]["schedules"]
    reports = json.loads(Path(write_report(store)[1]).read_text())
    # De-duplicated: shards whose shrunk schedule and invariants agree share one
    # failure. (Which shards agree depends on the simulator's noise per seed: a
    # heal 1 s later is another schedule, so exact counts are not asserted.)
    assert 1 <= len(reports["failures"]) < len(failing)
    assert sum(len(c["occurrences"]) for c in reports["failures"]) == len(failing)
    case = max(reports["failures"], key=lambda c: len(c["occurrences"]))
    assert len(case["occurrences"]) >= 2
    assert case["invariants"] in [r["failure"]["invariants"] for r in failing]
    assert case["reproduced"] is True  # the printed command replays it (in the worker)
    assert case["command"].startswith("hacore simulate custom --seed ")
    directory = tmp_path / "out" / "failures" / case["key"]
    assert (directory / "timeline.svg").read_text().startswith("<svg")
    assert (directory / "logs.sqlite").stat().st_size > 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in html and case["command"].split("'")[0] in html
    assert reports["coverage"]["cells_hit"] > 10 and reports["coverage"]["never_hit"]


QUICK_CAMPAIGN = """
[campaign]
seed = 2
shard_examples = 4
[budget]
schedules = {schedules}
[matrix]
steps = [4]
policies = ["vrrp-winner", "highest-epoch"]
"""


def test_a_local_worker_killed_mid_shard_loses_no_result(tmp_path: Path) -> None:
    campaign = parse_campaign(QUICK_CAMPAIGN.format(schedules=24))
    store = CampaignStore(str(tmp_path / "out"))
    executor = LocalProcesses(2, store.database_dir, hard_timeout_s=120)
    result: list[Progress] = []
    runner = threading.Thread(target=lambda: result.append(run_campaign(campaign, store, executor)))
    runner.start()
    killed: tuple[int, str] | None = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and runner.is_alive():
        busy = executor.busy()
        if busy:
            killed = busy[0]
            os.kill(killed[0], signal.SIGKILL)  # a worker this test's executor started
        time.sleep(0.05)
    runner.join(120)
    executor.close()
    assert killed is not None, "no shard was ever seen running"
    assert result and result[0].done == 6 and not result[0].lost
    done = {r["shard"]: r for r in store.shard_records()}
    assert killed[1] in done  # redone by the worker that replaced it
    assert done[killed[1]]["worker"].split(":")[-1] != str(killed[0])


def _campaign(out: Path, config: Path) -> subprocess.Popen[str]:
    command = ["campaign", "run", "--config", str(config), "--out", str(out), "--workers", "1"]
    return subprocess.Popen(  # noqa: S603 - our interpreter, fixed argv
        [sys.executable, "-m", "hacli.main", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_killed_campaign_resumes_without_redoing_finished_shards(tmp_path: Path) -> None:
    config = tmp_path / "campaign.toml"
    config.write_text(QUICK_CAMPAIGN.format(schedules=40))  # 10 shards
    out = tmp_path / "out"
    first = _campaign(out, config)
    shards = out / "shards"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        if shards.is_dir() and len(list(shards.glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # its own session: the campaign and its workers
    first.communicate(timeout=30)
    before = {p.name: p.read_text() for p in shards.glob("*.json")}
    assert 2 <= len(before) < 10, len(before)
    second = _campaign(out, config)
    _stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert f"{len(before)} shards already done" in stderr
    after = {p.name: p.read_text() for p in shards.glob("*.json")}
    assert len(after) == 10
    assert all(after[name] == text for name, text in before.items())  # not redone
    runs = {json.loads(text)["run"] for name, text in after.items() if name not in before}
    assert len(runs) == 1 and runs.isdisjoint(json.loads(t)["run"] for t in before.values())
