"""One valid keepalived VRRP instance for the renderer's tests, changed per test."""

from __future__ import annotations

from typing import Any

from adapters.keepalived import VrrpInstanceSpec


def instance(**kw: Any) -> VrrpInstanceSpec:
    """A unicast instance between two lab addresses, with ``kw`` replacing fields."""
    base: dict[str, Any] = {
        "name": "VI_1",
        "vrid": 51,
        "interface": "eth0",
        "priority": 150,
        "unicast_src_ip": "10.77.0.1",
        "unicast_peers": ("10.77.0.2",),
        "virtual_ipaddresses": ("10.77.0.250/24",),
    }
    base.update(kw)
    return VrrpInstanceSpec(**base)
