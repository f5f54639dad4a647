"""The one time format of every text output: seconds, three decimals, the unit.

``seconds(21_938_000)`` is ``"21.938 s"``. Input syntax (``--duration 20s``,
fault schedules) is parsed elsewhere; this is only how times are *shown*, so a
reader can compare a figure in one command's output with another's.
"""

from __future__ import annotations

DECIMALS = 3


def seconds(us: int | float) -> str:
    """Microseconds as ``"S.mmm s"``."""
    return f"{us / 1e6:.{DECIMALS}f} s"


def seconds_value(us: int | float) -> str:
    """The number alone (for a column whose header carries the unit)."""
    return f"{us / 1e6:.{DECIMALS}f}"
