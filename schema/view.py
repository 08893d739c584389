"""The Strawberry ASGI view: builds each request's context (authenticated user, loaders) and serves GraphiQL."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL

from honeydue.tokens import authenticate_token, bearer_from_header
from schema.context import Context


class HoneydueGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.app.state
        token = bearer_from_header(request.headers.get("authorization"))
        user = await authenticate_token(token) if token else None
        return Context(
            request=request,
            response=response,
            settings=state.settings,
            rate_limiter=state.rate_limiter,
            user=user,
            token=token if user else None,
            storage=getattr(state, "storage", None),
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        from honeydue.graphiql import render_graphiql_page

        return render_graphiql_page(request)
