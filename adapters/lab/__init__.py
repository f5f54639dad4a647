"""The lab: N real keepalived nodes in network namespaces on one machine."""

from adapters.lab.lab import (
    Lab,
    LabNode,
    LabNodeSpec,
    LabState,
    Transition,
    default_nodes,
    leftovers,
)
from adapters.lab.net import LabError

__all__ = [
    "Lab",
    "LabError",
    "LabNode",
    "LabNodeSpec",
    "LabState",
    "Transition",
    "default_nodes",
    "leftovers",
]
