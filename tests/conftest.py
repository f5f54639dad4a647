"""Shared pytest configuration: the golden corpus's explicit update flag."""

from __future__ import annotations

import os
from pathlib import Path

import boundary_fuzz
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.txt from the scenario descriptions in test_golden.py",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """``HACORE_FUZZ_FIGURES=path``: write the boundary fuzz counts (docs/hardening.md)."""
    target = os.environ.get("HACORE_FUZZ_FIGURES")
    if target and exitstatus == 0:
        boundary_fuzz.write_figures(Path(target))
