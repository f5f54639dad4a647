"""Value classes with a stable JSON form, and their strict decoder.

Rules
-----
* Every input, event and effect is a frozen, slotted dataclass registered under
  a unique ``TYPE`` name with a ``VERSION`` number.
* Its JSON form is ``{"type": TYPE, "v": VERSION, "payload": {field: value}}``;
  canonical bytes are ``json.dumps(..., sort_keys=True, separators=(",", ":"))``
  so that hashes over records are stable across processes and versions.
* Field types are deliberately few: ``int``, ``float``, ``str``, ``bool``,
  ``StrEnum`` subclasses, ``X | None`` and ``tuple[X, ...]`` of those. Anything
  richer would make the JSON form ambiguous.
* Decoding never guesses: an unknown type or version, a missing, extra or
  ill-typed field raises :class:`DecodeError` naming what is wrong. A ``bool``
  is not an ``int`` here (JSON's ``true`` must not become epoch 1).
* Integers are bounded: every ``int`` field is a time, an epoch, a position,
  an id or a count, so it is ``0 <= value < 2**63`` (SQLite stores signed
  64-bit integers; nothing of ours is negative), a priority ``0..255``, and a
  Galera seqno may be ``-1`` (Galera's "unknown"). See :func:`int_bounds`.
* JSON text from outside (:func:`parse_json`, :func:`loads`) fails with
  :class:`JsonError`, a :class:`DecodeError`, whatever is wrong with it:
  bad syntax, an integer beyond Python's digit limit, nesting too deep for
  the parser.
* Upcasting (decoding an older version into the current class) is the store's
  job: it gets the raw ``(type, v, payload)`` first. This module only decodes
  the current version of each type.

Speed
-----
Every record of a log is encoded once (hashed into the chain) and decoded on
every replay, so both directions are compiled per class at registration
(through :mod:`hacore.codegen`, the core's one code generator):
:func:`_compile_payload_json` writes the canonical JSON straight from the fields, and
:func:`_compile_decoder` checks each field's JSON type inline (a dict lookup
for enum fields instead of an ``Enum()`` call). Both only take the common,
well-typed path; anything else (a wrong type, a missing or extra field, a
float, an optional or tuple field whose value is unusual) goes through the
generic code below, so results and error messages are those of the generic
code by construction. A test compares the two on random values.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from hacore import codegen


class DecodeError(ValueError):
    """A JSON form that is not a valid value of any registered type."""


class JsonError(DecodeError):
    """Text that is not one JSON value we can take (syntax, size or depth)."""


INT64_MAX = 2**63 - 1
_INT_FIELD_BOUNDS: dict[str, tuple[int, int]] = {
    "priority": (0, 255),  # VRRP priorities; 0 is "the master resigns"
    "committed": (-1, INT64_MAX),  # a Galera seqno; -1 is Galera's "unknown"
}


def int_bounds(field_name: str) -> tuple[int, int]:
    """The inclusive range an ``int`` field of this name accepts."""
    return _INT_FIELD_BOUNDS.get(field_name, (0, INT64_MAX))


class Message:
    """Base of every registered value class (inputs, events, effects)."""

    __slots__ = ()
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


M = TypeVar("M", bound=Message)

_REGISTRY: dict[str, type[Message]] = {}
# Per class: (field name, decoder) pairs, computed once at registration.
_FIELD_DECODERS: dict[type[Message], tuple[tuple[str, Callable[[Any, str], Any]], ...]] = {}


def register(cls: type[M]) -> type[M]:
    """Class decorator: make ``cls`` encodable and decodable under ``cls.TYPE``."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass")
    name = cls.TYPE
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise TypeError(f"message type {name!r} registered twice")
    _REGISTRY[name] = cls
    hints = typing.get_type_hints(cls)
    _FIELD_DECODERS[cls] = tuple(
        (f.name, _decoder_for(hints[f.name], f.name)) for f in dataclasses.fields(cls)
    )
    _PAYLOAD_JSON[cls] = _compile_payload_json(cls, hints)
    _FAST_DECODERS[name] = _compile_decoder(cls, hints)
    return cls


def registered_types() -> Mapping[str, type[Message]]:
    return dict(sorted(_REGISTRY.items()))


def _encode_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def encode(message: Message) -> dict[str, Any]:
    """The JSON-ready form of a registered value."""
    payload = {
        name: _encode_value(getattr(message, name)) for name, _ in _FIELD_DECODERS[type(message)]
    }
    return {"type": message.TYPE, "v": message.VERSION, "payload": payload}


