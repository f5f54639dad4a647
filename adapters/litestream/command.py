"""Run one litestream command with a budget: its own session, killed (the
whole group) when the budget runs out, output captured. Never a shell."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

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
    proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
        list(argv),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise LitestreamTimeout(
            f"{' '.join(argv[:2])}: no answer within {timeout_s:.1f} s (killed)"
        ) from None
    if len(out) > MAX_OUTPUT or len(err) > MAX_OUTPUT:
        raise LitestreamCommandError(f"{' '.join(argv[:2])}: output over {MAX_OUTPUT} bytes")
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if proc.returncode != 0:
        last = stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise LitestreamCommandError(
            f"{' '.join(argv[:2])}: exit {proc.returncode}: {last[0][:300]}"
        )
    return Result(stdout, stderr)
