"""The shared shape of events and decisions: flat frozen dataclasses with a kind.

Each field is a plain JSON value (text, number, bool, list of text, or None), so one maps onto
one wire message (``to_dict()`` / ``from_dict()``) and onto one row of the server's journal.
``from_dict`` checks every field and raises :class:`InvalidEvent` naming it.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from typing import Any, ClassVar, Self

from signaling.queue import limits
from signaling.queue.errors import InvalidEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    """Base of :class:`Event` and :class:`Decision`."""

    KIND: ClassVar[enum.StrEnum]
    _REGISTRY: ClassVar[dict[str, type[Record]]]

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check(type(self).__name__, f.name, _hints(type(self))[f.name], getattr(self, f.name))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.KIND.value}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: Any) -> Self:
        """Rebuild any registered subclass from ``to_dict()`` output (or a wire message)."""
        if not isinstance(d, dict):
            raise InvalidEvent(f"expected an object, got {type(d).__name__}")
        kind = d.get("kind")
        sub = cls._REGISTRY.get(kind) if isinstance(kind, str) else None
        if sub is None or not issubclass(sub, cls):
            raise InvalidEvent(f"unknown kind {kind!r}; known: {', '.join(sorted(cls._REGISTRY))}")
        names = {f.name: f for f in dataclasses.fields(sub)}
        unknown = sorted(set(d) - set(names) - {"kind"})
        if unknown:
            raise InvalidEvent(f"{kind}: unknown field {unknown[0]!r}")
        values: dict[str, Any] = {}
        hints = _hints(sub)
        for name, f in names.items():
            if name not in d:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise InvalidEvent(f"{kind}: field {name!r} is missing")
                continue
            values[name] = _coerce(str(kind), name, hints[name], d[name])
        return sub(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _split_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0], True
    return tp, False


def _coerce(kind: str, name: str, tp: Any, raw: Any) -> Any:
    base, _ = _split_optional(tp)
    if isinstance(base, type) and issubclass(base, enum.Enum) and isinstance(raw, str):
        try:
            return base(raw)
        except ValueError:
            allowed = ", ".join(m.value for m in base)
            raise InvalidEvent(f"{kind}: {name} {raw[:40]!r} is not one of {allowed}") from None
    if typing.get_origin(base) is tuple and isinstance(raw, list):
        return tuple(raw)
    if base is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    return raw


def _check(kind: str, name: str, tp: Any, value: Any) -> None:
    base, optional = _split_optional(tp)
    if value is None:
        if not optional:
            raise InvalidEvent(f"{kind}: {name} is required")
        return
    bad = InvalidEvent(f"{kind}: {name} {str(value)[:40]!r} is not a valid {_name(base)}")
    if typing.get_origin(base) is tuple:
        (item,) = {a for a in typing.get_args(base) if a is not Ellipsis}
        if not isinstance(value, tuple) or len(value) > limits.MAX_IMPORT_ROWS:
            raise bad
        for v in value:
            _check(kind, name, item, v)
        return
    if isinstance(base, type) and issubclass(base, enum.Enum):
        if not isinstance(value, base):
            raise bad
        return
    if base is str:
        if not isinstance(value, str) or len(value) > limits.MAX_REASON_CHARS:
            raise bad
        return
    if base is bool:
        if not isinstance(value, bool):
            raise bad
        return
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return
    if base is float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise bad
        return
    if (
        base is dict or typing.get_origin(base) is dict
    ):  # a booking carried by AppointmentsBooked: checked by its handler
        if not isinstance(value, dict):
            raise bad
        return
    raise TypeError(f"unsupported field type {base!r} in {kind}.{name}")  # pragma: no cover


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def register(registry: dict[str, type[Record]]) -> Any:
    def deco(cls: type[Record]) -> type[Record]:
        if cls.KIND.value in registry:  # pragma: no cover - programming error
            raise ValueError(f"kind {cls.KIND.value!r} registered twice")
        registry[cls.KIND.value] = cls
        return cls

    return deco
