"""`hacore campaign` at its edges: bad files, directories and addresses get a
clear message and exit 2 (never a traceback); a finished campaign reports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hacli.main import main

TINY = "[campaign]\nseed = 3\nshard_examples = 2\n[budget]\nschedules = 4\n[matrix]\nsteps = [3]\n"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_campaign_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[matrix]\npolicies = ['coin-flip']\n[budget]\nschedules = 1\n")
    code, _out, err = _run(capsys, "campaign", "run", "--config", str(bad), "--out", str(tmp_path))
    assert code == 2 and "policy 'coin-flip'" in err and "Traceback" not in err
    missing = str(tmp_path / "nope.toml")
    code, _out, err = _run(capsys, "campaign", "run", "--config", missing)
    assert code == 2 and "cannot read" in err


def test_an_output_directory_others_can_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    code, _out, err = _run(capsys, "campaign", "run", "--config", str(config), "--out", str(shared))
    assert code == 2 and "writable by other users" in err


def test_an_unreachable_cluster_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    code, _out, err = _run(
        capsys,
        *("campaign", "run", "--config", str(config), "--out", str(tmp_path / "o")),
        *("--cluster", "tcp://127.0.0.1:9", "--connect-timeout", "1"),
    )
    assert code == 2 and "cannot reach the Dask scheduler" in err and "Traceback" not in err


def test_report_needs_a_campaign_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = _run(capsys, "campaign", "report", str(tmp_path))
    assert code == 2 and "not a campaign output directory" in err


def test_a_tiny_campaign_runs_shows_progress_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    out = tmp_path / "o"
    argv = ("campaign", "run", "--config", str(config), "--out", str(out), "--workers", "1")
    code, stdout, err = _run(capsys, *argv)
    assert code == 0, err
    assert "2 shards run now (0 before)" in stdout
    assert "campaign: [" in err and "2/2 shards" in err  # the progress bar (a log: lines)
    code, stdout, err = _run(capsys, *argv)
    assert code == 0 and "0 shards run now (2 before)" in stdout  # nothing redone
    code, stdout, _err = _run(capsys, "campaign", "report", str(out))
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["shards"] == 2 and report["schedules"] >= 4
    assert report["configurations"][0]["shards"] == 2
    assert report["workers"][0]["schedules_per_minute"] > 0
    assert [p["shards"] for p in report["progress"]] == [1, 2]
    assert "Rules never hit" in (out / "report.html").read_text()


def test_a_wall_time_campaign_stops_and_a_second_run_goes_on_from_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[campaign]\nseed = 1\nshard_examples = 2\n[budget]\nwall_s = 2\n")
    out = tmp_path / "o"
    argv = ("campaign", "run", "--config", str(config), "--out", str(out), "--workers", "1")
    code, _stdout, err = _run(capsys, *argv)
    assert code == 0, err
    first = sorted(p.name for p in (out / "shards").glob("*.json"))
    assert first and "until the wall budget ends" in err
    code, _stdout, err = _run(capsys, *argv)
    assert code == 0 and f"{len(first)} shards already done" in err
    second = sorted(p.name for p in (out / "shards").glob("*.json"))
    assert len(second) > len(first) and set(first) <= set(second)
    numbers = sorted(int(name.rsplit("--", 1)[1].split(".")[0]) for name in second)
    assert numbers == list(range(len(second)))  # the same sequence, continued


def test_a_local_worker_that_cannot_start_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(TINY)
    argv = ("campaign", "run", "--config", str(config), "--out", str(tmp_path / "o"))
    code, _out, err = _run(capsys, *argv, "--workers", "1", "--preload", "no_such_plugin")
    assert code == 2 and "a local worker did not start" in err and "no_such_plugin" in err
    assert "Traceback" not in err
