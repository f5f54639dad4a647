"""The campaign's output directory: what is done, what was found, written as it happens.

    OUT/campaign.toml         the campaign file of the latest run (for the report)
    OUT/shards/<shard>.json   one record per finished shard (see hacli.campaign.shard)
    OUT/failures/<key>/       one directory per distinct failure (hacli.campaign.failures)
    OUT/hypothesis/           the example database the workers share
    OUT/report.html, .json    written by ``hacore campaign report``

Every file is written to a temporary name and renamed into place, so a campaign
killed at any instant leaves either the whole record or none: a resumed run
redoes exactly the shards without one.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any


class OutputDirError(Exception):
    """The output directory cannot be used (not ours, unwritable, or corrupt)."""


def check_private_dir(path: str) -> None:
    """Refuse a directory another user could write to (they could plant records)."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise OutputDirError(f"{path} is not a directory")
    if st.st_uid != os.getuid():
        raise OutputDirError(f"{path} belongs to another user")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise OutputDirError(f"{path} is writable by other users; make it private first")


def write_atomic(path: str, data: bytes | str) -> None:
    payload = data.encode() if isinstance(data, str) else data
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class CampaignStore:
    def __init__(self, out: str) -> None:
        self.out = os.path.abspath(out)
        self.shards_dir = os.path.join(self.out, "shards")
        self.failures_dir = os.path.join(self.out, "failures")
        self.database_dir = os.path.join(self.out, "hypothesis")

    def create(self) -> None:
        try:
            os.makedirs(self.out, mode=0o755, exist_ok=True)
            check_private_dir(self.out)
            for sub in (self.shards_dir, self.failures_dir, self.database_dir):
                os.makedirs(sub, mode=0o755, exist_ok=True)
                check_private_dir(sub)
        except OSError as exc:
            raise OutputDirError(f"cannot use {self.out}: {exc.strerror or exc}") from None

    def exists(self) -> bool:
        return os.path.isdir(self.shards_dir)

    def save_campaign_file(self, text: str) -> None:
        write_atomic(os.path.join(self.out, "campaign.toml"), text)

    def record_shard(self, record: dict[str, Any]) -> None:
        path = os.path.join(self.shards_dir, f"{record['shard']}.json")
        write_atomic(path, json.dumps(record, sort_keys=True))

    def shard_records(self) -> list[dict[str, Any]]:
        """Every finished shard's record, in file-name order; a file that does not
        parse (not one of ours) is an error, not silently a shard to redo."""
        records = []
        try:
            names = sorted(os.listdir(self.shards_dir))
        except OSError as exc:
            raise OutputDirError(f"cannot read {self.shards_dir}: {exc.strerror or exc}") from None
        for name in names:
            if not name.endswith(".json"):
                continue  # a temporary file of a write the campaign did not finish
            path = os.path.join(self.shards_dir, name)
            try:
                with open(path, encoding="utf-8") as fh:
                    record = json.load(fh)
            except (OSError, ValueError) as exc:
                raise OutputDirError(f"{path}: not a shard record ({exc})") from None
            if not isinstance(record, dict) or record.get("shard") != name[: -len(".json")]:
                raise OutputDirError(f"{path}: not a shard record")
            records.append(record)
        return records

    def done(self) -> set[str]:
        return {str(r["shard"]) for r in self.shard_records()}
