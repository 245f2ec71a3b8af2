"""Where the pipeline puts things, read from `dvc.yaml`, the one place paths are written down.

`corpus_paths("rules")` gives each corpus stage's output folder and stats file for one spec,
from the `--out` and `--stats` arguments of the stage's `cmd` with `${item}` set to the spec;
`spec_file("rules")` and `plan_file("rules")` are the spec file the `generate` stage reads and
the plan it writes; `stage_writing(path)` names
the stage (`pack@rules`) whose output holds `path`. Commands that read a corpus (`msm show`,
`msm verify`) use these instead of hard-coding a second copy of the layout.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError

DVC_YAML = Path("dvc.yaml")
CORPUS_STAGES = ("generate", "dedup", "quality", "pack")
_VAR = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True)
class StagePaths:
    stage: str
    """The stage's name in `dvc.yaml` with its spec, e.g. `dedup@rules`."""
    out: Path
    """Its output folder (`--out`)."""
    stats: Path
    """Its stats file (`--stats`, a DVC metric)."""


def read_stages(dvc_yaml: Path = DVC_YAML) -> dict[str, dict[str, Any]]:
    """The `stages:` mapping of `dvc_yaml`, each `foreach` stage given by its `do:` body."""
    try:
        data = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{dvc_yaml}: not found; run from the repository root") from None
    except yaml.YAMLError as err:
        raise InputError(f"{dvc_yaml}: not valid YAML: {err}") from None
    stages = (data or {}).get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise InputError(f"{dvc_yaml}: no `stages:` mapping")
    return {
        name: {**body["do"], "foreach": True} if "foreach" in body else body
        for name, body in stages.items()
        if isinstance(body, dict)
    }


def corpus_paths(spec: str, dvc_yaml: Path = DVC_YAML) -> dict[str, StagePaths]:
    """Each corpus stage (`CORPUS_STAGES`) of `spec`: its output folder and stats file."""
    stages = read_stages(dvc_yaml)
    out = {}
    for name in CORPUS_STAGES:
        body = stages.get(name)
        if body is None:
            raise InputError(
                f"{dvc_yaml}: no stage `{name}`; the corpus stages are {CORPUS_STAGES}"
            )
        args = _options(str(body.get("cmd", "")))
        missing = [o for o in ("--out", "--stats") if o not in args]
        if missing:
            raise InputError(
                f"{dvc_yaml}: stage `{name}` has no {' or '.join(missing)} in its cmd; "
                "every corpus stage names its output folder and stats file there"
            )
        out[name] = StagePaths(
            f"{name}@{spec}",
            Path(args["--out"].replace("${item}", spec)),
            Path(args["--stats"].replace("${item}", spec)),
        )
    return out


def spec_file(spec: str, dvc_yaml: Path = DVC_YAML) -> Path:
    """The spec file of `spec`: the `--spec` argument of the `generate` stage."""
    return _generate_option("--spec", spec, dvc_yaml)


def plan_file(spec: str, dvc_yaml: Path = DVC_YAML) -> Path:
    """The generation plan of `spec` (sections, statements, doc types): `generate --plan`."""
    return _generate_option("--plan", spec, dvc_yaml)


def _generate_option(option: str, spec: str, dvc_yaml: Path) -> Path:
    body = read_stages(dvc_yaml).get("generate") or {}
    template = _options(str(body.get("cmd", ""))).get(option)
    if template is None:
        raise InputError(f"{dvc_yaml}: stage `generate` has no {option} in its cmd")
    return Path(template.replace("${item}", spec))


def stage_writing(path: Path, dvc_yaml: Path = DVC_YAML) -> str | None:
    """The stage (`pack@rules`, `train_msm`) whose declared output is `path` or holds it."""
    try:
        stages = read_stages(dvc_yaml)
    except InputError:
        return None
    if path.is_absolute():
        try:
            path = path.relative_to(dvc_yaml.resolve().parent)
        except ValueError:
            return None
    target = path.as_posix().removeprefix("./").rstrip("/")
    for name, body in stages.items():
        for out in body.get("outs") or []:
            template = next(iter(out)) if isinstance(out, dict) else str(out)
            pattern = "([^/]+)".join(map(re.escape, _VAR.split(template.rstrip("/"))))
            m = re.fullmatch(pattern + r"(?:/.*)?", target)
            if m:
                return f"{name}@{m.group(1)}" if body.get("foreach") and m.groups() else name
    return None


def _options(cmd: str) -> dict[str, str]:
    """`--name value` pairs of a command line (the first value after each option)."""
    words = shlex.split(cmd)
    return {
        w: words[i + 1]
        for i, w in enumerate(words[:-1])
        if w.startswith("--") and not words[i + 1].startswith("--")
    }
