"""Bounded reachability probe (standard library only; there is no ping here).

Run inside a node's namespace as ``ip netns exec NS python -I -S probe.py DST PORT
COUNT TIMEOUT``: opens COUNT non-blocking TCP connections to DST:PORT at once and
waits at most TIMEOUT seconds. A connection that is refused (the peer's RST) or
accepted counts as answered; one still pending at the deadline counts as lost.
Each connection has its own source port, so nft's ``numgen random`` decides each
one independently. Prints the number answered. TIMEOUT should stay below 1 s,
the kernel's first SYN retransmission, so that each probe is exactly one SYN out
and one reply back.
"""

from __future__ import annotations

import errno
import selectors
import socket
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        sys.stderr.write("usage: probe.py DST PORT COUNT TIMEOUT\n")
        return 2
    dst, port, count, timeout = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    sel = selectors.DefaultSelector()
    socks = []
    answered = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        socks.append(s)
        rc = s.connect_ex((dst, port))
        if rc in (0, errno.ECONNREFUSED):
            answered += 1
            s.close()
        elif rc == errno.EINPROGRESS:
            sel.register(s, selectors.EVENT_WRITE)
        else:
            s.close()  # e.g. EPERM from a local nft drop on output: lost
    deadline = time.monotonic() + timeout
    while sel.get_map():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) in (0, errno.ECONNREFUSED):
                answered += 1
            sel.unregister(sock)
            sock.close()
    for s in socks:
        s.close()
    print(answered)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
