"""Answers given on the command line: `--data KEY=VALUE` and `--data-file FILE`.

Both engines take a plain mapping of answers; this module builds it and rejects malformed input
with one line that names the problem, before anything is rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pocgen.errors import PocgenError


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML (or JSON) file that must hold a mapping."""
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PocgenError(f"cannot read {what} {path}: {error.strerror}.") from None
    except UnicodeDecodeError as error:
        raise PocgenError(
            f"{what} {path} is not UTF-8 text (byte {error.start} cannot be read as UTF-8); "
            "save it as UTF-8."
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PocgenError(f"{what} {path} is not valid YAML{where}; fix the file.") from None
    if not isinstance(value, dict):
        raise PocgenError(f"{what} {path} must be a mapping of `key: value` pairs.")
    return value


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """`["task=text-classification", ...]` -> `{"task": "text-classification"}`."""
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise PocgenError(f"--data expects KEY=VALUE, got '{pair}'.")
        data[key.strip()] = value
    return data


def collect(pairs: list[str], data_file: Path | None) -> dict[str, Any]:
    """Answers from --data-file, overridden by --data pairs (the more specific wins)."""
    data: dict[str, Any] = {}
    if data_file is not None:
        data.update(load_yaml_mapping(data_file, "--data-file"))
    data.update(parse_pairs(pairs))
    return data


def check_known(data: dict[str, Any], known: set[str], template: str) -> None:
    """Refuse answers to questions the template does not ask: they would be silently ignored."""
    unknown = sorted(set(data) - known)
    if unknown:
        raise PocgenError(
            f"template {template} has no question named {', '.join(unknown)}; "
            f"its questions are: {', '.join(sorted(known))}."
        )