def payload_of(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, _ in _FIELD_DECODERS[type(message)]:
        value = getattr(message, name)
        # StrEnum members are str, which JSON encodes as their value already.
        out[name] = _encode_value(value) if type(value) is tuple else value
    return out


# One encoder, built once: json.dumps with non-default arguments builds a new
# encoder on every call, which was a third of the cost of hashing a record.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def payload_json(message: Message) -> str:
    """``canonical_json(payload_of(message))``, the bytes a log record hashes; compiled."""
    return _PAYLOAD_JSON[type(message)](message)


def payload_encoder(cls: type[Message]) -> Callable[[Any], str]:
    """The compiled :func:`payload_json` of one registered class."""
    return _PAYLOAD_JSON[cls]


def dumps(message: Message) -> str:
    return canonical_json(encode(message))


def decode(data: Any) -> Message:
    """Decode ``{"type", "v", "payload"}`` into the registered value class."""
    if not isinstance(data, dict):
        raise DecodeError(f"expected an object with type, v, payload; got {type(data).__name__}")
    extra = set(data) - {"type", "v", "payload"}
    if extra:
        raise DecodeError(f"unexpected top-level keys: {sorted(extra)}")
    type_name = data.get("type")
    if not isinstance(type_name, str):
        raise DecodeError("missing or non-string 'type'")
    version = data.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DecodeError(f"{type_name}: missing or non-integer 'v'")
    return decode_payload(type_name, version, data.get("payload"))


def decode_payload(type_name: str, version: int, payload: Any) -> Message:
    fast = _FAST_DECODERS.get(type_name)
    if fast is None:
        return _decode_payload_checked(type_name, version, payload)
    return fast(version, payload)  # falls back to the checked decoder itself


def _decode_payload_checked(type_name: str, version: int, payload: Any) -> Message:
    """The generic decoder: every check, every error message."""
    cls = _REGISTRY.get(type_name)
    if cls is None:
        raise DecodeError(f"unknown message type {type_name!r}")
    if version != cls.VERSION:
        raise DecodeError(f"{type_name}: unsupported version {version} (current {cls.VERSION})")
    if not isinstance(payload, dict):
        raise DecodeError(f"{type_name}: payload must be an object")
    decoders = _FIELD_DECODERS[cls]
    if len(payload) != len(decoders):
        known = {name for name, _ in decoders}
        extra = set(payload) - known
        if extra:
            raise DecodeError(f"{type_name}: unknown field(s) {sorted(extra)}")
    kwargs: dict[str, Any] = {}
    for name, decoder in decoders:
        try:
            value = payload[name]
        except KeyError:
            raise DecodeError(f"{type_name}: missing field {name!r}") from None
        # Fast path for the common scalar fields; the decoder names the field
        # only when the value is wrong.
        expected = _SCALAR_TYPES.get(decoder)
        if expected is not None and type(value) is expected:
            kwargs[name] = value
        else:
            kwargs[name] = decoder(value, f"{type_name}.{name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # a validator in __post_init__
        raise DecodeError(f"{type_name}: {exc}") from exc


# The decoder json.loads runs, called without json.loads's wrapper: replay
# parses one small object per record and the wrapper (a regex for leading and
# trailing whitespace, a BOM check) was a third of it. ``raw_decode`` is the
# decoder's public entry for a value at an offset.
_DECODER = json.JSONDecoder()


def parse_json(text: str) -> Any:
    """``json.loads(text)``, faster for the canonical text a log stores; errors typed.

    Anything but a single value that fills the whole string (whitespace, a
    BOM, trailing bytes, an error) is handed to ``json.loads`` itself, so the
    result is always exactly ``json.loads``'s; every way that fails (syntax,
    an integer of more digits than ``int`` takes, nesting deeper than the
    parser's stack, not text at all) is a :class:`JsonError`.
    """
    if type(text) is str:
        try:
            value, end = _DECODER.raw_decode(text, 0)
        except (ValueError, RecursionError):
            pass
        else:
            if end == len(text):
                return value
    try:
        return json.loads(text)
    except RecursionError:
        raise JsonError("not JSON we take: nested too deeply") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, int digit limit, not text
        raise JsonError(f"not JSON: {exc}") from None


def loads(text: str) -> Message:
    return decode(parse_json(text))


# -- field decoders ---------------------------------------------------------


def _decoder_for(hint: Any, field_name: str) -> Callable[[Any, str], Any]:
    origin = typing.get_origin(hint)
    if hint is bool:
        return _decode_bool
    if hint is int:
        return _int_decoder(*int_bounds(field_name))
    if hint is float:
        return _decode_float
    if hint is str:
        return _decode_str
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if not issubclass(hint, str):  # payload_of relies on members being str
            raise TypeError(f"enum field type {hint.__name__} must be a StrEnum")
        return _enum_decoder(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union field type {hint!r}")
        inner = _decoder_for(args[0], field_name)

        def decode_optional(value: Any, where: str) -> Any:
            return None if value is None else inner(value, where)

        return decode_optional
    if origin is tuple:
        targs = typing.get_args(hint)
        if len(targs) == 2 and targs[1] is Ellipsis:
            item = _decoder_for(targs[0], field_name)

            def decode_tuple(value: Any, where: str) -> Any:
                if not isinstance(value, list):
                    raise DecodeError(f"{where}: expected a list, got {type(value).__name__}")
                return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))

            return decode_tuple
    raise TypeError(f"unsupported field type {hint!r}")


def _decode_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DecodeError(f"{where}: expected a boolean, got {type(value).__name__}")
    return value


_INT_DECODERS: dict[tuple[int, int], Callable[[Any, str], int]] = {}


def _int_decoder(lo: int, hi: int) -> Callable[[Any, str], int]:
    """One decoder per range (shared), so the compiled code can name it."""
    cached = _INT_DECODERS.get((lo, hi))
    if cached is not None:
        return cached

    def decode_int(value: Any, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise DecodeError(f"{where}: expected an integer, got {type(value).__name__}")
        if not lo <= value <= hi:
            raise DecodeError(f"{where}: {value} outside {lo}..{hi}")
        return value

    _INT_DECODERS[(lo, hi)] = decode_int
    return decode_int


def _decode_float(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise DecodeError(f"{where}: expected a number, got {type(value).__name__}")
    return float(value)


def _decode_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"{where}: expected a string, got {type(value).__name__}")
    return value


# Decoders whose accepted values are exactly one JSON type (bool is not int).
_SCALAR_TYPES: dict[Callable[[Any, str], Any], type] = {
    _decode_bool: bool,
    _decode_str: str,
    _decode_float: float,
}


def _enum_decoder(enum_cls: type[enum.Enum]) -> Callable[[Any, str], Any]:
    def decode_enum(value: Any, where: str) -> Any:
        try:
            return enum_cls(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in enum_cls)
            raise DecodeError(f"{where}: {value!r} is not one of {allowed}") from None

    return decode_enum


# -- compiled encoders and decoders ------------------------------------------
#
# Generated from each class's own fields, once, at registration. The generated
# source is small and flat; ``_generated_source`` returns it for reading.

_PAYLOAD_JSON: dict[type[Message], Callable[[Any], str]] = {}
_FAST_DECODERS: dict[str, Callable[[int, Any], Message]] = {}

_ENCODE_STRING: Callable[[str], str] = json.encoder.encode_basestring  # ensure_ascii=False


def _encode_field_generic(value: Any) -> str:
    """One payload value exactly as ``canonical_json(payload_of(...))`` writes it."""
    return canonical_json(_encode_value(value) if type(value) is tuple else value)


def _compile_payload_json(cls: type[Message], hints: Mapping[str, Any]) -> Callable[[Any], str]:
    """Canonical payload JSON written field by field, keys in sorted order.

    ``canonical_json`` of a dict is ``{`` + ``"key":value`` pairs sorted by
    key, joined by ``,`` + ``}``, each value encoded on its own; so writing the
    pairs directly gives the same bytes. A value whose type is exactly the
    declared scalar type (or the declared enum) is written inline; any other
    value (floats, tuples, None, a mistyped value) goes through
    :func:`_encode_field_generic`, i.e. the canonical encoder itself.
    """
    scope: dict[str, Any] = {
        "ENC": _ENCODE_STRING,
        "INT": int.__repr__,
        "GEN": _encode_field_generic,
    }
    names = sorted(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    lines = ["def payload_json(o):"]
    template: list[str] = []
    for i, name in enumerate(names):
        hint = hints[name]
        lines.append(f"    v{i} = o.{name}")
        if hint is str:
            expr = f"ENC(v{i}) if type(v{i}) is str else GEN(v{i})"
        elif hint is int:
            expr = f"INT(v{i}) if type(v{i}) is int else GEN(v{i})"
        elif hint is bool:
            expr = f"('true' if v{i} else 'false') if type(v{i}) is bool else GEN(v{i})"
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            # A StrEnum member is a str: JSON writes its value, like ENC does.
            scope[f"E{i}"] = hint
            expr = f"ENC(v{i}) if type(v{i}) is E{i} else GEN(v{i})"
        else:
            expr = f"GEN(v{i})"
        lines.append(f"    s{i} = {expr}")
        template.append(f"{json.dumps(name)}:{{s{i}}}")  # field names hold no braces
    lines.append(f"    return f{'{{' + ','.join(template) + '}}'!r}")
    encode: Callable[[Any], str] = codegen.compile_function(
        f"{cls.TYPE}.payload_json", "payload_json", lines, scope
    )
    return encode


def _compile_decoder(cls: type[Message], hints: Mapping[str, Any]) -> Callable[[int, Any], Message]:
    """``decode_payload`` for one class: inline checks, else the checked decoder.

    The fast path accepts only values the checked decoder would accept and
    builds the same value from them; on any doubt it returns
    ``_decode_payload_checked(...)``, which decides (and names the error).
    Classes with a ``__post_init__`` validator are built through ``cls(...)``
    so the validator runs; the others through their slot descriptors (the
    frozen ``__init__`` is a third of decoding's cost and only sets slots).
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    scope: dict[str, Any] = {
        "SLOW": _decode_payload_checked,
        "DecodeError": DecodeError,
        "NEW": object.__new__,
        "CLS": cls,
    }
    lines = [
        "def decode(version, p):",
        f"    if version == {cls.VERSION} and type(p) is dict and len(p) == {len(fields)}:",
        "        try:",
    ]
    checks: list[str] = []
    converts: list[str] = []
    for i, f in enumerate(fields):
        hint = hints[f.name]
        lines.append(f"            f{i} = p[{f.name!r}]")
        if hint is str or hint is bool:
            checks.append(f"type(f{i}) is {hint.__name__}")
        elif hint is int:
            lo, hi = int_bounds(f.name)
            checks.append(f"type(f{i}) is int and {lo} <= f{i} <= {hi}")
        elif isinstance(hint, type) and issubclass(hint, enum.Enum):
            scope[f"M{i}"] = {m.value: m for m in hint}
            converts.append(f"f{i} = M{i}.get(f{i}) if type(f{i}) is str else None")
            checks.append(f"f{i} is not None")
        elif (
            typing.get_origin(hint) is tuple
            and typing.get_args(hint)[1:] == (Ellipsis,)
            and (typing.get_args(hint)[0] in (str, bool))  # int items: bounds, generic path
        ):
            item = typing.get_args(hint)[0].__name__
            converts.append(
                f"f{i} = tuple(f{i}) if type(f{i}) is list and "
                f"all([type(x) is {item} for x in f{i}]) else None"
            )
            checks.append(f"f{i} is not None")
        else:
            scope[f"D{i}"] = _decoder_for(hint, f.name)
            converts.append(f"f{i} = D{i}(f{i}, {f'{cls.TYPE}.{f.name}'!r})")
    lines += [f"            {c}" for c in converts]
    lines.append("        except (KeyError, DecodeError):")
    lines.append("            pass")
    lines.append("        else:")
    lines.append(f"            if {' and '.join(checks) or 'True'}:")
    init_code = getattr(cls.__init__, "__code__", None)
    plain = (
        not hasattr(cls, "__post_init__")
        and init_code is not None
        and init_code.co_filename == "<string>"  # dataclass-generated: only sets fields
        and all(f.init and not f.kw_only for f in fields)
    )
    if plain:
        lines.append("                new = NEW(CLS)")
        for i, f in enumerate(fields):
            # getattr, not cls.__dict__: a registered subclass (VrrpLowerPriorityReported)
            # inherits its fields' slots from its base
            scope[f"S{i}"] = getattr(cls, f.name).__set__
            lines.append(f"                S{i}(new, f{i})")
        lines.append("                return new")
    else:
        args = ", ".join(f"{f.name}=f{i}" for i, f in enumerate(fields))
        lines.append("                try:")
        lines.append(f"                    return CLS({args})")
        lines.append("                except (TypeError, ValueError):")
        lines.append("                    pass")
    lines.append(f"    return SLOW({cls.TYPE!r}, version, p)")
    decode: Callable[[int, Any], Message] = codegen.compile_function(
        f"{cls.TYPE}.decode", "decode", lines, scope
    )
    return decode


def _generated_source(key: str) -> str:
    """The source generated for ``"<type>.payload_json"`` or ``"<type>.decode"``."""
    return codegen.generated_source(key)
