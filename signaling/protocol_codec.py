"""The protocol's envelope and codec: the :class:`Message` base, the registry of message types,
:func:`parse` (which validates everything and raises :class:`ProtocolError` with a precise
``code`` and ``detail``) and :func:`encode`, its inverse. The messages themselves are in
:mod:`signaling.protocol_messages`; import all of it through :mod:`signaling.protocol`."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from signaling import limits
from signaling.errors import ProtocolError
from signaling.protocol_enums import ErrorCode

PROTOCOL_VERSION = 1
ENVELOPE_FIELDS = ("v", "type", "id", "ref")

ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")
DEVICE_ID_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")


_counter = itertools.count(1)
_prefix = os.urandom(3).hex()


def new_id() -> str:
    """A message id unique within this process and very likely across processes."""
    return f"{_prefix}-{next(_counter)}"


def text_field(
    max_chars: int = limits.MAX_TEXT_CHARS, pattern: re.Pattern[str] | None = None
) -> Any:
    return field(metadata={"max": max_chars, "pattern": pattern})


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every message; subclasses set ``TYPE`` and add payload fields."""

    TYPE: ClassVar[str] = ""
    id: str = field(default_factory=new_id)
    ref: str | None = None


# Every message type by its ``type``: filled by signaling.protocol_messages and register().
MESSAGE_TYPES: dict[str, type[Message]] = {}


def register(cls: type[Message]) -> type[Message]:
    """Add a message type defined elsewhere in signaling (the queue's messages)."""
    if not cls.TYPE or cls.TYPE in MESSAGE_TYPES:
        raise ValueError(f"message type {cls.TYPE!r} is empty or already registered")
    MESSAGE_TYPES[cls.TYPE] = cls
    _SPECS.pop(cls, None)
    return cls


# --- codec ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    kind: type
    optional: bool
    required: bool
    meta: dict[str, Any]


_SPECS: dict[type[Message], list[_FieldSpec]] = {}


def _specs(cls: type[Message]) -> list[_FieldSpec]:
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            if f.name in ("id", "ref"):
                continue
            tp = hints[f.name]
            optional = False
            if typing.get_origin(tp) in (typing.Union, types.UnionType):
                args = [a for a in typing.get_args(tp) if a is not type(None)]
                tp, optional = args[0], True
            kind = typing.get_origin(tp) or tp
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            specs.append(_FieldSpec(f.name, kind, optional, required, dict(f.metadata)))
        _SPECS[cls] = specs
    return specs


