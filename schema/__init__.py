"""The GraphQL schema: every area's Query and Mutation merged into one ``Schema``."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from schema.accounts import AccountMutation, AccountQuery
from schema.errors import ErrorCodes

# Limits against abusive queries; generous enough for the admin UI's deepest page.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

Query = merge_types("Query", (AccountQuery,))
Mutation = merge_types("Mutation", (AccountMutation,))

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        ErrorCodes,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ],
)
