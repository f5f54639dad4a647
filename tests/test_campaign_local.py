"""A campaign on local worker processes: it finds the planted bug (the fuzz
canary, planted in the workers through --preload), keeps one failure for the
shards that found the same one, reproduces it, and reports it; a worker killed
mid-shard loses nothing; a killed campaign resumes without redoing shards."""

from __future__ import annotations

import json
from pathlib import Path

from hacli.campaign.config import parse_campaign
from hacli.campaign.executors import LocalProcesses
from hacli.campaign.report import write_report
from hacli.campaign.runner import run_campaign
from hacli.campaign.store import CampaignStore

CANARY_CAMPAIGN = """
[campaign]
seed = 1
shard_examples = 40
shard_wall_s = 60
[budget]
schedules = 120
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
    records = store.shard_records()
    failing = [r for r in records if r["failure"]]
    assert len(failing) >= 2, "the canary was not found by several shards"
    reports = json.loads(Path(write_report(store)[1]).read_text())
    assert len(reports["failures"]) < len(failing)  # de-duplicated
    case = reports["failures"][0]
    assert sum(len(c["occurrences"]) for c in reports["failures"]) == len(failing)
    assert case["reproduced"] is True  # the printed command replays it (in the worker)
    assert case["command"].startswith("hacore simulate custom --seed ")
    directory = tmp_path / "out" / "failures" / case["key"]
    assert (directory / "timeline.svg").read_text().startswith("<svg")
    assert (directory / "logs.sqlite").stat().st_size > 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in html and case["command"].split("'")[0] in html
    assert reports["coverage"]["cells_hit"] > 10 and reports["coverage"]["never_hit"]
