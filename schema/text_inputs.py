"""Control characters are refused in every text argument of a root field, before its resolver runs.

PostgreSQL cannot store NUL in text: without this check a ``\\u0000`` in a title, a note or an email was an
INTERNAL error. Other control characters are refused too (they are never typed, and they corrupt logs and
exported text); tab, CR and LF are ordinary text.

``refuse_control_characters`` adds ``TextInputCheck`` to every root field that takes an argument, in one
place (``schema/__init__.py``), so a new mutation is checked without anyone remembering to. A mutation
whose payload has ``userErrors`` answers with one ``INVALID_INPUT`` entry naming the field; a query (or a
payload without ``userErrors``) gets a top-level ``INVALID_INPUT`` error.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from honeydue.errors import ApiError
from honeydue.user_errors import UserErrorCode
from schema.common import UserError

# Unicode category Cc (C0 controls, DEL, C1 controls) except tab, LF and CR.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MESSAGE = "Text may not contain control characters (only tab, line feed and carriage return)."


class InvalidInput(ApiError):
    code = "INVALID_INPUT"
    default_message = MESSAGE


def has_control_character(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def first_bad_text(arguments: dict[str, Any], info: Info) -> list[str] | None:
    """The GraphQL path (``["input", "title"]``) of the first text value with a control character.

    Input objects are followed by their GraphQL field names; a list's items share the list's path. A list
    of strings is searched as one joined text (LF is allowed, so the joint cannot match): 10,000 ids cost
    one regular-expression scan, not 10,000.
    """
    pending: list[tuple[list[str], object]] = [([], arguments)]
    names = info.schema.config.name_converter
    while pending:
        where, current = pending.pop()
        if isinstance(current, str):
            if has_control_character(current):
                return where
        elif isinstance(current, dict):
            pending.extend(([*where, names.apply_naming_config(key)], item) for key, item in current.items())
        elif isinstance(current, (list, tuple)):
            if all(isinstance(item, str) for item in current):
                if has_control_character("\n".join(current)):
                    return where
            else:
                pending.extend((where, item) for item in current)
        else:
            definition = getattr(current, "__strawberry_definition__", None)
            if isinstance(definition, StrawberryObjectDefinition) and definition.is_input:
                pending.extend(([*where, names.get_graphql_name(field)], getattr(current, field.python_name))
                               for field in definition.fields)
    return None


def _user_error_payload(payload_type: object, field: list[str]) -> object | None:
    """``payload_type(userErrors=[INVALID_INPUT on field])``, when the payload can say it that way."""
    definition = getattr(payload_type, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition) or not dataclasses.is_dataclass(payload_type):
        return None
    names = {f.python_name for f in definition.fields}
    required = [f.name for f in dataclasses.fields(payload_type)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if "user_errors" not in names or any(name != "user_errors" for name in required):
        return None
    error = UserError(field=field, message=MESSAGE, code=UserErrorCode.INVALID_INPUT)
    return payload_type(user_errors=[error])  # type: ignore[operator, call-arg]


class TextInputCheck(FieldExtension):
    """Answers for the field itself when one of its text arguments holds a control character."""

    def __init__(self, mutation: bool) -> None:
        self.mutation = mutation

    def _refusal(self, info: Info, kwargs: dict[str, Any]) -> object | None:
        path = first_bad_text(kwargs, info)
        if path is None:
            return None
        if self.mutation:
            payload = _user_error_payload(info.return_type, path)
            if payload is not None:
                return payload
        raise InvalidInput(f"{'.'.join(path)}: {MESSAGE}")

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        refusal = self._refusal(info, kwargs)
        return refusal if refusal is not None else next_(source, info, **kwargs)

    async def resolve_async(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        refusal = self._refusal(info, kwargs)
        if refusal is not None:
            return refusal
        return await next_(source, info, **kwargs)


def refuse_control_characters(query: type, mutation: type) -> None:
    """Add ``TextInputCheck`` to every root field with arguments (call before the Schema is built)."""
    for root, is_mutation in ((query, False), (mutation, True)):
        fields: list[StrawberryField] = root.__strawberry_definition__.fields  # type: ignore[attr-defined]
        for field in fields:
            if field.arguments and not any(isinstance(e, TextInputCheck) for e in field.extensions):
                field.extensions.append(TextInputCheck(mutation=is_mutation))


__all__ = ["InvalidInput", "TextInputCheck", "has_control_character", "refuse_control_characters"]
