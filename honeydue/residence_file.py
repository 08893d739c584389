"""The ``.honeydue`` residence file: its format, its JSON Schema, and reading one safely. Pure: no I/O.

``exportResidence`` writes one (``resolvers.residence_files``), ``importResidence`` reads one, and
``finalizeUpload`` of a ``RESIDENCE_IMPORT`` upload checks one with ``problem_with`` so a bad file is refused at
upload, with the first problem named. The format is documented in docs/residence-file.md; the schema ships in
the package (``honeydue/catalogue/residence_export.schema.json``).

Reading is bounded: the size is limited by the upload (``STORAGE_MAX_FILE_SIZE``), the nesting depth is
checked before ``json.loads`` runs (a deeply nested file would otherwise end in a RecursionError), and the
schema bounds every string. The counts of tasks, completions, contractors and documents are checked by the
import (a file over a cap is still a well-formed file: the import answers a userErrors entry naming the cap).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

FORMAT = "honeydue.residence"
VERSION = 1
CONTENT_TYPE = "application/json"
EXTENSION = ".honeydue"
# The format nests 5 deep (file > tasks > task > completions > completion); anything past this is not ours.
MAX_DEPTH = 16
# What one import may create; a file over a cap is refused as a whole (importResidence userErrors).
MAX_TASKS = 1000
MAX_COMPLETIONS = 5000
MAX_CONTRACTORS = 1000
MAX_DOCUMENTS = 1000
MAX_REASON = 255  # Media.reject_reason's column

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


class ResidenceFileError(ValueError):
    """The bytes are not a residence file this server reads; the message says why, for a user."""


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of the current version, as shipped in the package."""
    text = resources.files("honeydue.catalogue").joinpath("residence_export.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(schema())


def too_deep(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Do arrays and objects nest deeper than ``limit`` (brackets inside strings do not count)? Linear."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', data)):
        if match[0] in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _message(error: ValidationError) -> str:
    if error.validator == "pattern" and error.validator_value == schema()["$defs"]["noControlCharacters"]["pattern"]:
        return "text may not contain control characters (only tab, line feed and carriage return)"
    return str(error.message)


def _where(error: ValidationError) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    return path.lstrip(".") or "the file"


def parse(data: bytes) -> dict[str, Any]:
    """The residence file in ``data``, checked against the schema; ``ResidenceFileError`` naming the first problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ResidenceFileError("The file is not UTF-8 text.") from None
    if too_deep(data):
        raise ResidenceFileError(f"The file nests arrays and objects more than {MAX_DEPTH} deep.")
    try:
        document = json.loads(text)
    except RecursionError:  # too_deep makes this unreachable; kept so no input can become a 500
        raise ResidenceFileError(f"The file nests arrays and objects more than {MAX_DEPTH} deep.") from None
    except ValueError as exc:
        raise ResidenceFileError(f"The file is not JSON: {exc}.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ResidenceFileError(f'The file is not a honeydue residence file (its "format" must be "{FORMAT}").')
    if document.get("version") != VERSION:
        raise ResidenceFileError(f"The file is version {json.dumps(document.get('version'))[:20]}; this server reads "
                                 f"version {VERSION}.")
    error = min(_validator().iter_errors(document), key=_first_in_file, default=None)
    if error is not None:
        if error.context:  # anyOf/oneOf: name the alternative's own problem, not "is not valid under any"
            error = best_match(error.context) or error
        raise ResidenceFileError(f"{_where(error)}: {_message(error)}"[:MAX_REASON])
    return document


def _first_in_file(error: ValidationError) -> tuple[Any, ...]:
    """Order errors by where they are in the file, so "the first problem" is the first one a reader meets."""
    return tuple((0, part) if isinstance(part, int) else (1, str(part)) for part in error.absolute_path)


def problem_with(data: bytes) -> str | None:
    """Why ``data`` is not an importable residence file (at most 255 characters), or None."""
    try:
        parse(data)
    except ResidenceFileError as exc:
        return str(exc)[:MAX_REASON]
    return None


def encode(document: dict[str, Any]) -> bytes:
    """The file's bytes: UTF-8 JSON, indented so a person can read it."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")


def filename_for(residence_name: str) -> str:
    """``<residence name>.honeydue`` (the media layer strips what a header or a path could not carry)."""
    return f"{residence_name.strip() or 'residence'}{EXTENSION}"
