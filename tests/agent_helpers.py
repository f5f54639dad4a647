"""Shared helpers for the agent's tests: a valid configuration and its key file."""

from __future__ import annotations

import os
from pathlib import Path

KEY = b"k" * 16 + b"0123456789abcdef0123456789abcdef"


def write_key(path: Path, mode: int = 0o600, key: bytes = KEY) -> Path:
    path.write_bytes(key)
    os.chmod(path, mode)
    return path


def config_text(key_file: Path, node: str = "a", extra: str = "") -> str:
    return f"""
node = "{node}"

[cluster]
virtual_ip = "10.9.0.250/24"

[[cluster.nodes]]
name = "a"
address = "10.9.0.1"
priority = 150

[[cluster.nodes]]
name = "b"
address = "10.9.0.2"

[peer]
key_file = "{key_file}"
{extra}
"""


def node_config(
    tmp: Path,
    node: str,
    *,
    port: int,
    http_port: int = 0,
    extra: str = "",
    services: str = "galera = true",
    delay_s: float = 0.05,
    mode: str = "availability-first",
    policy: str = "vrrp-winner",
    addresses: tuple[str, str] = ("127.0.0.1", "127.0.0.2"),
    step_timeout_s: float = 5.0,
) -> Path:
    """A complete agent configuration for node ``node`` ("a" or "b") under ``tmp/node``.

    Both nodes listen on ``port`` at their own loopback address; keepalived is
    absent (its FIFO is written by the test), Galera is the recording fake.
    """
    d = tmp / node
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    key = write_key(tmp / "peer.key")
    address = addresses[0 if node == "a" else 1]
    http = f'[http]\nenabled = true\naddress = "{address}"\nport = {http_port}\n'
    if not http_port:
        http = ""
    text = f"""
node = "{node}"

[cluster]
virtual_ip = "10.9.0.250/24"
mode = "{mode}"
policy = "{policy}"

[[cluster.nodes]]
name = "a"
address = "{addresses[0]}"
priority = 150

[[cluster.nodes]]
name = "b"
address = "{addresses[1]}"
priority = 100

[peer]
key_file = "{key}"
port = {port}
heartbeat_s = 0.1
timeout_s = 2.0

[timing]
write_lease_s = 0.5
step_timeout_s = {step_timeout_s}
hold_down_s = 0.5
vip_handover_s = 3.0
split_judge_s = 0.5

[services]
{services}

[keepalived]
notify_fifo = "{d}/notify.fifo"
track_file = "{d}/vrrp-yield"
pid_file = "{d}/keepalived.pid"
json_dir = "{d}"

[operator]
socket = "{d}/run/agent.sock"

[store]
path = "{d}/events.sqlite"

[galera]
fake_journal = "{d}/galera-fake.jsonl"
fake_delay_s = {delay_s}

[log]
level = "debug"

{http}
{extra}
"""
    path = d / "agent.toml"
    path.write_text(text)
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
