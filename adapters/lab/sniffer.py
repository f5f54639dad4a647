"""Record the VRRP adverts crossing a lab's switch (standard library only; no tcpdump here).

``ip netns exec SWITCH_NS python -I -S sniffer.py OUT PREFIX MAX_SECONDS`` opens an
AF_PACKET socket on every interface of the switch namespace and appends one JSON
object per VRRP packet (IP protocol 112) to OUT: ``{"t": <time.monotonic()>, "src":
..., "dst": ..., "priority": ..., "interval_cs": ...}``. A frame is seen on two bridge
ports (in at the sender's, out at the receiver's); only the sighting on the sender's
port (``<PREFIX><i>b`` for 10.77.0.<i>) is kept, so ``t`` is when the advert left the
sender's veth. CLOCK_MONOTONIC is system wide, so the times compare with the
recorder's fifo times. It stops by itself after MAX_SECONDS (nothing runs unbounded).
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
IPPROTO_VRRP = 112


def parse(frame: bytes) -> tuple[str, str, int, int] | None:
    """(src, dst, priority, interval in centiseconds) of a VRRPv3 advert frame, else None."""
    if len(frame) < 14 + 20 + 8 or int.from_bytes(frame[12:14], "big") != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != IPPROTO_VRRP or len(ip) < ihl + 8:
        return None
    src = socket.inet_ntoa(ip[12:16])
    dst = socket.inet_ntoa(ip[16:20])
    vrrp = ip[ihl:]
    priority = vrrp[2]
    interval_cs = int.from_bytes(vrrp[4:6], "big") & 0x0FFF
    return src, dst, priority, interval_cs


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: sniffer.py OUT PREFIX MAX_SECONDS\n")
        return 2
    out_path, prefix, max_s = argv[0], argv[1], float(argv[2])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    out = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 0
        ready, _, _ = select.select([sock], [], [], min(left, 1.0))
        if not ready:
            continue
        frame, addr = sock.recvfrom(65536)
        now = time.monotonic()
        got = parse(frame)
        if got is None:
            continue
        src, dst, priority, interval_cs = got
        if addr[0] != f"{prefix}{src.rsplit('.', 1)[1]}b":
            continue  # the receiver's port: the same frame again
        line = {"t": now, "src": src, "dst": dst, "priority": priority, "interval_cs": interval_cs}
        os.write(out, (json.dumps(line) + "\n").encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
