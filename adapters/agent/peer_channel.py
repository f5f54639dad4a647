"""The peer channel on asyncio: a TCP server on this node's address, a sender per peer.

Status messages are state, not deltas: each peer's sender keeps only the
newest frame, so a stalled connection (a partition) never builds a queue,
and the first message after a heal is the current status. Every network
wait has a deadline; a connection that times out is closed and re-opened
with a capped backoff. What arrives goes through :class:`peer_wire.Receiver`
(authentication, replay and size checks) before ``on_message`` sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from adapters.agent.peer_wire import PeerMessage, PeerStatus, Receiver, Sender, split_frames

READ_CHUNK = 65536
CONNECT_TIMEOUT_S = 1.0
WRITE_TIMEOUT_S = 1.0
MAX_BACKOFF_S = 2.0


class PeerChannel:
    def __init__(
        self,
        *,
        sender: Sender,
        receiver: Receiver,
        listen: tuple[str, int],
        peers: dict[str, tuple[str, int]],
        clock_us: Callable[[], int],
        on_message: Callable[[PeerMessage], None],
        idle_timeout_s: float = 30.0,
    ) -> None:
        self.sender = sender
        self.receiver = receiver
        self.listen = listen
        self.peers = dict(sorted(peers.items()))
        self._clock_us = clock_us
        self._on_message = on_message
        self._idle_timeout_s = idle_timeout_s
        self._server: asyncio.Server | None = None
        self._pending: dict[str, bytes | None] = dict.fromkeys(self.peers)
        self._wake: dict[str, asyncio.Event] = {p: asyncio.Event() for p in self.peers}
        self._tasks: list[asyncio.Task[None]] = []
        self._readers: set[asyncio.StreamWriter] = set()
        self.sent = 0
        self.send_failures = 0
        self.connections_closed = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.listen[0], self.listen[1], reuse_address=True
        )
        for name in self.peers:
            self._tasks.append(asyncio.create_task(self._send_loop(name), name=f"peer-send-{name}"))

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def publish(self, status: PeerStatus) -> None:
        """Send ``status`` to every peer (replacing any frame not yet sent)."""
        now = self._clock_us()
        for name in self.peers:
            self._pending[name] = self.sender.frame(status, now)
            self._wake[name].set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Server-side connections end by closing their transports (cancelling
        # a stream callback's task makes asyncio log a spurious traceback).
        for writer in list(self._readers):
            writer.close()
        for _ in range(100):
            if not self._readers:
                break
            await asyncio.sleep(0.01)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    # -- receiving ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._readers.add(writer)
        buffer = bytearray()
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(READ_CHUNK), self._idle_timeout_s)
                if not chunk:
                    return
                buffer += chunk
                bodies, ok = split_frames(buffer, self.receiver.max_bytes)
                for body in bodies:
                    message = self.receiver.accept_body(body, self._clock_us())
                    if message is not None:
                        self._on_message(message)
                if not ok:
                    self.receiver.dropped["oversized"] += 1
                    return
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return
        finally:
            self.connections_closed += 1
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            self._readers.discard(writer)

    # -- sending -----------------------------------------------------------------------

    async def _send_loop(self, name: str) -> None:
        host, port = self.peers[name]
        backoff = 0.05
        writer: asyncio.StreamWriter | None = None
        while True:
            await self._wake[name].wait()
            self._wake[name].clear()
            frame = self._pending[name]
            self._pending[name] = None
            if frame is None:
                continue
            try:
                if writer is None:
                    _, opened = await asyncio.wait_for(
                        asyncio.open_connection(host, port), CONNECT_TIMEOUT_S
                    )
                    writer = opened
                writer.write(frame)
                await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
                self.sent += 1
                backoff = 0.05
            except (OSError, TimeoutError):
                self.send_failures += 1
                if writer is not None:
                    writer.close()
                    writer = None
                if self._pending[name] is None:  # nothing newer: retry this one
                    self._pending[name] = frame
                    self._wake[name].set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
