"""What the decider knows besides its state: the cluster and which node it is."""

from __future__ import annotations

from dataclasses import dataclass

from hacore.config import ClusterConfig, NodeSpec


@dataclass(frozen=True, slots=True)
class Context:
    """The configuration and this node's name: fixed for a node's lifetime."""

    config: ClusterConfig
    node: str

    @property
    def spec(self) -> NodeSpec:
        return self.config.node(self.node)

    @property
    def index(self) -> int:
        return self.config.index_of(self.node)
