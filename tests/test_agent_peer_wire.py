"""The peer channel's messages: HMAC, replay and reorder detection, size limit, fuzzing."""

from __future__ import annotations

import asyncio
import random

import pytest

from adapters.agent.peer_channel import PeerChannel
from adapters.agent.peer_wire import (
    LENGTH,
    PeerMessage,
    PeerStatus,
    Receiver,
    Sender,
    new_boot_id,
    split_frames,
)
from adapters.keepalived.ingest import FifoIngest
from adapters.keepalived.notify import NotifyArgsError, parse_notify_args
from hacore.roles import PeerRole

KEY = b"0123456789abcdef0123456789abcdef"
NOW = 1_764_000_000_000_000
STATUS = PeerStatus(PeerRole.ACTIVE, 3, 10, 0, False, "a", "MASTER", True, "")


def _pair(max_bytes: int = 4096) -> tuple[Sender, Receiver]:
    return Sender("a", KEY, new_boot_id(NOW)), Receiver("b", ["a", "b"], KEY, max_bytes)


def _body(frame: bytes) -> bytes:
    return frame[LENGTH.size :]


def test_an_authentic_message_is_accepted_once() -> None:
    sender, receiver = _pair()
    frame = sender.frame(STATUS, NOW)
    message = receiver.accept_body(_body(frame), NOW)
    assert isinstance(message, PeerMessage) and message.status == STATUS and message.sender == "a"
    assert receiver.accept_body(_body(frame), NOW) is None
    assert receiver.dropped["replayed"] == 1 and receiver.accepted == 1


def test_an_older_message_after_a_newer_one_is_dropped_as_reordered() -> None:
    sender, receiver = _pair()
    first, second = sender.frame(STATUS, NOW), sender.frame(STATUS, NOW)
    assert receiver.accept_body(_body(second), NOW) is not None
    assert receiver.accept_body(_body(first), NOW) is None
    assert receiver.dropped["replayed"] == 1


def test_a_new_boot_is_accepted_and_an_earlier_boot_then_refused() -> None:
    old = Sender("a", KEY, new_boot_id(NOW))
    receiver = Receiver("b", ["a", "b"], KEY, 4096)
    old_frame = old.frame(STATUS, NOW)
    new = Sender("a", KEY, new_boot_id(NOW + 1))
    assert receiver.accept_body(_body(new.frame(STATUS, NOW)), NOW) is not None
    assert receiver.accept_body(_body(old_frame), NOW) is None
    assert receiver.dropped["stale-boot"] == 1


def test_a_wrong_key_is_unauthenticated() -> None:
    frame = Sender("a", b"x" * 32, new_boot_id(NOW)).frame(STATUS, NOW)
    _, receiver = _pair()
    assert receiver.accept_body(_body(frame), NOW) is None
    assert receiver.dropped["unauthenticated"] == 1 and receiver.seen() == {}


def test_a_message_from_ourselves_or_a_stranger_is_dropped() -> None:
    _, receiver = _pair()
    for name in ("b", "z"):
        frame = Sender(name, KEY, new_boot_id(NOW)).frame(STATUS, NOW)
        assert receiver.accept_body(_body(frame), NOW) is None
    assert receiver.dropped["unknown-sender"] == 2


def test_a_message_far_from_our_clock_is_dropped() -> None:
    sender, receiver = _pair()
    assert receiver.accept_body(_body(sender.frame(STATUS, NOW - 10**9)), NOW) is None
    assert receiver.dropped["clock-skew"] == 1


def test_an_oversized_frame_is_dropped() -> None:
    sender, receiver = _pair(max_bytes=256)
    big = PeerStatus(PeerRole.ACTIVE, 1, 1, 0, False, "a", "MASTER", True, "x" * 200)
    assert receiver.accept_body(_body(sender.frame(big, NOW)), NOW) is None
    assert receiver.dropped["oversized"] == 1


def test_split_frames_refuses_a_length_over_the_limit() -> None:
    buffer = bytearray(LENGTH.pack(10_000) + b"x" * 10)
    bodies, ok = split_frames(buffer, 4096)
    assert bodies == [] and not ok


