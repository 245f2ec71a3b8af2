"""The one typed YAML loader: a file -> a dataclass, or a `ConfigError` naming file, line and fix.

`load_file(path, cls)` reads `path` and builds `cls` from it; `build(cls, raw, source)` does the
same for data already read. Every config in the project (params.yaml, run.yaml, the AFT and eval
resource sets) is a tree of frozen dataclasses read through here, so they all behave alike:

- an unknown key is an error with its line, a did-you-mean and the known keys;
- a missing key is an error unless its field has a default (the dataclass is the only place a
  default lives);
- values are checked against the field's type: `int`, `float` (an int is accepted), `bool`,
  `str`, `Literal[...]` (one of the choices), `list[T]`, `dict[str, T]` and nested dataclasses;
- a dataclass's own checks (`__post_init__` raising `ValueError`) come back with the line of the
  section they belong to.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from pipeline.errors import ConfigError

T = TypeVar("T")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: the same documents and marks, ~10x
faster than the pure-Python one (14 ms of every stage's start-up for params.yaml)."""


@dataclass(frozen=True)
class Source:
    """Where values come from: the file and the line of every key path (`a.b.c`)."""

    path: Path
    lines: dict[str, int]

    def at(self, key: str) -> str:
        """`file:line` of `key`, else of the nearest enclosing key (`items[3].a` -> `items[3]`
        -> `items`), else the file."""
        while key:
            if key in self.lines:
                return f"{self.path}:{self.lines[key]}"
            key = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key) if re.search(r"[.\[]", key) else ""
        return str(self.path)


def read_yaml(path: Path) -> tuple[Any, Source]:
    """The parsed YAML of `path` and the line of each key; ConfigError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the repository root") from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return raw, Source(path, _key_lines(node))


def load_file(path: Path, cls: type[T]) -> T:
    raw, source = read_yaml(path)
    return build(cls, {} if raw is None else raw, source)


def build(cls: type[T], raw: Any, source: Source, prefix: str = "") -> T:
    """`cls` from the mapping `raw`, whose keys sit under `prefix` in `source`."""
    where = f"`{prefix}`" if prefix else "the top level"
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source.at(prefix)}: {where} must be a mapping, got {type(raw).__name__}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise ConfigError(
                f"{source.at(_join(prefix, key))}: unknown key `{_join(prefix, key)}`{hint}; "
                f"known keys under {where}: {', '.join(fields)}"
            )
    kwargs = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(
                    f"{source.at(prefix)}: missing key `{key}`; add it under {where} "
                    f"({_describe(hints[name])})"
                )
            continue
        kwargs[name] = _value(hints[name], raw[name], key, source)
    try:
        return cls(**kwargs)
    except ValueError as err:
        if isinstance(err, ConfigError):
            raise
        msg = str(err)
        names = "|".join(map(re.escape, fields))
        # the line of the first field the message names (`spec: x`, `max_words`), else the section's
        named = re.search(rf"`({names})(?=[`.:\s])", msg)
        key = _join(prefix, named.group(1)) if named else prefix
        where = source.at(key if key in source.lines else prefix)
        if prefix:  # a dataclass names its own fields; name them by their full key
            msg = re.sub(rf"`({names})(?=[`.:])", rf"`{prefix}.\1", msg)
        raise ConfigError(f"{where}: {msg}; fix the value") from None


def _value(tp: Any, value: Any, key: str, source: Source) -> Any:
    if dataclasses.is_dataclass(tp):
        return build(tp, value, source, key)  # type: ignore[arg-type]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _wrong(key, value, f"one of {', '.join(map(str, args))}{hint}", source)
        return value
    if origin is list:
        if not isinstance(value, list):
            _wrong(key, value, _describe(tp), source)
        return [_value(args[0], v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            _wrong(key, value, _describe(tp), source)
        return {
            _value(args[0], k, key, source): _value(args[1], v, _join(key, k), source)
            for k, v in value.items()
        }
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported union type at `{key}`: use a Literal or a default")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        _wrong(key, value, _describe(tp), source)
    if tp is str and isinstance(value, int | float) and not isinstance(value, bool):
        _wrong(key, value, "a string (quote it)", source)
    if not isinstance(value, tp):
        _wrong(key, value, _describe(tp), source)
    return value


def _wrong(key: str, value: Any, expected: str, source: Source) -> None:
    raise ConfigError(
        f"{source.at(key if key in source.lines else key.split('[')[0])}: `{key}` must be "
        f"{expected}, got "
        f"{type(value).__name__} {value!r}; fix the value"
    )


def _describe(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is list:
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict:
        return f"a mapping of {_describe(args[0])} to {_describe(args[1])}"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, str(tp)
    )


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """The line of every key path, list items included (`items[3]`, `items[3].a`)."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            name = _join(prefix, k.value)
            out[name] = k.start_mark.line + 1
            out.update(_key_lines(v, name))
    elif isinstance(node, yaml.SequenceNode) and prefix:
        for i, item in enumerate(node.value):  # list items: `specs[3]`
            out[f"{prefix}[{i}]"] = item.start_mark.line + 1
            out.update(_key_lines(item, f"{prefix}[{i}]"))
    return out


def positive(key: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"`{key}` must be > 0, got {value}")


def unit(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"`{key}` must lie in [0, 1], got {value}")
