"""The GraphQL schema: every area's Query and Mutation merged into one ``Schema``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache
from strawberry.types import ExecutionContext

from schema.accounts import AccountMutation, AccountQuery
from schema.admin import AdminQuery
from schema.admin_mutations import AdminMutation
from schema.calendar import CalendarMutation
from schema.contractors import ContractorMutation, ContractorQuery
from schema.data_exports import DataExportMutation
from schema.devices import DeviceMutation, DeviceQuery
from schema.documents import DocumentMutation, DocumentQuery
from schema.errors import ErrorCodes
from schema.limits import MAX_ALIASES, MAX_DEPTH, MAX_FIELDS, MAX_TOKENS, QueryLimits
from schema.media import MediaMutation, MediaQuery
from schema.metrics import GraphQLMetrics
from schema.notification_channels import NotificationChannelMutation
from schema.notifications import NotificationMutation, NotificationQuery
from schema.reports import ReportMutation
from schema.residence_files import ResidenceFileMutation
from schema.residences import ResidenceMutation, ResidenceQuery
from schema.sessions import SessionMutation
from schema.tasks import TaskMutation, TaskQuery
from schema.templates import TemplateQuery
from schema.text_inputs import refuse_control_characters

log = logging.getLogger("honeydue.graphql")

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_FIELDS", "MAX_TOKENS", "schema"]

# Clients send the same few query texts over and over: parsing one costs more CPU than most resolvers, so
# the document is kept per distinct text (bounded LRU; a pure function of the text and the token limit).
# Validation results are cached the same way by ``QueryLimits``.
QUERY_CACHE_SIZE = 256


@strawberry.type(description="What can be read. Every field needs a signed-in caller (`Authorization: Bearer "
                             "<token>`): without one it is the top-level error UNAUTHENTICATED.")
class Query(AccountQuery, ResidenceQuery, TaskQuery, TemplateQuery, ContractorQuery, DocumentQuery, MediaQuery,
            NotificationQuery, DeviceQuery, AdminQuery):
    """Every area's query fields in one root type."""


@strawberry.type(description="What can be changed. Each mutation takes one `input` and answers a payload whose "
                             "`userErrors` lists refused input. All but register and login need a signed-in caller: "
                             "without one it is UNAUTHENTICATED, before the input is read.")
class Mutation(AccountMutation, SessionMutation, CalendarMutation, ResidenceMutation, TaskMutation, ContractorMutation,
               DocumentMutation, MediaMutation, NotificationMutation, DataExportMutation,
               ResidenceFileMutation, ReportMutation, DeviceMutation, AdminMutation, NotificationChannelMutation):
    """Every area's mutations in one root type."""


refuse_control_characters(Query, Mutation)


class _ParserCache(ParserCache):
    """Strawberry's ParserCache, except that a text that fails to parse is left to the normal parse step.

    An error raised inside the extension's hook escapes Strawberry's parse-error handling (the client
    would get an uncoded error); parsing again where Strawberry expects it keeps the answer identical.
    """

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLError:
            self.execution_context.graphql_document = None
            yield


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
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: _ParserCache(maxsize=QUERY_CACHE_SIZE),
        QueryLimits,
    ],
)
