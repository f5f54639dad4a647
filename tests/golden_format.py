"""The golden files' text format: one input per line, what it must produce below.

In the style of etcd raft's datadriven files, a scenario reads top to bottom::

    # reference-failover
    # The reference system: active a crashes; ...
    config mode=availability-first policy=vrrp-winner witness=null
    node a address=10.0.0.1 priority=150
    node b address=10.0.0.2 priority=140
    services k3s=true galera=true gluster=true litestream=true
    timing step_timeout_us=30000000 max_attempts=3 ...
    me b

    peer-heard.v4 at=2000 peer=a role=active epoch=1 committed=100 ...
    ----
    role standby
    event peer-observed at=2000 peer=a role=active ...
    effect probe-vrrp key=b/probe-1000

A block is an input (its codec type, ``.vN`` when its version is not 1, then
its fields) or ``restart keep_records=N`` (the process crashed; a new one
replays the log cut to N records), a ``----`` line, then the role the node is
in afterwards, one ``event`` line per event and one ``effect`` line per effect
in order (a restart: the role and ``plan_at``). A value is written bare when it
reads back as the same string (``BACKUP``, ``b/probe-1000``), as JSON
otherwise (``""``, ``"100"``, ``["a","b"]``, ``true``, ``null``, numbers).
"""

from __future__ import annotations

import json
import re
from typing import Any

_BARE = re.compile(r"[A-Za-z0-9_.:/#@+-]+")
_DECODER = json.JSONDecoder()
SEPARATOR = "----"


class GoldenFormatError(ValueError):
    """A golden file line that is not in the format (the message names the line)."""


def value_text(value: Any) -> str:
    if isinstance(value, str) and _BARE.fullmatch(value):
        try:
            json.loads(value)
        except ValueError:
            return value  # not JSON by itself: reads back as this string
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fields_text(fields: dict[str, Any]) -> str:
    return " ".join(f"{key}={value_text(value)}" for key, value in fields.items())


def parse_fields(text: str, where: str) -> dict[str, Any]:
    """``key=value key=value ...`` back into a dict (order kept)."""
    out: dict[str, Any] = {}
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] == " ":
            pos += 1
            continue
        eq = text.find("=", pos)
        if eq < 0:
            raise GoldenFormatError(f"{where}: expected key=value at {text[pos:]!r}")
        key = text[pos:eq]
        pos = eq + 1
        if pos < end and text[pos] in '"[{':
            try:
                value, pos = _DECODER.raw_decode(text, pos)
            except ValueError as exc:
                raise GoldenFormatError(f"{where}: bad JSON value for {key}: {exc}") from None
        else:
            stop = text.find(" ", pos)
            stop = end if stop < 0 else stop
            word = text[pos:stop]
            pos = stop
            try:
                value = json.loads(word)
            except ValueError:
                value = word
        out[key] = value
    return out


def message_text(message: dict[str, Any]) -> str:
    """A codec JSON form (``type``, ``v``, ``payload``) on one line."""
    head = message["type"] if message["v"] == 1 else f"{message['type']}.v{message['v']}"
    payload = fields_text(message["payload"])
    return f"{head} {payload}" if payload else head


def parse_message(text: str, where: str) -> dict[str, Any]:
    head, _, rest = text.partition(" ")
    kind, dot, version = head.partition(".v")
    if dot and not version.isdigit():
        raise GoldenFormatError(f"{where}: bad version in {head!r}")
    return {"type": kind, "v": int(version) if dot else 1, "payload": parse_fields(rest, where)}


def render(doc: dict[str, Any]) -> str:
    """A golden document (name, description, config, node, steps) as text."""
    config = doc["config"]
    lines = [f"# {doc['name']}", f"# {doc['description']}"]
    lines.append("config " + fields_text({k: config[k] for k in ("mode", "policy", "witness")}))
    for node in config["nodes"]:
        rest = {k: v for k, v in node.items() if k != "name"}
        lines.append(f"node {node['name']} {fields_text(rest)}")
    lines.append(f"services {fields_text(config['services'])}")
    lines.append(f"timing {fields_text(config['timing'])}")
    lines.append(f"me {doc['node']}")
    for step in doc["steps"]:
        lines.append("")
        if "restart" in step:
            lines += [f"restart {fields_text(step['restart'])}", SEPARATOR]
            lines += [f"role {step['role']}", f"plan_at {value_text(step['plan_at'])}"]
            continue
        lines += [message_text(step["input"]), SEPARATOR, f"role {step['role']}"]
        lines += [f"event {message_text(e)}" for e in step["events"]]
        lines += [f"effect {message_text(e)}" for e in step["effects"]]
    return "\n".join(lines) + "\n"


def parse(text: str, where: str = "golden") -> dict[str, Any]:
    """The text back into the document :func:`render` wrote."""
    blocks = text.rstrip("\n").split("\n\n")
    header = blocks[0].split("\n")
    if len(header) < 7 or not header[0].startswith("# ") or not header[1].startswith("# "):
        raise GoldenFormatError(f"{where}: the header must open with '# name' and '# description'")
    config: dict[str, Any] = {"nodes": []}
    doc: dict[str, Any] = {"name": header[0][2:], "description": header[1][2:]}
    for number, line in enumerate(header[2:], start=3):
        at = f"{where}:{number}"
        word, _, rest = line.partition(" ")
        if word == "config":
            config.update(parse_fields(rest, at))
        elif word == "node":
            name, _, fields = rest.partition(" ")
            config["nodes"].append({"name": name, **parse_fields(fields, at)})
        elif word in ("services", "timing"):
            config[word] = parse_fields(rest, at)
        elif word == "me":
            doc["node"] = rest
        else:
            raise GoldenFormatError(f"{at}: unknown header line {line!r}")
    doc["config"] = {
        k: config[k] for k in ("nodes", "mode", "policy", "witness", "services", "timing")
    }
    doc["steps"] = [_parse_step(block, f"{where} block {n}") for n, block in enumerate(blocks[1:])]
    return doc


def _parse_step(block: str, where: str) -> dict[str, Any]:
    lines = block.split("\n")
    if len(lines) < 3 or lines[1] != SEPARATOR or not lines[2].startswith("role "):
        raise GoldenFormatError(f"{where}: expected an input, '{SEPARATOR}', 'role ...'")
    role = lines[2][len("role ") :]
    if lines[0].startswith("restart "):
        if len(lines) != 4 or not lines[3].startswith("plan_at "):
            raise GoldenFormatError(f"{where}: a restart ends with 'plan_at ...'")
        plan_at = parse_fields("v=" + lines[3][len("plan_at ") :], where)["v"]
        restart = parse_fields(lines[0][len("restart ") :], where)
        return {"restart": restart, "role": role, "plan_at": plan_at}
    events: list[dict[str, Any]] = []
    effects: list[dict[str, Any]] = []
    for line in lines[3:]:
        word, _, rest = line.partition(" ")
        if word == "event":
            events.append(parse_message(rest, where))
        elif word == "effect":
            effects.append(parse_message(rest, where))
        else:
            raise GoldenFormatError(f"{where}: expected 'event ...' or 'effect ...', got {line!r}")
    step = {"input": parse_message(lines[0], where), "role": role}
    return {**step, "events": events, "effects": effects}
