"""The README's example runs and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_daemon_example_prints_what_its_comments_promise() -> None:
    (block,) = python_blocks()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})  # our own README, nothing else
    printed = out.getvalue().splitlines()
    # Lines whose comment names the exact output: "print(...)  # promoting 2".
    promised = [
        m.group(1).strip()
        for line in block.splitlines()
        if line.startswith("print(") and (m := re.search(r"#\s*(\S.*)$", line))
    ]
    assert promised == ["promoting 2", "active 2"]
    assert printed[0] == promised[0]
    assert printed[-1] == promised[-1]
    effects = [line.split()[0] for line in printed[1:-1]]
    assert effects[:3] == ["Announce", "StartTimer", "RunStep"]
