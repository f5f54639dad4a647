"""Thin wrappers over iproute2 and nftables (argv lists only, never a shell)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence


class LabError(RuntimeError):
    """A lab operation failed; the message says which command and why."""


def run(argv: Sequence[str], *, check: bool = True, input_text: str | None = None) -> str:
    """Run a command (argv list), return stdout; raise LabError with stderr on failure."""
    try:
        proc = subprocess.run(  # noqa: S603 - argv list, no shell
            list(argv), capture_output=True, text=True, input=input_text, timeout=30
        )
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]}: not installed ({exc})") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: timed out") from None
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def require_root(binaries: Sequence[str] = ("ip", "nft", "keepalived")) -> None:
    """Raise LabError naming what is missing: root, or one of the binaries."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, nftables): run it as root")
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        raise LabError(
            f"the lab needs {', '.join(missing)}: install them (scripts/setup does, as root)"
        )


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_add(name: str) -> None:
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def netns_delete(name: str) -> None:
    run(["ip", "netns", "delete", name], check=False)


def links(netns: str | None = None) -> list[str]:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-o", "link", "show"]
    names = []
    for line in run(argv).splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def nft(netns: str, script: str) -> None:
    """Apply an nft script inside a namespace (nft -f - reads it from stdin)."""
    run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input_text=script)


def nft_tables(netns: str | None = None) -> list[str]:
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["nft", "list", "tables"]
    return [line.split()[-1] for line in run(argv).splitlines() if line.startswith("table")]
