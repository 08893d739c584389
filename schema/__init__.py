"""The GraphQL schema: every area's Query and Mutation merged into one ``Schema``."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.accounts import AccountMutation, AccountQuery
from schema.admin import AdminQuery
from schema.documents import DocumentMutation, DocumentQuery
from schema.errors import ErrorCodes
from schema.media import MediaMutation, MediaQuery
from schema.metrics import GraphQLMetrics
from schema.notifications import NotificationMutation, NotificationQuery
from schema.residences import ResidenceMutation, ResidenceQuery
from schema.tasks import TaskMutation, TaskQuery

log = logging.getLogger("honeydue.graphql")

# Limits against abusive queries; generous enough for the admin UI's deepest page.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

Query = merge_types(
    "Query", (AccountQuery, ResidenceQuery, TaskQuery, DocumentQuery, MediaQuery, NotificationQuery, AdminQuery)
)
Mutation = merge_types(
    "Mutation",
    (AccountMutation, ResidenceMutation, TaskMutation, DocumentMutation, MediaMutation, NotificationMutation),
)

class HoneydueSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Expected errors (NOT_FOUND, FORBIDDEN, validation, ...) are answers, not incidents: no traceback.

        Strawberry's default logs every error at ERROR with a traceback and the query text; unexpected
        exceptions are logged once, by ``ErrorCodes``, before they are masked.
        """
        for error in errors:
            log.debug("graphql error at %s: %s", error.path, error.message)


schema = HoneydueSchema(
    query=Query,
    mutation=Mutation,
    extensions=[
        GraphQLMetrics,
        ErrorCodes,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ],
)
