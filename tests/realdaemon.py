"""Prerequisites of real-daemon tests: fail loudly in CI, skip with a reason elsewhere."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_root_tools(*binaries: str) -> None:
    """Root and the named binaries on PATH, or pytest.fail (CI=true) / pytest.skip (else)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root")
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        problems.append(f"missing {', '.join(missing)} (scripts/setup installs them as root)")
    if not problems:
        return
    reason = "real-daemon test needs root and tools: " + "; ".join(problems)
    if in_ci():
        pytest.fail(reason + " — CI=true, so this is a failure, not a skip")
    pytest.skip(reason)
