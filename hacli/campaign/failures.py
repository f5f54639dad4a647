"""Failures: replayed where they were found, de-duplicated where they are kept.

A shard that finds a failure runs the printed ``hacore simulate`` command at
once, verbatim, on the same worker (:func:`replay_failure`): that checks the
reproducer and gives the timeline picture (``--timeline``, drawn by
:func:`sims.report.svg_timeline`) and the node logs (``--log``: the SQLite
event store, readable with ``hacore log show``).

The coordinator keeps one directory per distinct failure, keyed by the violated
invariants and the shrunk schedule (:func:`failure_key`): the first shard to
find it brings the artifacts, later ones are added as occurrences (with their
own configuration and replay command).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shlex
import tempfile
from typing import Any

from hacli.campaign.store import CampaignStore, OutputDirError, write_atomic


def failure_key(invariants: list[str], schedule: str) -> str:
    text = json.dumps([sorted(invariants), schedule])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def replay_failure(command: str) -> dict[str, Any]:
    """Run the printed reproducer, verbatim, through the ``hacore`` command (in
    this process: a plugin or planted bug of the worker is in force, as it was
    when the fuzzer found it), with ``--timeline`` and ``--log`` added; its
    verdict (exit status 1: an invariant broke), violations, picture and logs."""
    from hacli.main import main

    argv = shlex.split(command)
    if argv[:2] != ["hacore", "simulate"]:
        raise ValueError(f"not a hacore simulate command: {command}")
    with tempfile.TemporaryDirectory(prefix="hacore-campaign-") as tmp:
        svg = os.path.join(tmp, "timeline.svg")
        logs = os.path.join(tmp, "logs.sqlite")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            status = main([*argv[1:], "--timeline", svg, "--log", logs, "--json"])
        try:
            verdict = json.loads(printed.getvalue().strip().splitlines()[-1])
        except (ValueError, IndexError):
            verdict = {}
        artifacts: dict[str, Any] = {
            "reproduced": status == 1,
            "violations": list(verdict.get("violations", [])),
            "timeline_svg": None,
            "logs_sqlite_b64": None,
        }
        if os.path.exists(svg):
            with open(svg, encoding="utf-8") as fh:
                artifacts["timeline_svg"] = fh.read()
        if os.path.exists(logs):
            with open(logs, "rb") as fh:
                artifacts["logs_sqlite_b64"] = base64.b64encode(fh.read()).decode()
    return artifacts


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
                case["reproduced"] = artifacts["reproduced"]
                case["replay_violations"] = artifacts["violations"]
                if artifacts["timeline_svg"] is not None:
                    path = os.path.join(directory, "timeline.svg")
                    write_atomic(path, artifacts["timeline_svg"])
                    case["timeline"] = "timeline.svg"
                if artifacts["logs_sqlite_b64"] is not None:
                    logs = base64.b64decode(artifacts["logs_sqlite_b64"])
                    write_atomic(os.path.join(directory, "logs.sqlite"), logs)
                    case["logs"] = "logs.sqlite"
            self.cases[key] = case
        if all(o["shard"] != record["shard"] for o in case["occurrences"]):
            case["occurrences"].append(occurrence)
        write_atomic(os.path.join(directory, "failure.json"), json.dumps(case, sort_keys=True))
        return new
