"""Headless Chromium for the tests that look at a picture the way a person does.

Debian's ``chromium`` (installed by scripts/setup) runs once per call with a
fresh profile directory, no network services and a time budget. A page gets
measured by a script injected into it that writes its findings as JSON into
the DOM; ``--dump-dom`` prints the DOM once the page has loaded.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from realdaemon import in_ci

BROWSER = "chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
BUDGET_S = 60.0


def require_browser() -> str:
    """The browser's path, or pytest.fail (CI=true) / pytest.skip (else)."""
    path = shutil.which(BROWSER)
    if path is not None:
        return path
    reason = f"browser test needs {BROWSER} (scripts/setup installs it as root)"
    if in_ci():
        pytest.fail(reason + " — CI=true, so this is a failure, not a skip")
    pytest.skip(reason)


def run_browser(args: list[str], cwd: Path) -> str:
    """Run Chromium once with a new empty profile; its stdout."""
    with tempfile.TemporaryDirectory(prefix="hacore-chromium-") as profile:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [require_browser(), *FLAGS, f"--user-data-dir={profile}", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=BUDGET_S,
            check=False,
            start_new_session=True,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"{BROWSER} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


# Runs in the page: for every <svg class="under-test">, the bounding box of each
# <text> in the SVG's own coordinates, the canvas size and the count of each
# element class, written as JSON into <pre id="findings">.
MEASURE_JS = """
const out = [];
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  const texts = [];
  for (const t of svg.querySelectorAll('text')) {
    const r = t.getBoundingClientRect();
    texts.push({text: t.textContent, cls: t.getAttribute('class') || '',
                size: parseFloat(getComputedStyle(t).fontSize),
                x: r.left - box.left, y: r.top - box.top, w: r.width, h: r.height});
  }
  const classes = {};
  for (const e of svg.querySelectorAll('[class]')) {
    for (const c of e.getAttribute('class').split(' ')) classes[c] = (classes[c] || 0) + 1;
  }
  out.push({id: svg.id, width: box.width, height: box.height, texts, classes});
}
document.getElementById('findings').textContent = JSON.stringify(out);
"""


def measure_svgs(svgs: dict[str, str], workdir: Path) -> dict[str, dict[str, Any]]:
    """Lay the SVGs out in one page, let Chromium render it, return per id the
    canvas size, every text's rendered box and the element classes' counts."""
    body = []
    for ident, svg in svgs.items():
        body.append(f"<div>{svg.replace('<svg ', f'<svg id={json.dumps(ident)} ', 1)}</div>")
    page = workdir / "measure.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        + "".join(body)
        + '<pre id="findings"></pre><script>'
        + MEASURE_JS
        + "</script></body></html>",
        encoding="utf-8",
    )
    dom = run_browser(["--window-size=1400,900", "--dump-dom", page.as_uri()], workdir)
    found = re.search(r'<pre id="findings">(.*?)</pre>', dom, re.S)
    if found is None or not found.group(1).strip():
        raise RuntimeError("the page's measuring script wrote nothing")
    raw = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return {item["id"]: item for item in json.loads(raw)}


def screenshot(svg_path: Path, png_path: Path) -> None:
    """A PNG of the SVG at its own size (for the docs)."""
    head = svg_path.read_text(encoding="utf-8")[:400]
    width = re.search(r'width="(\d+)"', head)
    height = re.search(r'height="(\d+)"', head)
    if width is None or height is None:
        raise ValueError(f"{svg_path}: no width/height on the <svg> element")
    run_browser(
        [
            f"--window-size={width.group(1)},{height.group(1)}",
            f"--screenshot={png_path}",
            svg_path.resolve().as_uri(),
        ],
        svg_path.parent,
    )
