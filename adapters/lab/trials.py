"""Repeated lab trials of keepalived: fifo lines and the adverts on the wire, per trial.

A trial builds a fresh lab, starts a sniffer on its switch (``sniffer.py``: every
VRRP advert with the time it left the sender), launches the nodes in a given
order through one start gate, performs timed steps (kill, partition, heal, uncut)
and records every node's notify_fifo lines. Times are seconds after the gate
opened (CLOCK_MONOTONIC throughout). The trials feed two things: the timing
figures the simulator's keepalived model draws from (start-up latency, late
first timers, notify lag, the gap between unicast sends) and the outcome
distributions of the racy cases the model is compared with (``hacli.vrrp_trials``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapters.lab.lab import Lab, LabNodeSpec, proc_start_time, stop_pid
from adapters.lab.net import LabError

_HERE = Path(__file__).resolve().parent
SNIFF_MAX_S = 120  # the sniffer stops by itself after this long


@dataclass(frozen=True)
class WireAdvert:
    t: float
    src: str  # node name
    dst: str
    priority: int
    interval_cs: int


@dataclass(frozen=True)
class FifoLine:
    t: float
    node: str
    word: str  # BACKUP, MASTER, MASTER_RX_LOWER_PRI, ...
    priority: int


@dataclass(frozen=True)
class TrialStep:
    at: float  # seconds after the gate
    op: str  # kill, stop, partition, heal, uncut, start
    node: str = ""
    groups: tuple[tuple[str, ...], ...] = ()
    pair: tuple[str, str] = ("", "")  # uncut: the direction src -> dst


@dataclass(frozen=True)
class TrialSpec:
    name: str
    nodes: tuple[LabNodeSpec, ...]
    advert_int: str
    duration: float
    launch: tuple[str, ...]  # through the gate, in this order
    steps: tuple[TrialStep, ...] = ()


@dataclass
class TrialRecord:
    spec: str
    index: int
    ops: list[tuple[str, str, float]] = field(default_factory=list)  # (op, node, t)
    fifo: list[FifoLine] = field(default_factory=list)
    wire: list[WireAdvert] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TrialRecord:
        return cls(
            spec=raw["spec"],
            index=raw["index"],
            ops=[(str(a), str(b), float(c)) for a, b, c in raw["ops"]],
            fifo=[FifoLine(**x) for x in raw["fifo"]],
            wire=[WireAdvert(**x) for x in raw["wire"]],
        )


@contextmanager
def sniffing(lab: Lab) -> Iterator[Path]:
    """Run the sniffer in the lab's switch namespace; stopped by PID on exit."""
    out = lab.dir / "wire.jsonl"
    argv = [
        "ip", "netns", "exec", lab.state.switch_ns,
        sys.executable, "-I", "-S", str(_HERE / "sniffer.py"),
        str(out), lab.state.prefix, str(SNIFF_MAX_S),
    ]  # fmt: skip
    proc = subprocess.Popen(  # noqa: S603 - argv list
        argv,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = proc_start_time(proc.pid)
    try:
        time.sleep(0.2)  # the socket is open before anything is sent
        yield out
    finally:
        if proc_start_time(proc.pid) == started:  # still the process we started
            stop_pid(proc.pid, timeout=1.0)
        proc.wait(timeout=5)


def _node_of(lab: Lab, ip: str) -> str:
    for n in lab.state.nodes:
        if n.ip == ip:
            return n.name
    return ip


def run_trial(spec: TrialSpec, index: int, *, state_dir: str, name: str = "trial") -> TrialRecord:
    lab = Lab.up(
        spec.nodes, name=name, advert_int=spec.advert_int, state_dir=state_dir, start=False
    )
    rec = TrialRecord(spec.name, index)
    try:
        with sniffing(lab) as wire_path:
            t0 = lab.start_together(list(spec.launch))
            rec.ops += [("start", n, 0.0) for n in spec.launch]
            for st in sorted(spec.steps, key=lambda s: s.at):
                delay = t0 + st.at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                t = time.monotonic()
                if st.op == "kill":
                    t = lab.kill(st.node)
                elif st.op == "stop":
                    t = lab.stop(st.node)
                elif st.op == "start":
                    lab.start(st.node)
                elif st.op == "partition":
                    t = lab.partition([list(g) for g in st.groups])
                elif st.op == "heal":
                    t = lab.heal()
                elif st.op == "uncut":
                    t = lab.uncut(*st.pair)
                else:
                    raise LabError(f"trial {spec.name}: unknown op {st.op!r}")
                rec.ops.append((st.op, st.node or "->".join(st.pair), t - t0))
            delay = t0 + spec.duration - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for tr in lab.transitions():
                r = tr.record
                if r.type == "INSTANCE":
                    word = r.line.split(" ")[2]
                    rec.fifo.append(FifoLine(round(tr.t - t0, 6), tr.node, word, r.priority))
        if wire_path.exists():
            for raw in wire_path.read_text().splitlines():
                w = json.loads(raw)
                rec.wire.append(
                    WireAdvert(
                        round(float(w["t"]) - t0, 6),
                        _node_of(lab, w["src"]),
                        _node_of(lab, w["dst"]),
                        int(w["priority"]),
                        int(w["interval_cs"]),
                    )
                )
            wire_path.unlink()  # in the lab's directory, which `down` removes when empty
    finally:
        lab.down()
    return rec


def run_trials(
    spec: TrialSpec, count: int, *, state_dir: str, name: str = "trial"
) -> list[TrialRecord]:
    return [
        run_trial(spec, i, state_dir=f"{state_dir}/{i}", name=f"{name}-{i}") for i in range(count)
    ]


def save(records: Sequence[TrialRecord], path: Path) -> None:
    path.write_text(json.dumps([r.to_json() for r in records], indent=0) + "\n")


def load(path: Path) -> list[TrialRecord]:
    return [TrialRecord.from_json(x) for x in json.loads(path.read_text())]
