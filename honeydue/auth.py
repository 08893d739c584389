"""Authentication entry points shared by the API and the gateway."""

from honeydue.tokens import authenticate_token, bearer_from_header

__all__ = ["authenticate_token", "bearer_from_header"]
