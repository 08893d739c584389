"""The Strawberry ASGI view: builds each request's context (authenticated user, loaders) and serves GraphiQL.

It also guards the request itself, before any GraphQL work: a body over ``MAX_REQUEST_BYTES`` is answered
413 ``REQUEST_TOO_LARGE`` without being read further (the declared Content-Length is checked first, a
chunked body is counted as it arrives), and a body that is not JSON, or is nested too deeply for the JSON
parser, is answered 400 ``BAD_REQUEST``. Both answers are GraphQL-shaped JSON, as every other answer is.
"""

from __future__ import annotations

import json

from cross_web import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse

from honeydue.services import services_of
from honeydue.tokens import authenticate_session, bearer_from_header
from resolvers.validation import LONGEST_LIST
from schema.context import Context

# GraphQL-shaped codes for the answers Strawberry gives before any operation runs.
HTTP_ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


class BodyTooLarge(Exception):
    """The body ran past ``MAX_REQUEST_BYTES`` while it was being read."""


def error_response(status: int, message: str) -> Response:
    code = HTTP_ERROR_CODES.get(status, "BAD_REQUEST")
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def too_large(limit: int) -> Response:
    return error_response(413, f"The request body is larger than {limit} bytes.")


def bounded_receive(receive: Receive, limit: int) -> Receive:
    """``receive``, raising ``BodyTooLarge`` as soon as the body's bytes so far exceed ``limit``."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge()
        return message

    return receive_within_limit


def cut_long_lists(value: object, keep: int) -> None:
    """Cut every JSON array inside ``value`` to its first ``keep`` entries, in place.

    Every list argument is capped at most ``LONGEST_LIST``, so an array longer than that is refused by
    its cap whatever else it holds; cutting it first keeps GraphQL's coercion of the variables from
    doing work in proportion to a list it will refuse. Iterative: the JSON parser already bounded
    the depth, and a recursive walk would have a lower limit than the parser's.
    """
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            del node[keep:]
            pending.extend(node)
        elif isinstance(node, dict):
            pending.extend(node.values())


class HoneydueGraphQL(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        limit = services_of(scope["app"]).settings.max_request_bytes
        declared = Headers(scope=scope).get("content-length")
        response: Response
        if declared is not None and not (declared.isascii() and declared.isdigit()):
            response = error_response(400, "Content-Length is not a number.")
        elif declared is not None and int(declared) > limit:
            response = too_large(limit)
        else:
            try:
                response = await self.run(Request(scope, receive=bounded_receive(receive, limit)))
            except BodyTooLarge:
                response = too_large(limit)
            except HTTPException as refused:
                response = error_response(refused.status_code, refused.reason)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry turns only JSONDecodeError into a 400: bytes that are not UTF-8 (UnicodeDecodeError)
        # and nesting deeper than the parser's recursion allows (RecursionError) would be a 500.
        try:
            body = json.loads(data)
        except RecursionError:
            raise HTTPException(400, "The request body is nested too deeply.") from None
        except ValueError as error:
            raise HTTPException(400, "Unable to parse request body as JSON.") from error
        for request in body if isinstance(body, list) else [body]:
            if isinstance(request, dict):
                cut_long_lists(request.get("variables"), LONGEST_LIST + 1)
        return body

    def create_response(self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
                        sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        # Answers carry the caller's own data, and login's carries a token: never kept by any cache.
        response.headers["Cache-Control"] = "no-store"
        return response

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        token = bearer_from_header(request.headers.get("authorization"))
        session = await authenticate_session(token) if token else None
        user = session.user if session else None
        return Context(
            request=request,
            response=response,
            services=services_of(request),
            user=user,
            token=token if user else None,
            session_id=session.id if session else None,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        from honeydue.graphiql import render_graphiql_page

        return render_graphiql_page(request)