def _check_value(spec: _FieldSpec, value: Any, ref: str | None) -> Any:
    def bad(why: str) -> ProtocolError:
        return ProtocolError(ErrorCode.BAD_MESSAGE, f"field {spec.name!r} {why}", ref)

    if value is None:
        if spec.optional:
            return None
        raise bad("must not be null")
    kind, meta = spec.kind, spec.meta
    if kind is bool:
        if not isinstance(value, bool):
            raise bad(f"must be a boolean, got {type(value).__name__}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"must be an integer, got {type(value).__name__}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"must be a number, got {type(value).__name__}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise bad("must be a finite number")
    elif kind is str:
        if not isinstance(value, str):
            raise bad(f"must be a string, got {type(value).__name__}")
        if not _is_utf8(value):
            raise bad("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
        if len(value) > meta.get("max", limits.MAX_TEXT_CHARS):
            raise bad(f"is longer than {meta.get('max', limits.MAX_TEXT_CHARS)} characters")
        pattern = meta.get("pattern")
        if pattern is not None and not pattern.fullmatch(value):
            raise bad(f"has an invalid format: {value[:40]!r}")
        if meta.get("sdp"):
            _check_sdp(value, spec.name, ref)
    elif kind is list:
        if not isinstance(value, list):
            raise bad(f"must be a list, got {type(value).__name__}")
        if len(value) > meta.get("max_items", limits.MAX_LIST_ITEMS):
            raise bad(f"has more than {meta.get('max_items', limits.MAX_LIST_ITEMS)} items")
        if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
            raise bad("must be a list of short strings")
        if not all(_is_utf8(v) for v in value):
            raise bad("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
        value = list(value)
    elif kind is dict:
        if not isinstance(value, dict):
            raise bad(f"must be an object, got {type(value).__name__}")
        if len(value) > limits.MAX_HEALTH_ENTRIES:
            raise bad(f"has more than {limits.MAX_HEALTH_ENTRIES} entries")
        for k, v in value.items():
            if not isinstance(v, str) or len(k) > 64 or len(v) > limits.MAX_TEXT_CHARS:
                raise bad("must map short names to strings")
            if not (_is_utf8(k) and _is_utf8(v)):
                raise bad("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
    else:  # pragma: no cover - a programming error in a message class
        raise TypeError(f"unsupported field type {kind!r}")
    if "choices" in meta and kind is not list and value not in meta["choices"]:
        raise bad(f"must be one of {', '.join(meta['choices'])}")
    if "min" in meta and value < meta["min"]:
        raise bad(f"must be at least {meta['min']}")
    if "max" in meta and kind in (int, float) and value > meta["max"]:
        raise bad(f"must be at most {meta['max']}")
    return value


def _is_utf8(text: str) -> bool:
    """JSON may carry lone surrogates (``"\\ud800"``) that no UTF-8 frame can carry on."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_sdp(sdp: str, name: str, ref: str | None) -> None:
    """Cheap structural check so that garbage never reaches a peer's SDP parser."""
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"field {name!r} is not SDP: must start v=0", ref
        )
    for n, line in enumerate(lines, 1):
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, f"field {name!r} is not SDP: line {n} is not type=value", ref
            )
    if not any(line.startswith("m=") for line in lines):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"field {name!r} has no media section", ref)


def parse(data: str | bytes, *, max_bytes: int = limits.MAX_FRAME_BYTES) -> Message:
    """Decode and validate one message; raise :class:`ProtocolError` saying what is wrong."""
    if len(data) > max_bytes:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"message is larger than {max_bytes} bytes")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "not valid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "message must be a JSON object")
    raw_id = obj.get("id")
    ref = raw_id if isinstance(raw_id, str) and ID_RE.fullmatch(raw_id) else None
    version = obj.get("v")
    if version is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing field 'v' (protocol version)", ref)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, "field 'v' (protocol version) must be an integer", ref
        )
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}",
            ref,
        )
    type_ = obj.get("type")
    if type_ is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing field 'type'", ref)
    if not isinstance(type_, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'type' must be a string", ref)
    cls = MESSAGE_TYPES.get(type_)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {type_[:40]!r}", ref)
    if ref is None:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, "field 'id' must be 1-64 letters, digits or ._:-", None
        )
    msg_ref = obj.get("ref")
    if msg_ref is not None and not (isinstance(msg_ref, str) and ID_RE.fullmatch(msg_ref)):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'ref' must be a message id", ref)
    specs = _specs(cls)
    known = set(ENVELOPE_FIELDS) | {s.name for s in specs}
    extra = sorted(k for k in obj if k not in known)
    if extra:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"unexpected field(s) for {type_!r}: {', '.join(repr(e[:40]) for e in extra[:5])}",
            ref,
        )
    values: dict[str, Any] = {"id": raw_id, "ref": msg_ref}
    for spec in specs:
        if spec.name not in obj:
            if spec.required:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, f"missing field {spec.name!r} for {type_!r}", ref
                )
            continue
        values[spec.name] = _check_value(spec, obj[spec.name], ref)
    return cls(**values)


def to_dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": msg.TYPE, "id": msg.id}
    if msg.ref is not None:
        out["ref"] = msg.ref
    for f in dataclasses.fields(msg):
        if f.name not in ("id", "ref"):
            out[f.name] = getattr(msg, f.name)
    return out


def encode(msg: Message) -> str:
    return json.dumps(to_dict(msg), separators=(",", ":"), ensure_ascii=False)
