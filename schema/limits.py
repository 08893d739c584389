"""Limits against abusive documents, measured in one pass that is linear in the size of the document.

A fragment spread stands for the whole fragment, so a document can ask for far more than its text shows:
20 fragments that each spread the next one twice select 2^20 fields from 1 KB. Strawberry's limiters
(``QueryDepthLimiter``, ``MaxAliasesLimiter``) expand every spread again where it occurs, which is that
same exponential work (seconds of one core, the whole process stalled) before they refuse. Here each
fragment is measured once, its figures (depth, aliases, fields) are memoised, and a spread adds the
memoised figures; the first figure over its limit ends the measuring with ``QUERY_TOO_COMPLEX``.

The measuring runs before graphql-core's validation (``QueryLimits.on_validate``), so the standard rules
only ever see documents whose expansion is bounded by these limits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# Generous enough for the admin UI's deepest page and GraphiQL's introspection query.
MAX_DEPTH = 10  # nested fields with a selection set; introspection fields (``__schema``...) do not count
MAX_ALIASES = 30  # aliased fields, each fragment counted every time it is spread
MAX_TOKENS = 2000  # lexical tokens of the document (graphql-core's parser stops at the limit)
# Fields selected, each fragment counted every time it is spread (GraphiQL's introspection query selects
# 229, the admin UI's deepest page 40). It also bounds graphql-core's validation, whose field-overlap rule
# is quadratic in fields sharing a response name: 500 copies of one field take tens of milliseconds.
MAX_FIELDS = 500
COMPLEXITY_CODE = "QUERY_TOO_COMPLEX"


class TooComplex(Exception):
    def __init__(self, message: str, node: Node) -> None:
        super().__init__(message)
        self.node = node


@dataclass(frozen=True)
class Measure:
    depth: int  # fields with a selection set on the longest path (a leaf counts 0, as Strawberry counted)
    aliases: int
    fields: int


def limit_error(document: DocumentNode) -> GraphQLError | None:
    """``QUERY_TOO_COMPLEX`` for the first limit the document crosses, or None when it stays within all."""
    try:
        measure_document(document)
    except TooComplex as refused:
        return GraphQLError(str(refused), nodes=[refused.node], extensions={"code": COMPLEXITY_CODE})
    return None


def measure_document(document: DocumentNode) -> dict[str, Measure]:
    """Each operation's figures by name ('' for an anonymous one); raises ``TooComplex`` at the first excess.

    Unknown fragments and spreads that close a cycle count as nothing here: validation reports them.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    memo = _measure_fragments(fragments)
    measures: dict[str, Measure] = {}
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            name = operation.name.value if operation.name else ""
            what = f"Operation '{name}'" if name else "The operation"
            measures[name] = _measure(operation.selection_set, memo, what)
    return measures


def _measure_fragments(fragments: dict[str, FragmentDefinitionNode]) -> dict[str, Measure]:
    """Every fragment measured once, the fragments it spreads first (an explicit stack: no recursion)."""
    memo: dict[str, Measure] = {}
    spreads = {name: set(_spread_names(fragment.selection_set)) for name, fragment in fragments.items()}
    entered: set[str] = set()
    for root in fragments:
        stack = [root]
        while stack:
            name = stack[-1]
            if name in memo:
                stack.pop()
                continue
            if name not in entered:
                entered.add(name)
                # A fragment already entered but not measured is on the stack: spreading it closes a cycle.
                waiting = [s for s in spreads[name] if s in fragments and s not in memo and s not in entered]
                if waiting:
                    stack.extend(waiting)
                    continue
            memo[name] = _measure(fragments[name].selection_set, memo, f"Fragment '{name}'", check_depth=False)
            stack.pop()
    return memo


def _spread_names(selection_set: SelectionSetNode) -> Iterator[str]:
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif selection.selection_set is not None:  # type: ignore[attr-defined]
                pending.append(selection.selection_set)  # type: ignore[attr-defined]


def _measure(selection_set: SelectionSetNode, memo: dict[str, Measure], what: str,
             check_depth: bool = True) -> Measure:
    """The figures of one selection set; fragments' depth is judged where they are spread (within
    introspection, as GraphiQL's ``TypeRef`` is, depth does not count)."""
    depth = aliases = fields = 0
    # (selection set, how many depth-counting fields enclose it, whether its fields count for depth)
    pending: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, True)]
    while pending:
        current, level, counts_depth = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                fields += 1
                aliases += selection.alias is not None
                if selection.selection_set is not None:
                    # Introspection is left out of depth, as Strawberry's QueryDepthLimiter did.
                    deeper = counts_depth and not selection.name.value.startswith("__")
                    if deeper:
                        depth = max(depth, level + 1)
                    pending.append((selection.selection_set, level + deeper, deeper))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, level, counts_depth))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = memo.get(selection.name.value)
                if fragment is None:
                    continue
                fields += fragment.fields
                aliases += fragment.aliases
                if counts_depth and fragment.depth:
                    depth = max(depth, level + fragment.depth)
            _check(what, depth if check_depth else 0, aliases, fields, selection)
    return Measure(depth=depth, aliases=aliases, fields=fields)


def _check(what: str, depth: int, aliases: int, fields: int, node: Node) -> None:
    if depth > MAX_DEPTH:
        raise TooComplex(f"{what} exceeds maximum operation depth of {MAX_DEPTH}.", node)
    if aliases > MAX_ALIASES:
        raise TooComplex(f"{what} has more than {MAX_ALIASES} aliases (fragments count every time they "
                         "are spread).", node)
    if fields > MAX_FIELDS:
        raise TooComplex(f"{what} selects more than {MAX_FIELDS} fields (fragments count every time they "
                         "are spread).", node)


class ValidationResults:
    """graphql-core's verdict per query text (bounded LRU): clients send the same few texts over and over.

    Keyed on the text, not the document: the same text parses to an equal document, a string hashes once,
    while a document node hashes its whole tree on every lookup.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._results: OrderedDict[tuple[int, str, tuple[type[ASTValidationRule], ...]], list[GraphQLError]] = \
            OrderedDict()

    def validate(self, schema: GraphQLSchema, query: str, document: DocumentNode,
                 rules: tuple[type[ASTValidationRule], ...]) -> list[GraphQLError]:
        key = (id(schema), query, rules)
        errors = self._results.get(key)
        if errors is None:
            errors = self._results[key] = validate_document(schema, document, rules)
            if len(self._results) > self.maxsize:
                self._results.popitem(last=False)
        else:
            self._results.move_to_end(key)
        return errors


VALIDATION_CACHE_SIZE = 256
_validation_results = ValidationResults(VALIDATION_CACHE_SIZE)


class QueryLimits(SchemaExtension):
    """Validation: this module's limits first, then graphql-core's rules (cached per query text)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # parsing succeeded, or validation would not run
        error = limit_error(document)
        if error is not None:
            context.pre_execution_errors = [error]
        elif context.query is None:  # a document given directly (never over HTTP): no text to key on
            context.pre_execution_errors = validate_document(context.schema._schema, document,
                                                             tuple(context.validation_rules))
        else:
            context.pre_execution_errors = _validation_results.validate(
                context.schema._schema, context.query, document, tuple(context.validation_rules))
        yield
