"""Counts each GraphQL operation in ``honeydue_graphql_operations_total{operation, outcome}``.

``operation`` is named by the operation's root fields (``login``, ``me,residences``), not by the
client-chosen operation name: those are free text, and each new one would be a new series. Documents that
fail to parse or validate count as ``invalid``; more than ``MAX_NAMED_FIELDS`` root fields as ``multiple``.

``outcome``: ``error`` when something failed on our side (an exception that is not an ``ApiError``, masked
as INTERNAL); ``user_error`` when the caller was refused (invalid document, UNAUTHENTICATED, FORBIDDEN,
NOT_FOUND, RATE_LIMITED) or a payload reports ``userErrors``; ``ok`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from honeydue.errors import ApiError
from honeydue.metrics import record_graphql_operation

MAX_NAMED_FIELDS = 3


class GraphQLMetrics(SchemaExtension):
    # Strawberry instantiates the extension per operation, so this flag is per operation too.
    invalid = False

    def on_validate(self) -> Iterator[None]:
        yield
        # Read here: later Strawberry also files execution errors under ``pre_execution_errors``.
        self.invalid = bool(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if self.invalid or context.graphql_document is None:
            record_graphql_operation("invalid", "user_error")
            return
        result = context.result
        errors = list(getattr(result, "errors", None) or [])
        data = getattr(result, "data", None)
        record_graphql_operation(operation_label(context.graphql_document, context.operation_name),
                                 outcome(errors, data))


def outcome(errors: list[GraphQLError], data: object) -> str:
    if any(_is_internal(error) for error in errors):
        return "error"
    if errors:
        return "user_error"
    if isinstance(data, dict) and any(isinstance(v, dict) and v.get("userErrors") for v in data.values()):
        return "user_error"
    return "ok"


def _is_internal(error: GraphQLError) -> bool:
    if (error.extensions or {}).get("code") == "INTERNAL":
        return True
    original = error.original_error
    return original is not None and not isinstance(original, ApiError)


def operation_label(document: DocumentNode | None, operation_name: str | None) -> str:
    """The sorted root field names of the operation that ran, e.g. ``me,residences``."""
    if document is None:
        return "invalid"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((op for op in operations if op.name and op.name.value == operation_name), None)
    if chosen is None:
        if not operations:
            return "invalid"
        chosen = operations[0]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names = sorted(_root_fields(chosen.selection_set, fragments, set()))
    if not names:
        return "introspection"
    if len(names) > MAX_NAMED_FIELDS:
        return "multiple"
    return ",".join(names)


def _root_fields(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                 seen: set[str]) -> set[str]:
    names: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if not selection.name.value.startswith("__"):
                names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names |= _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                names |= _root_fields(fragment.selection_set, fragments, seen)
    return names
