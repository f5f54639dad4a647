"""Failures: replayed where they were found, de-duplicated where they are kept.

A shard that finds a failure replays its shrunk schedule at once, on the same
worker, through the same path as the printed ``hacore simulate`` command
(:func:`replay_failure`): that checks the reproducer and gives the timeline
picture (:func:`sims.report.svg_timeline`) and the node logs (the SQLite event
store, readable with ``hacore log show``).

The coordinator keeps one directory per distinct failure, keyed by the violated
invariants and the shrunk schedule (:func:`failure_key`): the first shard to
find it brings the artifacts, later ones are added as occurrences (with their
own configuration and replay command).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from typing import Any

from hacli.campaign.config import Configuration
from hacli.campaign.store import CampaignStore, OutputDirError, write_atomic
from hacli.sim_logs import write_logs
from sims import report
from sims.faults import parse_schedule
from sims.run import make_simulation


def failure_key(invariants: list[str], schedule: str) -> str:
    text = json.dumps([sorted(invariants), schedule])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def replay_failure(config: Configuration, sim_seed: int, schedule: str) -> dict[str, Any]:
    """Run the reproducer; its verdict, timeline SVG and node logs (base64 SQLite)."""
    result = make_simulation(
        "custom",
        sim_seed,
        nodes=config.nodes,
        policy=config.policy,
        mode=config.mode,
        witness=config.witness,
        schedule=parse_schedule(schedule),
    ).run()
    with tempfile.TemporaryDirectory(prefix="hacore-campaign-") as tmp:
        path = os.path.join(tmp, "logs.sqlite")
        write_logs(path, result)
        with open(path, "rb") as fh:
            logs = fh.read()
    return {
        "reproduced": not result.ok,
        "violations": list(result.violations),
        "timeline_svg": report.svg_timeline(result),
        "logs_sqlite_b64": base64.b64encode(logs).decode(),
    }


class FailureBook:
    """The distinct failures of a campaign, as kept in ``OUT/failures``."""

    def __init__(self, store: CampaignStore) -> None:
        self.store = store
        self.cases: dict[str, dict[str, Any]] = {}
        if os.path.isdir(store.failures_dir):
            for key in sorted(os.listdir(store.failures_dir)):
                path = os.path.join(store.failures_dir, key, "failure.json")
                if not os.path.exists(path):
                    continue  # artifacts of a failure whose record was never written
                try:
                    with open(path, encoding="utf-8") as fh:
                        self.cases[key] = json.load(fh)
                except (OSError, ValueError) as exc:
                    raise OutputDirError(f"{path}: not a failure record ({exc})") from None

    def add(self, record: dict[str, Any], artifacts: dict[str, Any] | None) -> bool:
        """Count the shard's failure; True when it is a new one."""
        found = record["failure"]
        key = failure_key(found["invariants"], found["schedule"])
        found["key"] = key
        occurrence = {
            "shard": record["shard"],
            "config": record["config"],
            "command": found["command"],
            "worker": record["worker"],
        }
        directory = os.path.join(self.store.failures_dir, key)
        case = self.cases.get(key)
        new = case is None
        if case is None:
            os.makedirs(directory, exist_ok=True)
            case = {
                "key": key,
                "invariants": found["invariants"],
                "schedule": found["schedule"],
                "command": found["command"],
                "message": found["message"],
                "config": record["config"],
                "occurrences": [],
                "reproduced": None,
                "replay_violations": [],
                "timeline": None,
                "logs": None,
            }
            if artifacts is not None:
                write_atomic(os.path.join(directory, "timeline.svg"), artifacts["timeline_svg"])
                logs = base64.b64decode(artifacts["logs_sqlite_b64"])
                write_atomic(os.path.join(directory, "logs.sqlite"), logs)
                case["reproduced"] = artifacts["reproduced"]
                case["replay_violations"] = artifacts["violations"]
                case["timeline"] = "timeline.svg"
                case["logs"] = "logs.sqlite"
            self.cases[key] = case
        if all(o["shard"] != record["shard"] for o in case["occurrences"]):
            case["occurrences"].append(occurrence)
        write_atomic(os.path.join(directory, "failure.json"), json.dumps(case, sort_keys=True))
        return new
