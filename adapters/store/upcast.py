"""Event upcasting: decode records written by older versions of the core.

A record keeps the exact bytes it was written with (its hash covers them), so
old versions stay in the file forever. Decoding goes through a registry of
upcasters ``(type, from_version) -> fn(payload) -> (new_version, payload)``,
applied one step at a time until the payload reaches the version the codec
decodes today. Upcasters are pure functions of the payload; they never touch
the stored record, only what is handed to ``evolve`` and ``decide``.

Registered here (the real history of the core's types):

* ``peer-heard`` v1 -> v2: v2 added ``changes`` (writes the peer committed
  since it last heard from us, for the zero-changes split-brain policy). A v1
  peer could not report it; 0 is what the v1 core assumed.
* ``peer-heard`` v2 -> v3: v3 added ``judging`` (the peer's facts are frozen
  for a split-brain judgment). A v2 peer never froze them: False.
* ``peer-heard`` v3 -> v4: v4 added ``follows`` (the node the peer backs as
  active, its safety-first vote). A v3 peer did not say: "" (nobody), which
  is how a v3 core counted every reachable peer.
* ``step-succeeded`` v1 -> v2: v2 added ``detail`` (what the port said it did,
  e.g. a restore's replica position). A v1 runtime recorded nothing: "".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from adapters.store.errors import UpcastError
from hacore import codec
from hacore.log import LogRecord

Payload = dict[str, Any]
Upcaster = Callable[[Payload], tuple[int, Payload]]

_MAX_STEPS = 64  # a cycle in the registry must not hang decoding


class UpcasterRegistry:
    def __init__(self) -> None:
        self._fns: dict[tuple[str, int], Upcaster] = {}

    def register(self, type_name: str, from_version: int, fn: Upcaster) -> None:
        key = (type_name, from_version)
        if key in self._fns:
            raise ValueError(f"upcaster for {type_name} v{from_version} registered twice")
        self._fns[key] = fn

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of :meth:`register`."""

        def wrap(fn: Upcaster) -> Upcaster:
            self.register(type_name, from_version, fn)
            return fn

        return wrap

    def copy(self) -> UpcasterRegistry:
        other = UpcasterRegistry()
        other._fns = dict(self._fns)
        return other

    def upcast(self, type_name: str, version: int, payload: Payload) -> tuple[int, Payload]:
        """Bring ``payload`` to the codec's current version of ``type_name``."""
        cls = codec.registered_types().get(type_name)
        if cls is None:
            raise UpcastError(f"unknown message type {type_name!r}")
        steps = 0
        while version != cls.VERSION:
            fn = self._fns.get((type_name, version))
            if fn is None:
                raise UpcastError(
                    f"{type_name}: no upcaster from version {version} (current {cls.VERSION})"
                )
            new_version, payload = fn(dict(payload))
            if new_version <= version:
                raise UpcastError(f"{type_name}: upcaster from v{version} went to v{new_version}")
            version = new_version
            steps += 1
            if steps > _MAX_STEPS:
                raise UpcastError(f"{type_name}: upcaster chain too long")
        return version, payload

    def decode(self, type_name: str, version: int, payload_json: str) -> codec.Message:
        try:
            payload = codec.parse_json(payload_json)
        except codec.JsonError as exc:
            raise codec.DecodeError(f"{type_name}: payload is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise codec.DecodeError(f"{type_name}: payload must be an object")
        if version != _current_version(type_name):
            version, payload = self.upcast(type_name, version, payload)
        return codec.decode_payload(type_name, version, payload)

    def decode_record(self, record: LogRecord) -> codec.Message:
        return self.decode(record.type, record.v, record.payload)

    def upcast_record(self, record: LogRecord) -> LogRecord:
        """The record with its payload at the current version, for replay/re-decide.

        Its ``hash`` and ``prev_hash`` stay those of the stored bytes, so an
        upcast record no longer verifies: verify first, upcast after.
        """
        if record.v == _current_version(record.type):
            return record
        try:
            payload = codec.parse_json(record.payload)
        except codec.JsonError as exc:
            raise codec.DecodeError(f"record {record.seq}: payload is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise codec.DecodeError(f"record {record.seq}: payload must be an object")
        version, payload = self.upcast(record.type, record.v, payload)
        return dataclasses.replace(record, v=version, payload=codec.canonical_json(payload))


_VERSIONS: dict[str, int] = {}


def _current_version(type_name: str) -> int:
    v = _VERSIONS.get(type_name)
    if v is None:
        cls = codec.registered_types().get(type_name)
        if cls is None:
            return -1  # unknown types fail in decode_payload / upcast with a clear error
        v = _VERSIONS[type_name] = cls.VERSION
    return v


DEFAULT_UPCASTERS = UpcasterRegistry()


@DEFAULT_UPCASTERS.upcaster("step-succeeded", 1)
def _step_succeeded_v1(payload: Payload) -> tuple[int, Payload]:
    if "detail" in payload:
        raise UpcastError("step-succeeded v1: unexpected field 'detail' (that is v2)")
    payload["detail"] = ""  # a v1 runtime did not record what the port said
    return 2, payload


@DEFAULT_UPCASTERS.upcaster("peer-heard", 1)
def _peer_heard_v1(payload: Payload) -> tuple[int, Payload]:
    if "changes" in payload:
        raise UpcastError("peer-heard v1: unexpected field 'changes' (that is v2)")
    payload["changes"] = 0
    return 2, payload


@DEFAULT_UPCASTERS.upcaster("peer-heard", 2)
def _peer_heard_v2(payload: Payload) -> tuple[int, Payload]:
    if "judging" in payload:
        raise UpcastError("peer-heard v2: unexpected field 'judging' (that is v3)")
    payload["judging"] = False
    return 3, payload


@DEFAULT_UPCASTERS.upcaster("peer-heard", 3)
def _peer_heard_v3(payload: Payload) -> tuple[int, Payload]:
    if "follows" in payload:
        raise UpcastError("peer-heard v3: unexpected field 'follows' (that is v4)")
    payload["follows"] = ""
    return 4, payload
