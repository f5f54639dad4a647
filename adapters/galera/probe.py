"""The probe: ``SHOW STATUS LIKE 'wsrep_%'`` into an observation the core can take.

A timeout, a refused connection, refused credentials or an unparsable answer
is an *uncertain* observation: the node may well be alive and Primary behind
it, so it is never reported as "absent" or "not a member". Only a status the
server actually returned is certain. The core learns the local committed seqno
(:class:`hacore.inputs.LocalProgress`) only from a certain observation.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.galera.credentials import Credentials
from adapters.galera.sql import Endpoint, SqlUnavailable, Unavailable, query
from adapters.galera.state_files import UUID_RE
from hacore.inputs import LocalProgress

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class WsrepStatus:
    cluster_size: int
    cluster_status: str  # Primary, non-Primary, Disconnected
    ready: bool
    connected: bool
    local_state_comment: str  # Synced, Donor/Desynced, Joining, Joined, Initialized...
    last_committed: int
    cluster_state_uuid: str

    @property
    def primary(self) -> bool:
        return self.cluster_status == "Primary"

    @property
    def member(self) -> bool:
        """What the status verdict calls a member: ready and in the Primary component."""
        return self.ready and self.primary

    @property
    def synced(self) -> bool:
        return self.member and self.local_state_comment == "Synced"


@dataclass(frozen=True, slots=True)
class Observation:
    status: WsrepStatus | None  # None: uncertain
    uncertain: Unavailable | None = None
    detail: str = ""

    @property
    def certain(self) -> bool:
        return self.status is not None

    def progress(self, at: int) -> LocalProgress | None:
        """The core input, or None when nothing certain was seen (no input beats a guess)."""
        if self.status is None or self.status.last_committed < 0:
            return None
        return LocalProgress(at=at, committed=self.status.last_committed)

    def describe(self) -> str:
        if self.status is None:
            return f"uncertain ({self.uncertain}: {self.detail})"
        s = self.status
        return (
            f"{s.cluster_status}, {s.local_state_comment}, size {s.cluster_size}, "
            f"ready {'ON' if s.ready else 'OFF'}, committed {s.last_committed}"
        )


class BadStatus(ValueError):
    pass


def _onoff(values: dict[str, str], key: str) -> bool:
    v = values[key]
    if v not in ("ON", "OFF"):
        raise BadStatus(f"{key}={v!r} is not ON or OFF")
    return v == "ON"


def _int(values: dict[str, str], key: str) -> int:
    v = values[key]
    try:
        return int(v)
    except ValueError:
        raise BadStatus(f"{key}={v!r} is not an integer") from None


def parse_status(rows: list[tuple[object, ...]]) -> WsrepStatus:
    """Strict: every field the core relies on must be present and well formed."""
    values: dict[str, str] = {}
    for row in rows:
        if len(row) != 2:
            raise BadStatus(f"status row {row!r} is not (name, value)")
        name, value = row
        values[str(name).lower()] = "" if value is None else str(value)
    needed = (
        "wsrep_cluster_size", "wsrep_cluster_status", "wsrep_ready", "wsrep_connected",
        "wsrep_local_state_comment", "wsrep_last_committed", "wsrep_cluster_state_uuid",
    )  # fmt: skip
    missing = [k for k in needed if k not in values]
    if missing:
        raise BadStatus(f"missing {', '.join(missing)} (is wsrep on?)")
    uuid = values["wsrep_cluster_state_uuid"]
    if uuid and not UUID_RE.match(uuid):
        raise BadStatus(f"wsrep_cluster_state_uuid={uuid!r} is not a UUID")
    return WsrepStatus(
        cluster_size=_int(values, "wsrep_cluster_size"),
        cluster_status=values["wsrep_cluster_status"],
        ready=_onoff(values, "wsrep_ready"),
        connected=_onoff(values, "wsrep_connected"),
        local_state_comment=values["wsrep_local_state_comment"],
        last_committed=_int(values, "wsrep_last_committed"),
        cluster_state_uuid=uuid,
    )


def probe(endpoint: Endpoint, creds: Credentials, timeout: float = PROBE_TIMEOUT_S) -> Observation:
    try:
        rows = query(endpoint, creds, "SHOW STATUS LIKE 'wsrep_%'", timeout)
    except SqlUnavailable as exc:
        return Observation(None, exc.kind, exc.detail)
    try:
        return Observation(parse_status(rows))
    except BadStatus as exc:
        return Observation(None, Unavailable.ERROR, f"unusable status: {exc}")
