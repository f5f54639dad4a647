"""The peer channel's messages: authenticated, ordered per sender, bounded in size.

Frame on the wire: a 4-byte big-endian length, then ``mac || payload`` where
``mac`` is HMAC-SHA256 (32 bytes) over ``payload`` with the cluster's shared
key and ``payload`` is one JSON object::

    {"v": 1, "from": "node-a", "boot": "<start_us>-<random>", "ctr": 17,
     "sent_us": 1764620000000000, "body": {...}}

Rules (:class:`Receiver` enforces them; anything else is dropped and counted,
never acted on):

* the MAC must verify (constant-time compare) before the payload is parsed;
* ``from`` must be a configured peer (not ourselves);
* per sender, ``ctr`` must grow within one ``boot``; a new boot is accepted
  only when its start time is later than the known boot's, so a message
  replayed from an earlier life of the sender is refused too;
* ``sent_us`` may not be further than ``max_skew_us`` from our clock (a
  replay captured before we restarted, when we know no boot yet);
* the frame may not exceed ``max_bytes``.

The body is a status: role, epoch, the facts split-brain judging needs
(committed, changes, judging), the vote (follows), and what ``hacore status``
shows of the peer (VRRP state, whether it takes writes, its plan).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
from collections.abc import Iterable
from typing import Any

import attrs

from hacore.roles import PeerRole

MAC_BYTES = 32
LENGTH = struct.Struct(">I")
VERSION = 1
DEFAULT_MAX_SKEW_US = 120 * 1_000_000
DROP_REASONS = (
    "oversized",
    "truncated",
    "unauthenticated",
    "malformed",
    "unknown-sender",
    "replayed",
    "stale-boot",
    "clock-skew",
)


def new_boot_id(now_us: int) -> str:
    """A boot id that sorts by start time; the random tail tells two same-µs starts apart."""
    return f"{now_us:016d}-{os.urandom(6).hex()}"


def _boot_start(boot: str) -> int:
    head, sep, tail = boot.partition("-")
    if not sep or len(head) != 16 or not head.isdigit() or len(tail) != 12:
        raise ValueError("boot id")
    int(tail, 16)
    return int(head)


@attrs.frozen
class PeerStatus:
    """What one node tells the others (a :class:`hacore.inputs.PeerHeard` on arrival)."""

    role: PeerRole
    epoch: int
    committed: int
    changes: int
    judging: bool
    follows: str
    vrrp: str = "INIT"
    writable: bool = False
    plan: str = ""  # "promotion 3: start_k3s" while a plan runs
    heard: tuple[str, ...] = ()  # peers this node heard within its peer timeout
    # the node's last Galera status poll (None: not observed, e.g. a fake port)
    galera_member: bool | None = None
    galera_size: int | None = None
    # the node's last k3s / litestream poll (None: not observed or disabled)
    k3s_ready: bool | None = None
    replicating: bool | None = None
    gluster_ready: bool | None = None
    # the litestream replica's lag behind this node's k3s database (None: not measured)
    lag_revisions: int | None = None
    lag_seconds: float | None = None
    # "UUID:SEQNO" recovered while its MariaDB is down (the total-outage bootstrap
    # choice, adapters/galera/cold_start.py); optional on the wire (older agents)
    galera_position: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "epoch": self.epoch,
            "committed": self.committed,
            "changes": self.changes,
            "judging": self.judging,
            "follows": self.follows,
            "vrrp": self.vrrp,
            "writable": self.writable,
            "plan": self.plan,
            "heard": list(self.heard),
            "galera_member": self.galera_member,
            "galera_size": self.galera_size,
            "k3s_ready": self.k3s_ready,
            "replicating": self.replicating,
            "gluster_ready": self.gluster_ready,
            "lag_revisions": self.lag_revisions,
            "lag_seconds": self.lag_seconds,
            "galera_position": self.galera_position,
        }

    @classmethod
    def from_json(cls, raw: object) -> PeerStatus:
        if not isinstance(raw, dict) or set(raw) - {"galera_position"} != _REQUIRED_KEYS:
            raise ValueError("status keys")
        position = raw.get("galera_position")
        if position is not None and (
            type(position) is not str or _POSITION.fullmatch(position) is None
        ):
            raise ValueError("status galera_position")
        ints = [raw[k] for k in ("epoch", "committed", "changes")]
        if any(type(v) is not int or not 0 <= v < 1 << 62 for v in ints):
            raise ValueError("status numbers")
        if type(raw["judging"]) is not bool or type(raw["writable"]) is not bool:
            raise ValueError("status flags")
        texts = [raw[k] for k in ("follows", "vrrp", "plan")]
        if any(type(v) is not str or len(v) > 200 for v in texts):
            raise ValueError("status texts")
        member, size = raw["galera_member"], raw["galera_size"]
        for flag in ("galera_member", "k3s_ready", "replicating", "gluster_ready"):
            if raw[flag] is not None and type(raw[flag]) is not bool:
                raise ValueError(f"status {flag}")
        if size is not None and (type(size) is not int or not 0 <= size < 1 << 16):
            raise ValueError("status galera_size")
        lag_revisions, lag_seconds = raw["lag_revisions"], raw["lag_seconds"]
        if lag_revisions is not None and (
            type(lag_revisions) is not int or not 0 <= lag_revisions < 1 << 62
        ):
            raise ValueError("status lag_revisions")
        if lag_seconds is not None and (
            type(lag_seconds) not in (int, float) or not 0 <= lag_seconds < 1e9
        ):
            raise ValueError("status lag_seconds")  # (NaN fails the range test too)
        heard = raw["heard"]
        if type(heard) is not list or len(heard) > 64:
            raise ValueError("status heard")
        if any(type(h) is not str or not 0 < len(h) <= 63 for h in heard):
            raise ValueError("status heard")
        return cls(
            heard=tuple(heard),
            galera_member=member,
            galera_size=size,
            k3s_ready=raw["k3s_ready"],
            replicating=raw["replicating"],
            gluster_ready=raw["gluster_ready"],
            lag_revisions=lag_revisions,
            lag_seconds=None if lag_seconds is None else float(lag_seconds),
            galera_position=position,
            role=PeerRole(raw["role"]),
            epoch=raw["epoch"],
            committed=raw["committed"],
            changes=raw["changes"],
            judging=raw["judging"],
            follows=raw["follows"],
            vrrp=raw["vrrp"],
            writable=raw["writable"],
            plan=raw["plan"],
        )


_REQUIRED_KEYS = frozenset(attrs.fields_dict(PeerStatus)) - {"galera_position"}
_POSITION = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:-?[0-9]{1,19}"
)
_ENVELOPE_KEYS = frozenset(("v", "from", "boot", "ctr", "sent_us", "body"))


@attrs.frozen
class PeerMessage:
    sender: str
    boot: str
    counter: int
    sent_us: int
    status: PeerStatus


class Sender:
    """Signs this node's messages: one boot id per process, a counter that only grows."""

    def __init__(self, name: str, key: bytes, boot: str) -> None:
        self.name = name
        self._key = key
        self.boot = boot
        self.counter = 0

    def frame(self, status: PeerStatus, sent_us: int) -> bytes:
        self.counter += 1
        payload = json.dumps(
            {
                "v": VERSION,
                "from": self.name,
                "boot": self.boot,
                "ctr": self.counter,
                "sent_us": sent_us,
                "body": status.to_json(),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return LENGTH.pack(len(mac) + len(payload)) + mac + payload


@attrs.define
class _Seen:
    boot: str
    boot_start: int
    counter: int


class Receiver:
    """Verifies frames from peers; counts what it drops. Pure: time comes in as an argument."""

    def __init__(
        self,
        me: str,
        peers: Iterable[str],
        key: bytes,
        max_bytes: int,
        max_skew_us: int = DEFAULT_MAX_SKEW_US,
    ) -> None:
        self.me = me
        self.peers = frozenset(peers) - {me}
        self._key = key
        self.max_bytes = max_bytes
        self.max_skew_us = max_skew_us
        self._seen: dict[str, _Seen] = {}
        self.accepted = 0
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)

    def seen(self) -> dict[str, tuple[str, int]]:
        """Per sender, the (boot, counter) of its last accepted message (for tests)."""
        return {name: (s.boot, s.counter) for name, s in sorted(self._seen.items())}

    def _drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def accept_body(self, body: bytes, now_us: int) -> PeerMessage | None:
        """A frame's body (``mac || payload``, length prefix removed) -> message or None."""
        if len(body) + LENGTH.size > self.max_bytes:
            self._drop("oversized")
            return None
        if len(body) <= MAC_BYTES:
            self._drop("truncated")
            return None
        mac, payload = body[:MAC_BYTES], body[MAC_BYTES:]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            self._drop("unauthenticated")
            return None
        try:
            message = _parse(payload)
        except (ValueError, KeyError, TypeError, RecursionError):
            self._drop("malformed")  # authenticated but not ours: a bug or a key reused
            return None
        if message.sender not in self.peers:
            self._drop("unknown-sender")
            return None
        if abs(message.sent_us - now_us) > self.max_skew_us:
            self._drop("clock-skew")
            return None
        start = _boot_start(message.boot)
        known = self._seen.get(message.sender)
        if known is not None:
            if message.boot == known.boot:
                if message.counter <= known.counter:
                    self._drop("replayed")
                    return None
            elif start <= known.boot_start:
                self._drop("stale-boot")
                return None
        self._seen[message.sender] = _Seen(message.boot, start, message.counter)
        self.accepted += 1
        return message


def _parse(payload: bytes) -> PeerMessage:
    raw = json.loads(payload.decode("utf-8"))
    if not isinstance(raw, dict) or set(raw) != _ENVELOPE_KEYS or raw["v"] != VERSION:
        raise ValueError("envelope")
    sender, boot, ctr, sent = raw["from"], raw["boot"], raw["ctr"], raw["sent_us"]
    if type(sender) is not str or not 0 < len(sender) <= 63:
        raise ValueError("from")
    if type(boot) is not str:
        raise ValueError("boot")
    _boot_start(boot)
    if type(ctr) is not int or not 0 < ctr < 1 << 62:
        raise ValueError("ctr")
    if type(sent) is not int or not 0 <= sent < 1 << 62:
        raise ValueError("sent_us")
    return PeerMessage(sender, boot, ctr, sent, PeerStatus.from_json(raw["body"]))


def split_frames(buffer: bytearray, max_bytes: int) -> tuple[list[bytes], bool]:
    """Take the complete frames' bodies off the front of ``buffer``.

    Returns (bodies, ok); ok is False when the next frame announces more than
    ``max_bytes``: the stream cannot be trusted to resynchronise, so the
    reader counts it as oversized and closes the connection.
    """
    out: list[bytes] = []
    while len(buffer) >= LENGTH.size:
        (n,) = LENGTH.unpack_from(buffer)
        if n + LENGTH.size > max_bytes:
            return out, False
        if len(buffer) < LENGTH.size + n:
            break
        out.append(bytes(buffer[LENGTH.size : LENGTH.size + n]))
        del buffer[: LENGTH.size + n]
    return out, True
