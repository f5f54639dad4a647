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
