"""Render the docs' timeline picture: ``python scripts/timeline_png.py``.

Runs ``partition-heal`` (seed 1), writes its SVG and lets headless Chromium
(the same launcher as the browser tests) take a PNG of it into docs/img/.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import screenshot  # noqa: E402

from sims.run import make_simulation  # noqa: E402
from sims.timeline import svg_timeline  # noqa: E402


def main() -> int:
    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    svg = out / "timeline-partition-heal.svg"
    svg.write_text(svg_timeline(make_simulation("partition-heal", 1).run()), encoding="utf-8")
    png = out / "timeline-partition-heal.png"
    screenshot(svg, png)
    print(f"wrote {svg.relative_to(ROOT)} and {png.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
