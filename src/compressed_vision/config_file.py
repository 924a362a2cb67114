"""Settings files: a JSON (.json) or TOML (.toml) table of a config dataclass's fields,
checked against the fields' types, with flags (keyword overrides) on top."""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from .errors import CVError

Config = TypeVar("Config")


def read_config_file(path: str | Path, cls: type) -> dict[str, Any]:
    """The settings of a JSON or TOML file, each a field of the dataclass `cls` of its type;
    an unknown key or a value of the wrong type is a CVError naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except FileNotFoundError as e:
        raise CVError("no such config file", path) from e
    except (OSError, ValueError) as e:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise CVError(f"cannot read the config ({e})", path) from e
    if not isinstance(data, dict):
        raise CVError("a config file holds a table/object of settings", path)
    written = {f.name: f.type for f in fields(cls)}  # as written: "str | None"
    unknown = set(data) - set(written)
    if unknown:
        raise CVError(f"unknown settings {sorted(unknown)}", path)
    hints = get_type_hints(cls)
    for key, value in data.items():
        if not _fits(value, hints[key]):
            raise CVError(f"{key} = {value!r} is not of type {written[key]}", path)
    return data


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value read from a config file has the field's type (an int passes as a
    float; a bool is not a number; a list passes as a tuple)."""
    if isinstance(hint, UnionType):
        return any(_fits(value, h) for h in get_args(hint))
    if hint is type(None):
        return value is None
    origin = get_origin(hint) or hint
    if isinstance(value, bool) and origin is not bool:
        return False
    if origin is tuple:
        return isinstance(value, (list, tuple)) and all(_fits(v, get_args(hint)[0]) for v in value)
    return isinstance(value, (int, float) if origin is float else origin)


def load_config(cls: type[Config], path: str | Path | None = None, **overrides: Any) -> Config:
    """A `cls` of the file's settings (if any) with the non-None `overrides` on top; a bad
    setting is a CVError naming the file."""
    data = read_config_file(path, cls) if path else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return cls(**data)
    except TypeError as e:
        raise CVError(f"bad settings: {e}", path) from e
    except CVError as e:
        if path is None:
            raise
        raise CVError(e.reason, path) from e
