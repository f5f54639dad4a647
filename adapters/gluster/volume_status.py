"""``gluster --mode=script volume status VOL --xml``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from adapters.gluster.cli_xml import child, integer, parse_document, text
from adapters.gluster.errors import GlusterXmlError

WHAT = "volume status --xml"


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """One ``<node>``: a brick (``host:path``) or a daemon (``Self-heal Daemon``)."""

    hostname: str
    path: str
    peer_id: str
    online: bool
    port: int | None  # None: N/A (a dead brick, a daemon without a port)
    pid: int | None  # None: -1 or N/A


@dataclass(frozen=True, slots=True)
class VolumeStatus:
    name: str
    bricks: tuple[ProcessStatus, ...]
    daemons: tuple[ProcessStatus, ...]

    def dead_bricks(self) -> tuple[ProcessStatus, ...]:
        return tuple(b for b in self.bricks if not b.online)


def _optional_int(raw: str, tag: str) -> int | None:
    if raw == "N/A":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise GlusterXmlError(f"{WHAT}: <{tag}> is {raw!r}, neither an integer nor N/A") from None
    return None if value < 0 else value


def _process(node: ET.Element) -> ProcessStatus:
    status = integer(node, "status", WHAT)
    if status not in (0, 1):
        raise GlusterXmlError(f"{WHAT}: <status> is {status}, expected 0 or 1")
    return ProcessStatus(
        hostname=text(node, "hostname", WHAT),
        path=text(node, "path", WHAT),
        peer_id=text(node, "peerid", WHAT),
        online=status == 1,
        port=_optional_int(text(node, "port", WHAT), "port"),
        pid=_optional_int(text(node, "pid", WHAT), "pid"),
    )


def parse_volume_status(document: str) -> tuple[VolumeStatus, ...]:
    root = parse_document(document, WHAT)
    volumes = child(child(root, "volStatus", WHAT), "volumes", WHAT)
    out = []
    for vol in volumes.findall("volume"):
        name = text(vol, "volName", WHAT)
        nodes = [_process(n) for n in vol.findall("node")]
        declared = integer(vol, "nodeCount", WHAT)
        if declared != len(nodes):
            raise GlusterXmlError(f"{WHAT}: {name}: nodeCount {declared}, {len(nodes)} <node>s")
        # Bricks have a path that is a directory; daemons say "localhost" there.
        bricks = tuple(n for n in nodes if n.path.startswith("/"))
        daemons = tuple(n for n in nodes if not n.path.startswith("/"))
        out.append(VolumeStatus(name, bricks, daemons))
    if not out:
        raise GlusterXmlError(f"{WHAT}: no <volume> in <volumes>")
    return tuple(out)
