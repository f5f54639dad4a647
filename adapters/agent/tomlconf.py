"""TOML tables -> frozen attrs classes, with errors that name key, value and expectation.

One generic walker instead of a hand-written parser per section: each attrs
field's type says what the TOML value must be (``str``, ``int``, ``float``,
``bool``, an ``enum.StrEnum``, a nested attrs class, a tuple of them, or
``X | None``); its ``metadata["doc"]`` is the one-line description the
configuration reference in ``docs/agent-config.md`` is generated from
(:mod:`adapters.agent.config_doc`). Unknown keys are errors, because a typo
that silently keeps a default is the worst kind of configuration bug.
Validators on the classes raise :class:`ConfigValueError`; the walker adds
the dotted key.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, TypeVar

import attrs

T = TypeVar("T")


class ConfigValueError(ValueError):
    """One bad configuration value: ``key`` (dotted), ``value`` and what was expected."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        shown = "(missing)" if value is _MISSING else repr(value)
        super().__init__(f"{key}: expected {expected}, got {shown}")
        self.key = key
        self.value = value
        self.expected = expected


_MISSING = object()


def doc(text: str, **kw: Any) -> Any:
    """An attrs field with its reference-doc line."""
    metadata = {"doc": text}
    return attrs.field(metadata=metadata, **kw)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_type_name(a) for a in args) + " (optional)"
    if origin is tuple:
        return f"array of {_type_name(typing.get_args(tp)[0])}"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if isinstance(tp, type) and attrs.has(tp):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, str(tp)
    )


def type_name(tp: Any) -> str:
    """What a value of ``tp`` looks like in TOML (for errors and the reference)."""
    return _type_name(tp)


def _convert(key: str, value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"{key}: unsupported union {tp}")
        return _convert(key, value, args[0])
    if origin is tuple:
        (item,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if not isinstance(value, list):
            raise ConfigValueError(key, value, _type_name(tp))
        return tuple(_convert(f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if isinstance(tp, type) and attrs.has(tp):
        if not isinstance(value, dict):
            raise ConfigValueError(key, value, "a table")
        return build(tp, value, key)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ConfigValueError(key, value, _type_name(tp)) from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigValueError(key, value, "true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigValueError(key, value, "an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigValueError(key, value, "a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigValueError(key, value, "a string")
        return value
    raise TypeError(f"{key}: unsupported field type {tp}")


def build(cls: type[T], table: dict[str, Any], prefix: str = "") -> T:
    """Build ``cls`` from a TOML table; every error names the dotted key."""
    hints = typing.get_type_hints(cls)
    fields = attrs.fields_dict(cls)  # type: ignore[arg-type]
    where = prefix or "the top level"
    for unknown in sorted(set(table) - set(fields)):
        key = f"{prefix}.{unknown}" if prefix else unknown
        known = ", ".join(sorted(fields))
        raise ConfigValueError(key, table[unknown], f"no such key in {where} (known: {known})")
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in table:
            if field.default is attrs.NOTHING:
                raise ConfigValueError(key, _MISSING, _type_name(hints[name]))
            continue
        kwargs[name] = _convert(key, table[name], hints[name])
    try:
        return cls(**kwargs)
    except ConfigValueError as exc:
        if prefix and not exc.key.startswith(prefix + "."):
            raise ConfigValueError(f"{prefix}.{exc.key}", exc.value, exc.expected) from None
        raise
