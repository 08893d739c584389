"""The GraphQL schema: every area's Query and Mutation merged into one ``Schema``."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from schema.accounts import AccountMutation, AccountQuery
from schema.admin import AdminQuery
from schema.documents import DocumentMutation, DocumentQuery
from schema.errors import ErrorCodes
from schema.media import MediaMutation, MediaQuery
from schema.metrics import GraphQLMetrics
from schema.notifications import NotificationMutation, NotificationQuery
from schema.residences import ResidenceMutation, ResidenceQuery
from schema.tasks import TaskMutation, TaskQuery

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

schema = strawberry.Schema(
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
