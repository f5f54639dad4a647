"""The core's one code generator: the fast paths that write Python source.

Why generate code at all: a replay is a fold of ``evolve`` over tens of
thousands of events, and ``dataclasses.replace`` (field introspection, a kwargs
dict, the frozen ``__init__`` with one ``object.__setattr__`` per field) was
most of its cost; the same holds for the VRRP model's router copies, for the
log's record construction, and for the codec's per-class encoders and
decoders. A function written for one class, with each slot's bound
``__set__`` looked up once, builds the same value several times faster.

Rules, so that the speed never changes a result:

* Everything is generated here, through :func:`compile_function`, the only
  ``exec`` of the package; its source stays readable
  (:func:`generated_source`).
* A generated copy is only built for a frozen, slotted dataclass without
  ``__post_init__`` (no validation is skipped); anything else is refused when
  the module is imported.
* Each fast path has a plain twin that stays the definition
  (``dataclasses.replace``, the class's own ``__init__``, the codec's generic
  functions), and a property test holds the two equal on random values
  (tests/test_codegen.py, tests/test_codec_compiled.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")
_SOURCES: dict[str, str] = {}


def compile_function(key: str, name: str, lines: list[str], scope: dict[str, Any]) -> Any:
    """Compile the function ``name`` defined by ``lines`` in ``scope`` (kept as ``key``)."""
    source = "\n".join(lines)
    _SOURCES[key] = source
    exec(compile(source, f"<hacore.codegen {key}>", "exec"), scope)  # our own generated source
    return scope[name]


def generated_source(key: str) -> str:
    """The source :func:`compile_function` compiled under ``key``."""
    return _SOURCES[key]


def _slots_of(cls: type[Any]) -> tuple[str, ...]:
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: only frozen, slotted dataclasses get generated copies")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} validates in __post_init__: use its constructor")
    return tuple(f.name for f in dataclasses.fields(cls))


def _scope(cls: type[Any], names: tuple[str, ...]) -> dict[str, Any]:
    scope: dict[str, Any] = {"NEW": object.__new__, "CLS": cls}
    # Each slot's bound __set__, looked up once here rather than per call.
    scope.update({f"S{i}": cls.__dict__[n].__set__ for i, n in enumerate(names)})
    return scope


def slot_copier(cls: type[_T], *changed: str) -> Callable[..., _T]:
    """``copier(obj, *values)`` == ``dataclasses.replace(obj, **dict(zip(changed, values)))``."""
    names = _slots_of(cls)
    unknown = set(changed) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
    lines = [f"def copier(obj, {', '.join(changed)}):", "    new = NEW(CLS)"]
    lines += [
        f"    S{i}(new, {name if name in changed else 'obj.' + name})"
        for i, name in enumerate(names)
    ]
    lines.append("    return new")
    key = f"{cls.__qualname__}.copy({', '.join(changed)})"
    fn: Callable[..., _T] = compile_function(key, "copier", lines, _scope(cls, names))
    return fn


def slot_replacer(cls: type[_T]) -> Callable[..., _T]:
    """``replacer(obj, **changes)`` == ``dataclasses.replace(obj, **changes)``."""
    names = _slots_of(cls)
    lines = [
        "def replacer(obj, **changes):",
        "    if not changes.keys() <= NAMES:",
        "        raise TypeError(f'unknown fields {sorted(changes.keys() - NAMES)}')",
        "    new = NEW(CLS)",
    ]
    lines += [
        f"    S{i}(new, changes[{n!r}] if {n!r} in changes else obj.{n})"
        for i, n in enumerate(names)
    ]
    lines.append("    return new")
    scope = _scope(cls, names)
    scope["NAMES"] = frozenset(names)
    fn: Callable[..., _T] = compile_function(
        f"{cls.__qualname__}.replace", "replacer", lines, scope
    )
    return fn


def slot_constructor(cls: type[_T]) -> Callable[..., _T]:
    """``constructor(*values)`` == ``cls(*values)``, every field given, in order."""
    names = _slots_of(cls)
    lines = [f"def constructor({', '.join(names)}):", "    new = NEW(CLS)"]
    lines += [f"    S{i}(new, {name})" for i, name in enumerate(names)]
    lines.append("    return new")
    fn: Callable[..., _T] = compile_function(
        f"{cls.__qualname__}.new", "constructor", lines, _scope(cls, names)
    )
    return fn
