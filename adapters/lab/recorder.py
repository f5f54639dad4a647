"""Record a notify FIFO's lines with monotonic timestamps (standard library only).

``python -I -S recorder.py FIFO OUT [TAG]`` opens FIFO read-write (so it never sees
end-of-file when keepalived restarts) and appends one JSON object per line to
OUT: ``{"t": <time.monotonic()>, "line": "<the line>"}``. CLOCK_MONOTONIC is
system wide on Linux, so these times compare with the lab's own.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):  # a third argument tags the process (the lab's prefix)
        sys.stderr.write("usage: recorder.py FIFO OUT [TAG]\n")
        return 2
    fifo = os.open(argv[0], os.O_RDWR)
    out = os.open(argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    buf = b""
    while True:
        data = os.read(fifo, 65536)
        now = time.monotonic()
        buf += data
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            os.write(out, (json.dumps({"t": now, "line": text}) + "\n").encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
