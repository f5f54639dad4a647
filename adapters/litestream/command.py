"""Run one litestream command with a budget: its own session, killed (the
whole group) when the budget runs out, output captured. Never a shell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.bounded_command import run_bounded
from adapters.litestream.errors import LitestreamCommandError, LitestreamTimeout

MAX_OUTPUT = 1 << 20  # litestream's JSON is small; a flood is an error, not memory


@dataclass(frozen=True, slots=True)
class Result:
    stdout: str
    stderr: str


def run(argv: Sequence[str], *, timeout_s: float) -> Result:
    """``argv`` within ``timeout_s``: :class:`LitestreamTimeout` if it runs over,
    :class:`LitestreamCommandError` (with its stderr) on a non-zero exit."""
    if timeout_s <= 0:
        raise LitestreamTimeout(f"{argv[0]}: no time left to run {' '.join(argv[1:3])}")
    finished = run_bounded(argv, timeout_s=timeout_s)
    if finished is None:
        raise LitestreamTimeout(
            f"{' '.join(argv[:2])}: no answer within {timeout_s:.1f} s (killed)"
        )
    out, err = finished.stdout, finished.stderr
    if len(out) > MAX_OUTPUT or len(err) > MAX_OUTPUT:
        raise LitestreamCommandError(f"{' '.join(argv[:2])}: output over {MAX_OUTPUT} bytes")
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if finished.returncode != 0:
        last = stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise LitestreamCommandError(
            f"{' '.join(argv[:2])}: exit {finished.returncode}: {last[0][:300]}"
        )
    return Result(stdout, stderr)
