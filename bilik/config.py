"""Configuration: one TOML file per role, overridden by environment variables and flags.

Each role declares its settings as a frozen dataclass whose fields carry a
description and the allowed range in their metadata (see :func:`setting`).
:func:`load` merges, in increasing precedence, the dataclass defaults, the
TOML file, ``BILIK_<ROLE>_<KEY>`` environment variables and command-line flags,
and validates every value. An invalid value raises :class:`ConfigError`
naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from bilik.errors import ConfigError

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def setting(
    default: Any,
    doc: str,
    *,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """Declare one setting with its default, a description and its allowed values."""
    meta = {"doc": doc, "min": min, "max": max, "choices": choices}
    if isinstance(default, list | dict):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _base_type(tp: Any) -> tuple[type, bool]:
    """Return (type, optional) for a field annotation such as ``int`` or ``Path | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base_type(args[0])[0], True
    if origin is not None:
        return origin, False
    return tp, False


def _allowed(field: dataclasses.Field[Any], tp: type) -> str:
    meta = field.metadata
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    parts = [tp.__name__]
    if meta.get("min") is not None:
        parts.append(f">= {meta['min']}")
    if meta.get("max") is not None:
        parts.append(f"<= {meta['max']}")
    return " ".join(parts)


def _coerce(key: str, field: dataclasses.Field[Any], tp: Any, raw: Any) -> Any:
    """Turn a TOML value or a string from the environment into the field's type."""
    base, optional = _base_type(tp)
    if raw is None or (optional and isinstance(raw, str) and raw.strip().lower() in ("", "none")):
        if optional:
            return None
        raise ConfigError(key, f"a value is required ({_allowed(field, base)})")
    try:
        if base is bool:
            if isinstance(raw, bool):
                value: Any = raw
            elif isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on"):
                value = True
            elif isinstance(raw, str) and raw.strip().lower() in ("0", "false", "no", "off"):
                value = False
            else:
                raise ValueError
        elif base is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = int(raw)
        elif base is float:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        elif base is str:
            if not isinstance(raw, str):
                raise ValueError
            value = raw
        elif base is Path:
            if not isinstance(raw, str | Path):
                raise ValueError
            value = Path(raw).expanduser()
        elif base is list:
            if isinstance(raw, str):
                value = [p.strip() for p in raw.split(",") if p.strip()]
            elif isinstance(raw, list):
                value = list(raw)
            else:
                raise ValueError
        elif base is dict:
            if not isinstance(raw, dict):
                raise ValueError
            value = dict(raw)
        else:  # pragma: no cover - a programming error in a config class
            raise TypeError(f"unsupported setting type {base!r} for {key}")
    except (TypeError, ValueError):
        raise ConfigError(
            key, f"{raw!r} is not allowed; expected {_allowed(field, base)}"
        ) from None
    meta = field.metadata
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(key, f"{value!r} is not allowed; expected {_allowed(field, base)}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(key, f"{value!r} is too small; expected {_allowed(field, base)}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(key, f"{value!r} is too large; expected {_allowed(field, base)}")
    return value


def env_name(section: str, name: str) -> str:
    return f"BILIK_{section.upper()}_{name.upper()}"


def load(
    cls: type[T],
    section: str,
    *,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Build a validated ``cls`` from defaults, a TOML file, the environment and overrides.

    ``overrides`` holds values from command-line flags; ``None`` values are ignored
    so that flags left unset do not mask the file or the environment.
    """
    if not dataclasses.is_dataclass(cls):  # pragma: no cover - programming error
        raise TypeError(f"{cls!r} is not a dataclass")
    env = os.environ if env is None else env
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(str(path), "file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"not valid TOML: {exc}") from None
        if section in doc:
            table = doc[section]
        elif any(isinstance(v, dict) for v in doc.values()):
            table = {}  # a file with other roles' sections and none for this one
        else:
            table = doc  # a file of bare keys for this role
        if not isinstance(table, dict):
            raise ConfigError(section, "must be a table")
        for key, value in table.items():
            if key not in fields:
                raise ConfigError(
                    f"{section}.{key}", "unknown setting; known: " + ", ".join(sorted(fields))
                )
            file_values[key] = value
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = f"{section}.{name}"
        raw: Any = _MISSING
        if name in file_values:
            raw = file_values[name]
        if env_name(section, name) in env:
            raw = env[env_name(section, name)]
            key = env_name(section, name)
        if overrides and overrides.get(name) is not None:
            raw = overrides[name]
            key = f"--{name.replace('_', '-')}"
        if raw is _MISSING:
            continue
        values[name] = _coerce(key, field, hints[name], raw)
    return cls(**values)


def describe(cls: type, section: str) -> str:
    """Render a commented TOML file with every setting, its default and what it allows."""
    lines = [f"[{section}]"]
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        base, optional = _base_type(hints[field.name])
        factory: Any = field.default_factory
        default = field.default if field.default is not _MISSING else factory()
        lines.append(f"# {field.metadata.get('doc', '')}")
        lines.append(
            f"# allowed: {_allowed(field, base)}{' or unset' if optional else ''}; "
            f"environment: {env_name(section, field.name)}"
        )
        if default is None:
            lines.append(f"# {field.name} =")
        else:
            lines.append(f"{field.name} = {_toml_value(default)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return f'"{value}"'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)
