"""Turns exceptions into API.md's error codes; masks the unexpected as INTERNAL.

Strawberry's MaskErrors would also hide validation and permission errors, so
this extension decides per error: our ApiErrors keep their message and get
their code, parse/validation errors stay as they are (query-limit ones get
QUERY_TOO_COMPLEX), and anything else is logged with its traceback and masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from honeydue.errors import ApiError

log = logging.getLogger("honeydue.graphql")

_COMPLEXITY_MARKERS = ("exceeds maximum operation depth", "maximum allowed is", "more than", "aliases")


def _complexity_error(error: GraphQLError) -> bool:
    """A limit graphql-core itself applies: the parser's token count or nesting, the overlap rule's budget."""
    if isinstance(error, ValidationAbortedError) or "nested too deeply" in error.message:
        return True
    message = error.message.lower()
    return any(marker in message for marker in _COMPLEXITY_MARKERS) and (
        "depth" in message or "alias" in message or "token" in message
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if result is None or not errors:
            return
        result.errors = [self._process(error) for error in errors]

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ApiError):
            return _with_code(error, original.code)
        # A GraphQLError as the cause is the client's input failing coercion (a variable "2024-02-30" for a
        # Date): the same mistake written inline is a validation error, so it must read as one.
        preset = (error.extensions or {}).get("code")
        if original is None and preset:  # raised with its code (schema.limits' QUERY_TOO_COMPLEX)
            return error
        if original is None or isinstance(original, GraphQLError):
            code = "QUERY_TOO_COMPLEX" if _complexity_error(error) else "GRAPHQL_VALIDATION_FAILED"
            return _with_code(error, code)
        log.error("unexpected error in %s", error.path, exc_info=original)
        return GraphQLError(
            "Internal server error.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL"},
        )


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error
