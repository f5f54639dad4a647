"""One scripted case of a conformance run: what the real daemons and the
simulator's model did, and where they differ (shared by the Galera and Gluster
tables, whose cases have the same shape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class CaseResult:
    name: str
    title: str
    real: dict[str, str] = field(default_factory=dict)
    model: dict[str, str] = field(default_factory=dict)
    real_times: dict[str, float] = field(default_factory=dict)
    model_times: dict[str, float] = field(default_factory=dict)
    error: str = ""

    # How far a measured time may be from the model's (a subclass's figure).
    TOLERANCE_S: ClassVar[float] = 0.0

    def compared(self, key: str) -> bool:
        """Whether ``key`` is held to the model (some are only reported)."""
        return True

    @property
    def mismatches(self) -> list[str]:
        out = [self.error] if self.error else []
        for k in sorted(set(self.real) | set(self.model)):
            if self.compared(k) and self.real.get(k) != self.model.get(k):
                out.append(f"{k}: real {self.real.get(k)!r}, model {self.model.get(k)!r}")
        for k, r in self.real_times.items():
            if not self.compared(k):
                continue
            m = self.model_times.get(k)
            if m is None or abs(r - m) > self.TOLERANCE_S:
                out.append(f"{k}: real {r:.2f} s, model {m} s")
        return out

    @property
    def agree(self) -> bool:
        return not self.mismatches


def cell(d: dict[str, str]) -> str:
    """A table cell listing a case's outcome keys."""
    return "<br>".join(f"{k}: {v}" for k, v in sorted(d.items())) or "-"


def times(r: CaseResult) -> str:
    """A table cell of measured / modelled times."""
    rows = []
    for k, v in r.real_times.items():
        m = r.model_times.get(k)
        rows.append(f"{k}: {v:.2f} / {m:.2f}" if m is not None else f"{k}: {v:.2f} / -")
    return "<br>".join(rows) or "-"
