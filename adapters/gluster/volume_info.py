"""``gluster --mode=script volume info VOL --xml``: the bricks in order.

The order matters: the N-th brick is the client translator ``VOL-client-N``
that ``replica.split-brain-choice`` names when a mount reads one brick's copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.gluster.cli_xml import child, integer, parse_document, text
from adapters.gluster.errors import GlusterXmlError

WHAT = "volume info --xml"


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    name: str
    replica_count: int
    bricks: tuple[str, ...]  # host:path, in the volume's order

    def client_of(self, brick: str) -> str:
        """The client translator that reads ``brick`` (``VOL-client-N``)."""
        try:
            return f"{self.name}-client-{self.bricks.index(brick)}"
        except ValueError:
            raise GlusterXmlError(f"{WHAT}: {brick} is not a brick of {self.name}") from None


def parse_volume_info(document: str) -> VolumeInfo:
    root = parse_document(document, WHAT)
    volumes = child(child(root, "volInfo", WHAT), "volumes", WHAT).findall("volume")
    if len(volumes) != 1:
        raise GlusterXmlError(f"{WHAT}: {len(volumes)} <volume> elements, expected 1")
    vol = volumes[0]
    bricks = tuple(text(b, "name", WHAT) for b in child(vol, "bricks", WHAT).findall("brick"))
    declared = integer(vol, "brickCount", WHAT)
    if declared != len(bricks) or not bricks:
        raise GlusterXmlError(f"{WHAT}: brickCount {declared}, {len(bricks)} <brick>s")
    if len(set(bricks)) != len(bricks):
        raise GlusterXmlError(f"{WHAT}: a brick is listed twice")
    return VolumeInfo(text(vol, "name", WHAT), integer(vol, "replicaCount", WHAT), bricks)