def test_split_frames_keeps_a_partial_frame_for_later() -> None:
    sender, _ = _pair()
    frame = sender.frame(STATUS, NOW)
    buffer = bytearray(frame + frame[:7])
    bodies, ok = split_frames(buffer, 4096)
    assert ok and bodies == [_body(frame)] and bytes(buffer) == frame[:7]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(5)
    if op == 0 and b:
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1 and b:
        del b[rng.randrange(len(b)) :]
    elif op == 2:
        b[rng.randrange(len(b) + 1) : rng.randrange(len(b) + 1)] = rng.randbytes(rng.randrange(9))
    elif op == 3 and b:
        i = rng.randrange(len(b))
        b[i : i + 1] = bytes([rng.randrange(256)]) * rng.randrange(1, 40)
    else:
        b = bytearray(rng.randbytes(rng.randrange(200)))
    return bytes(b)


def test_fuzz_10000_random_and_mutated_messages_change_nothing() -> None:
    """Random bytes, bit flips, truncations, splices and replays: no crash, nothing
    accepted but the authentic originals, the per-sender state unchanged by junk."""
    rng = random.Random(9)
    sender, receiver = _pair()
    originals = [sender.frame(STATUS, NOW) for _ in range(20)]
    for frame in originals:
        assert receiver.accept_body(_body(frame), NOW) is not None
    state = receiver.seen()
    seen_originals = {_body(f) for f in originals}
    for _ in range(10_000):
        body = _mutate(rng, _body(rng.choice(originals)))
        message = receiver.accept_body(body, NOW)
        assert message is None, "a mutated or replayed message was accepted"
        assert receiver.seen() == state
        # the framing layer never raises either
        split_frames(bytearray(LENGTH.pack(len(body)) + body), 4096)
    assert receiver.accepted == len(originals)
    dropped = sum(receiver.dropped.values())
    assert dropped == 10_000
    # what the mutations hit: copies are replays, the rest fail the MAC
    assert receiver.dropped["unauthenticated"] > 5_000
    assert any(_mutate(random.Random(s), b"") is not None for s in range(3))
    assert seen_originals


def test_fuzz_10000_notify_fifo_inputs_and_notify_args_never_crash() -> None:
    rng = random.Random(10)
    good = [
        b'INSTANCE "VI_1" MASTER 150\n',
        b'INSTANCE "VI_1" BACKUP 100\n',
        b'GROUP "G" FAULT 0\n',
    ]
    ingest = FifoIngest("VI_1")
    produced = 0
    for i in range(10_000):
        data = _mutate(rng, rng.choice(good)) + (b"\n" if rng.random() < 0.5 else b"")
        for item in ingest.feed(data, i):
            produced += 1
            assert item.input.priority <= 255
        words = data.decode("utf-8", "replace").split()
        try:
            parse_notify_args(words)
        except NotifyArgsError:
            pass
    assert len(ingest.errors) > 1000  # most mutations are malformed lines, reported not raised
    assert produced > 0


async def test_the_channel_carries_status_over_tcp_and_drops_junk() -> None:
    got: list[PeerMessage] = []
    clock = lambda: NOW  # noqa: E731
    b_receiver = Receiver("b", ["a", "b"], KEY, 4096)
    b = PeerChannel(
        sender=Sender("b", KEY, new_boot_id(NOW)),
        receiver=b_receiver,
        listen=("127.0.0.1", 0),
        peers={},
        clock_us=clock,
        on_message=got.append,
    )
    await b.start()
    a = PeerChannel(
        sender=Sender("a", KEY, new_boot_id(NOW)),
        receiver=Receiver("a", ["a", "b"], KEY, 4096),
        listen=("127.0.0.1", 0),
        peers={"b": ("127.0.0.1", b.port)},
        clock_us=clock,
        on_message=lambda m: None,
    )
    await a.start()
    try:
        a.publish(STATUS)
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.01)
        assert [m.status for m in got] == [STATUS]
        # junk on a raw connection: dropped and counted, the connection closed
        _, w = await asyncio.open_connection("127.0.0.1", b.port)
        w.write(LENGTH.pack(40) + b"\x00" * 40 + LENGTH.pack(1 << 20))
        await w.drain()
        for _ in range(200):
            if b_receiver.dropped["oversized"]:
                break
            await asyncio.sleep(0.01)
        assert b_receiver.dropped["unauthenticated"] == 1
        assert b_receiver.dropped["oversized"] == 1
        assert len(got) == 1
        w.close()
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize("bad", [b"", b"\x00" * 32])
def test_a_body_of_only_a_mac_or_nothing_is_truncated(bad: bytes) -> None:
    _, receiver = _pair()
    assert receiver.accept_body(bad, NOW) is None
    assert receiver.dropped["truncated"] == 1
