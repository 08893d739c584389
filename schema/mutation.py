"""Every mutation written one way: the caller first, user errors into the payload, the payload named after it.

A mutation resolver does its work and returns its *result*: a small ``@strawberry.type`` holding what the
payload shows besides ``userErrors`` (every field defaulted, so an empty one is the error answer). Bad input
is raised as ``InputRejected`` from anywhere inside; the resolver never builds an error payload. ``mutation``
wraps it, once for every mutation (the part Saleor's ``BaseMutation`` plays):

* it requires a signed-in caller before the resolver runs (unless ``public``), so an anonymous caller gets
  UNAUTHENTICATED whatever the input holds, malformed IDs included;
* a rejection becomes the payload with only ``userErrors`` set (raised inside the resolver's transaction, it
  has rolled the transaction back: nothing was written);
* the payload type is named after the mutation, as API.md asks (``createTask`` answers ``CreateTaskPayload``):
  the result's fields, then ``userErrors``. Mutations that answer the same shape share one result class.

A new mutation is then its input, perhaps a result class, and a few lines::

    @mutation("Moves a task out of the default lists (EDITOR).")
    async def archive_task(self, info: Info[Context, None], input: ArchiveTaskInput) -> TaskResult:
        return TaskResult(task=Task.from_row(await tasks.archive(info.context.require_user(), input.task_id)))
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from honeydue.user_errors import Rejection, attempt
from schema.common import UserError, user_errors

Resolver = Callable[..., Awaitable[Any]]


@strawberry.type
class OkResult:
    """The result of a mutation with nothing to show but that it worked."""

    ok: bool = strawberry.field(default=False, description="True when the mutation took effect.")


USER_ERRORS_DESCRIPTION = ("Why the input was refused; empty on success. When not empty, the mutation changed "
                           "nothing and the other fields are empty (null, false or 0).")


def payload_type(mutation_name: str, result: type, mutation_description: str) -> type:
    """The ``<MutationName>Payload`` type: ``result``'s fields, then ``userErrors``; described from the mutation."""
    name = mutation_name[0].upper() + mutation_name[1:] + "Payload"
    summary = mutation_description.split(". ")[0].rstrip(".")  # the first sentence: what the mutation does
    namespace = {
        "__module__": result.__module__,
        "__annotations__": {"user_errors": list[UserError]},
        "user_errors": strawberry.field(default_factory=list, description=USER_ERRORS_DESCRIPTION),
    }
    description = (f"The answer of `{mutation_name}`, which {summary[:1].lower()}{summary[1:]}. When the input is "
                   "refused, only `userErrors` is set.")
    return strawberry.type(type(name, (result,), namespace), name=name, description=description)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def mutation(description: str, *, public: bool = False) -> Callable[[Resolver], Any]:
    """Make ``resolver`` (``async def name(self, info, [input]) -> SomeResult``) a mutation field.

    ``description`` is what GraphiQL's docs show for the mutation (and, in short, for its payload): what it
    does, who may call it, its limits and the top-level errors it gives besides ``userErrors``. ``public``
    mutations (register, login) run without a signed-in caller.
    """

    def decorate(resolver: Resolver) -> Any:
        result_type = typing.get_type_hints(resolver)["return"]
        name = _camel(resolver.__name__)
        payload = payload_type(name, result_type, description)
        result_fields = [field.name for field in dataclasses.fields(result_type)]

        @functools.wraps(resolver)
        async def run(*args: Any, **kwargs: Any) -> Any:
            if not public:
                kwargs["info"].context.require_user()
            outcome = await attempt(resolver(*args, **kwargs))
            if isinstance(outcome, Rejection):
                return payload(user_errors=user_errors(outcome.errors))
            return payload(**{name: getattr(outcome, name) for name in result_fields})

        field = strawberry.mutation(resolver=run, graphql_type=payload, description=description)
        for argument in field.arguments:
            if argument.python_name == "input":
                argument.description = f"The parameters of `{name}`."
        return field

    return decorate
