"""``gluster volume heal VOL info [split-brain|summary] --xml``.

A brick the CLI could not reach says ``hostUuid="-"`` and ``-`` for its
counts: that is :data:`None` here (unknown), never 0. Split-brain files are
only listed by ``info split-brain`` (``info`` does not mark them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from adapters.gluster.cli_xml import child, count_or_dash, parse_document, text
from adapters.gluster.errors import GlusterXmlError


@dataclass(frozen=True, slots=True)
class BrickEntries:
    """One brick of ``heal info`` / ``heal info split-brain``."""

    name: str  # host:/path
    host_uuid: str | None  # None: "-" (the brick was not reachable)
    status: str  # "Connected", or why not
    files: tuple[str, ...]
    count: int | None  # None: "-"

    @property
    def reachable(self) -> bool:
        return self.host_uuid is not None and self.status == "Connected"


@dataclass(frozen=True, slots=True)
class BrickSummary:
    name: str
    host_uuid: str | None
    status: str
    total: int
    heal_pending: int
    split_brain: int
    possibly_healing: int


def _bricks(document: str, what: str) -> list[ET.Element]:
    root = parse_document(document, what)
    bricks = child(child(root, "healInfo", what), "bricks", what).findall("brick")
    if not bricks:
        raise GlusterXmlError(f"{what}: no <brick> in <bricks>")
    return bricks


def _host_uuid(brick: ET.Element, what: str) -> str | None:
    raw = brick.get("hostUuid")
    if raw is None or not raw:
        raise GlusterXmlError(f"{what}: <brick> without a hostUuid attribute")
    return None if raw == "-" else raw


def _entries(document: str, what: str) -> tuple[BrickEntries, ...]:
    out = []
    for brick in _bricks(document, what):
        uuid = _host_uuid(brick, what)
        name = text(brick, "name", what)
        files = tuple((f.text or "").strip() for f in brick.findall("file"))
        if any(not f for f in files):
            raise GlusterXmlError(f"{what}: {name}: an empty <file> entry")
        count = count_or_dash(brick, "numberOfEntries", what)
        if uuid is None and (count is not None or files):
            raise GlusterXmlError(f"{what}: {name}: hostUuid '-' but entries are listed")
        if count is not None and count != len(files):
            raise GlusterXmlError(f"{what}: {name}: numberOfEntries {count}, {len(files)} <file>s")
        out.append(BrickEntries(name, uuid, text(brick, "status", what), files, count))
    return tuple(out)


def parse_heal_info(document: str) -> tuple[BrickEntries, ...]:
    return _entries(document, "heal info --xml")


def parse_split_brain(document: str) -> tuple[BrickEntries, ...]:
    return _entries(document, "heal info split-brain --xml")


def parse_heal_summary(document: str) -> tuple[BrickSummary, ...]:
    """Every brick with its four counts; an unreachable brick's malformed or
    ``-`` counts are a :class:`GlusterXmlError` (the summary cannot be trusted)."""
    what = "heal info summary --xml"
    out = []
    for brick in _bricks(document, what):
        name = text(brick, "name", what)
        counts = []
        for tag in (
            "totalNumberOfEntries",
            "numberOfEntriesInHealPending",
            "numberOfEntriesInSplitBrain",
            "numberOfEntriesPossiblyHealing",
        ):
            value = count_or_dash(brick, tag, what)
            if value is None:
                raise GlusterXmlError(f"{what}: {name}: <{tag}> is '-' (brick unreachable)")
            counts.append(value)
        total, pending, split, healing = counts
        out.append(
            BrickSummary(
                name,
                _host_uuid(brick, what),
                text(brick, "status", what),
                total,
                pending,
                split,
                healing,
            )
        )
    return tuple(out)
