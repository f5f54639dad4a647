"""The configuration reference (``docs/agent-config.md``), generated from the attrs classes.

``scripts/gen_agent_config_doc.py`` writes it; ``tests/test_agent_config.py``
fails when the file differs from :func:`render_reference`, so the reference
cannot drift from the code.
"""

from __future__ import annotations

import enum
import inspect
import typing
from typing import Any

import attrs

from adapters.agent.config import AgentConfig
from adapters.agent.tomlconf import type_name

HEADER = """# `hacore agent` configuration reference

Generated from `adapters/agent/config.py` by `scripts/gen_agent_config_doc.py`;
do not edit (a test fails when this file is stale). Check a file with
`hacore config check FILE`; unknown keys are errors, and every error names the
key, the value and what was expected. Secrets are never in this file: it names
files holding them, which must be owned by the agent's user and mode 0600.
"""


def _default(field: attrs.Attribute[Any]) -> str:
    d = field.default
    if d is attrs.NOTHING:
        return "required"
    if isinstance(d, attrs.Factory):  # type: ignore[arg-type]
        return "(table)"
    if d is None:
        return "unset"
    if isinstance(d, bool):
        return "`true`" if d else "`false`"
    if isinstance(d, enum.Enum):
        return f'`"{d.value}"`'
    if isinstance(d, str):
        return f'`"{d}"`'
    return f"`{d!r}`"


def _sections(cls: type, prefix: str) -> list[tuple[str, type]]:
    out = [(prefix, cls)]
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        tp = hints[field.name]
        if typing.get_origin(tp) is tuple:
            tp = typing.get_args(tp)[0]
            name = f"[[{prefix + '.' if prefix else ''}{field.name}]]"
        else:
            name = f"[{prefix + '.' if prefix else ''}{field.name}]"
        if isinstance(tp, type) and attrs.has(tp):
            inner = name.strip("[]")
            out += [(name if p == inner else p, c) for p, c in _sections(tp, inner)]
    return out


def render_reference() -> str:
    parts = [HEADER]
    for title, cls in _sections(AgentConfig, ""):
        hints = typing.get_type_hints(cls)
        heading = title or "top level"
        parts.append(f"\n## {heading}\n\n{inspect.getdoc(cls)}\n")
        rows = []
        for field in attrs.fields(cls):
            tp = hints[field.name]
            inner = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else tp
            if isinstance(inner, type) and attrs.has(inner):
                continue  # a section of its own
            text = field.metadata.get("doc", "")
            rows.append(f"| `{field.name}` | {type_name(tp)} | {_default(field)} | {text} |")
        if rows:
            parts.append("| key | type | default | meaning |\n| --- | --- | --- | --- |")
            parts.append("\n".join(rows))
    return "\n".join(parts) + "\n"
