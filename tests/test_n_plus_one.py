"""No N+1: a page costs the same number of SQL statements whether it lists 3 tasks or 60.

Statements are counted from the ``tortoise.db_client`` logger, which Tortoise writes every query to at
DEBUG level, so the count covers everything the request ran (token check included), on either backend.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest

from honeydue import models
from honeydue.clock import utc_now
from resolvers.contractors import search_columns
from tests.plugins.domain import Actor, World, make_world

PAGE = """query($id: ID!) { residence(id: $id) { name myRole
  members { role joinedAt user { displayName avatar { id } } }
  tasks(first: 100) { totalCount edges { node { title dueDate column lastCompletedAt assignee { displayName }
    snoozedUntil missedOccurrences rotation { mode members { displayName } }
    residence { name } contractor { name } completions(first: 5) { totalCount edges { node { completedAt costCents
      skipped completedBy { displayName } contractor { name phone } photos { id filename } } } } } } }
  documents { totalCount edges { node { title files { id } } } }
  contractors(first: 100, search: "FIX") { totalCount edges { node { name specialties vcard residence { name } } } }
} }"""
EVERYWHERE = """{ residences { edges { node { name tasks(filter: {columns: [OVERDUE, DUE_SOON]}) { totalCount
  edges { node { title assignee { id } contractor { id } completions { totalCount } } } }
  contractors(specialty: "plumbing", favoritesOnly: true) { totalCount edges { node { name } } } } } }
  upcomingTasks(first: 100) { totalCount edges { node { title column residence { name } assignee { id } } } } }"""
SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
pytestmark = pytest.mark.usefixtures("frozen_now")  # "today" is one date for the rows and the code


class StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().lstrip()
        if message.upper().startswith(SQL_VERBS):
            self.statements.append(message)


@contextmanager
def count_statements() -> Iterator[StatementCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    previous = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


async def furnish(world: World, tasks: int, assignee: Actor) -> None:
    """``tasks`` tasks, each with an assignee, a rotation of two and a contractor, two completions with a photo
    and a contractor each; ``tasks`` contractors (favourite plumbers); and a document with a file."""
    today = datetime.now(UTC).date()
    contractors = [models.Contractor(id=uuid.uuid4(), residence=world.residence, name=f"Fixer {i}", phone="555",
                                     favorite=True, specialties=["plumbing"],
                                     **search_columns(f"Fixer {i}", "", ["plumbing"])) for i in range(tasks)]
    await models.Contractor.bulk_create(contractors)
    """``tasks`` tasks, each with an assignee, two completions with a photo each; and a document with a file."""
    today = utc_now().date()
    task_rows = [models.Task(id=uuid.uuid4(), residence=world.residence, title=f"task {i}", frequency="WEEKLY",
                             due_date=today + timedelta(days=i - tasks // 2), anchor_date=date(2025, 1, 1),
                             assignee=assignee.user, last_completed_at=datetime(2025, 1, 2, tzinfo=UTC),
                             contractor_id=contractors[i].id, rotation_mode="ROUND_ROBIN")
                 for i in range(tasks)]
    await models.Task.bulk_create(task_rows)
    await models.TaskRotationMember.bulk_create([
        models.TaskRotationMember(task_id=task.id, user_id=member.id, position=position)
        for task in task_rows for position, member in enumerate((assignee.user, world.owner.user))])
    completions = [models.TaskCompletion(id=uuid.uuid4(), task_id=task.id, completed_by=assignee.user,
                                         completed_at=datetime(2025, 1, d, tzinfo=UTC), cost_cents=100,
                                         contractor_id=contractors[-1 - n].id)
                   for n, task in enumerate(task_rows) for d in (1, 2)]
    await models.TaskCompletion.bulk_create(completions)
    photos = [models.Media(key=f"tasks/{c.task_id}/completions/{uuid.uuid4()}.jpg", owner=assignee.user,  # type: ignore[attr-defined]
                           purpose="COMPLETION_PHOTO", target_id=c.task_id, completion_id=c.id,  # type: ignore[attr-defined]
                           residence=world.residence, filename="p.jpg", content_type="image/jpeg", size=10,
                           status="READY") for c in completions]
    await models.Media.bulk_create(photos)
    document = await models.Document.create(residence=world.residence, title="manual")
    await models.Media.create(key=f"residences/{world.rid}/documents/{uuid.uuid4()}.pdf", owner=assignee.user,
                              purpose="DOCUMENT_FILE", target_id=world.residence.id, document=document,
                              residence=world.residence, filename="m.pdf", content_type="application/pdf", size=10,
                              status="READY")


async def statements_for(api, actor: Actor, query: str, variables: dict) -> tuple[int, dict]:
    with count_statements() as counter:
        result = await api.execute(query, variables, token=actor.token)
    assert "errors" not in result, result
    return len(counter.statements), result["data"]


@pytest.mark.parametrize("query", [PAGE, EVERYWHERE], ids=["residence-page", "residences-and-upcoming"])
async def test_statement_count_does_not_grow_with_the_list(api, settings, query) -> None:
    counts = {}
    for size in (3, 60):
        world = await make_world()
        await furnish(world, size, world.editor)
        counts[size], data = await statements_for(api, world.viewer, query, {"id": world.rid})
        if query is PAGE:
            tasks = data["residence"]["tasks"]
            assert tasks["totalCount"] == size and len(tasks["edges"]) == size
            first = tasks["edges"][0]["node"]
            assert first["completions"]["totalCount"] == 2 and len(first["completions"]["edges"][0]["node"]
                                                                   ["photos"]) == 1
            assert first["assignee"] == {"displayName": "Editor"}
            assert first["contractor"] == {"name": "Fixer 0"}
            assert first["completions"]["edges"][0]["node"]["contractor"] == {"name": f"Fixer {size - 1}",
                                                                              "phone": "555"}
            contractors = data["residence"]["contractors"]
            assert contractors["totalCount"] == size and len(contractors["edges"]) == size
            assert contractors["edges"][0]["node"]["vcard"].startswith("BEGIN:VCARD\r\n")
            assert first["rotation"] == {"mode": "ROUND_ROBIN",
                                         "members": [{"displayName": "Editor"}, {"displayName": "Owner"}]}
        else:
            assert data["upcomingTasks"]["totalCount"] > 0
            (residence,) = data["residences"]["edges"]
            assert residence["node"]["contractors"]["totalCount"] == size
    assert counts[3] == counts[60], counts


SUGGESTIONS = """query($id: ID!, $first: Int) { suggestedTasks(residenceId: $id, first: $first) { score reasons
  template { id title description category frequency intervalDays season month features residenceTypes climates
  importance } } }"""


async def test_suggestions_cost_the_same_statements_for_3_or_60(api, settings) -> None:
    world = await make_world()
    await models.Residence.filter(id=world.residence.id).update(has_pool=True, has_septic=True, has_basement=True)
    await models.Task.create(residence=world.residence, title="used", template_id="hvac-filter-replace")
    counts = {}
    for size in (3, 60):
        counts[size], data = await statements_for(api, world.viewer, SUGGESTIONS, {"id": world.rid, "first": size})
        assert len(data["suggestedTasks"]) == size
        assert "hvac-filter-replace" not in {s["template"]["id"] for s in data["suggestedTasks"]}
    assert counts[3] == counts[60], counts


async def test_calendar_feed_costs_the_same_statements_for_3_or_60_tasks(api, settings) -> None:
    """The feed reads the token, the memberships with their residences, the tasks and the preference: the
    same statements for 3 tasks in one residence as for 60 spread over four."""
    from tests.test_calendar_feed import events, feed_url, get_feed

    counts = {}
    for size, homes in ((3, 1), (60, 4)):
        world = await make_world()
        await furnish(world, size, world.editor)
        for n in range(1, homes):
            extra = await models.Residence.create(name=f"home {n}", address=f"{n} Side St")
            await models.Membership.create(residence=extra, user=world.viewer.user, role="VIEWER")
            await models.Task.create(residence=extra, title=f"extra {n}", frequency="MONTHLY",
                                     due_date=date(2030, 1, n), anchor_date=date(2030, 1, n))
        url = await feed_url(api, world.viewer.token)
        with count_statements() as counter:
            response = await get_feed(api, url)
        assert response.status_code == 200
        assert len(events(response.content)) == size + homes - 1
        counts[size] = len(counter.statements)
    assert counts[3] == counts[60], counts


SPENDING = """query($id: ID!) { residence(id: $id) { spending(year: 2025) { totalCents count
  byCategory { category totalCents count } byMonth { month totalCents count } } } }"""
REPORT = """mutation($id: ID!) { residenceReport(input: {residenceId: $id, from: "2024-06-01", to: "2025-05-31"}) {
  url userErrors { code } } }"""


async def test_spending_and_the_report_cost_the_same_statements_for_3_or_60_tasks(api, settings) -> None:
    """Spending is two aggregates, the report a fixed set of reads, whatever the number of completions."""
    spending_counts, report_counts = {}, {}
    for size in (3, 60):
        world = await make_world()
        await furnish(world, size, world.editor)
        spending_counts[size], data = await statements_for(api, world.viewer, SPENDING, {"id": world.rid})
        spent = data["residence"]["spending"]
        assert spent["totalCents"] == 200 * size and spent["count"] == 2 * size
        assert spent["byMonth"][0] == {"month": 1, "totalCents": 200 * size, "count": 2 * size}
        report_counts[size], data = await statements_for(api, world.viewer, REPORT, {"id": world.rid})
        assert data["residenceReport"]["userErrors"] == [] and data["residenceReport"]["url"]
    assert spending_counts[3] == spending_counts[60], spending_counts
    assert report_counts[3] == report_counts[60], report_counts
