"""Spending and the residence report: totals by category and month in the residence's year, and a PDF whose
text (read back with pypdf) holds the home, tasks, who did what, costs, documents and totals, served at once
through the gateway; generated files expire with one clean-up job."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image
from pypdf import PdfReader

from honeydue import models
from honeydue.generated_files import expire_generated_files
from honeydue.services import services_of
from resolvers import report_pdf
from resolvers.reports import MAX_PHOTOS, REPORTS_PER_HOUR
from tests.plugins.domain import World, error_code, make_world

SPENDING = """query($id: ID!, $year: Int) { residence(id: $id) { spending(year: $year) { year totalCents count
  byCategory { category totalCents count } byMonth { month totalCents count } } } }"""
REPORT = """mutation($i: ResidenceReportInput!) { residenceReport(input: $i) { url expiresAt
  userErrors { field code message } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def task(world: World, title: str, category: str = "OTHER", **fields: object) -> models.Task:
    return await models.Task.create(residence=world.residence, title=title, category=category, **fields)


async def done(task_row: models.Task, at: datetime, cost: int | None, **fields: object) -> models.TaskCompletion:
    return await models.TaskCompletion.create(task=task_row, completed_at=at, cost_cents=cost, **fields)


def pdf_text(data: bytes) -> str:
    """The text of every page, runs of white space (table cells wrap their lines) as one space."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def image_xobjects(data: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(data)).pages:
        xobjects = page["/Resources"].get_object().get("/XObject")
        if xobjects is None:
            continue
        for ref in xobjects.get_object().values():
            if ref.get_object()["/Subtype"] == "/Image":
                count += 1
    return count


async def report(api, world: World, role: str = "viewer", **fields: object) -> dict:
    result = await api.execute(REPORT, {"i": {"residenceId": world.rid, **fields}}, token=world.actor(role).token)
    return result["data"]["residenceReport"]


async def fetch(api, url: str) -> tuple[int, str, bytes]:
    response = await api.http.get(url)
    return response.status_code, response.headers.get("content-type", ""), response.content


# --- spending ------------------------------------------------------------------------------------------------


async def test_spending_totals_by_category_and_by_month_in_the_residence_year(api, settings) -> None:
    world = await make_world(timezone="America/New_York")
    hvac, yard, free = await task(world, "Filter", "HVAC"), await task(world, "Mow", "LAWN_GARDEN"), await task(
        world, "Dust", "CLEANING")
    await done(hvac, datetime(2025, 1, 10, 15, tzinfo=UTC), 12_000)
    await done(hvac, datetime(2025, 3, 1, 5, tzinfo=UTC), 3_050)  # 00:00 on 1 March in New York: March
    await done(yard, datetime(2025, 3, 1, 4, 59, tzinfo=UTC), 2_500)  # 23:59 on 28 February there: February
    await done(yard, datetime(2025, 12, 31, 23, tzinfo=UTC), 1_000)  # 18:00 on New Year's Eve there: 2025
    await done(yard, datetime(2026, 1, 1, 5, 30, tzinfo=UTC), 9_999)  # 2026 there
    await done(yard, datetime(2025, 1, 1, 4, tzinfo=UTC), 7_777)  # 23:00 on 31 December 2024 there
    await done(free, datetime(2025, 6, 1, 12, tzinfo=UTC), None)  # no cost: not counted
    await done(free, datetime(2025, 6, 2, 12, tzinfo=UTC), 0)  # a free job: counted at 0
    await done(free, datetime(2025, 6, 3, 12, tzinfo=UTC), 0, skipped=True)  # a skip: not work done
    elsewhere = await make_world(timezone="America/New_York")
    await done(await task(elsewhere, "Theirs", "HVAC"), datetime(2025, 5, 1, 12, tzinfo=UTC), 50_000)

    result = await api.execute(SPENDING, {"id": world.rid, "year": 2025}, token=world.viewer.token)
    spent = result["data"]["residence"]["spending"]
    assert spent["year"] == 2025 and spent["totalCents"] == 12_000 + 3_050 + 2_500 + 1_000 and spent["count"] == 5
    assert spent["byCategory"] == [
        {"category": "HVAC", "totalCents": 15_050, "count": 2},
        {"category": "LAWN_GARDEN", "totalCents": 3_500, "count": 2},
        {"category": "CLEANING", "totalCents": 0, "count": 1},
    ]
    months = {m["month"]: (m["totalCents"], m["count"]) for m in spent["byMonth"]}
    assert [m["month"] for m in spent["byMonth"]] == list(range(1, 13))
    assert months == {1: (12_000, 1), 2: (2_500, 1), 3: (3_050, 1), 4: (0, 0), 5: (0, 0), 6: (0, 1), 7: (0, 0),
                      8: (0, 0), 9: (0, 0), 10: (0, 0), 11: (0, 0), 12: (1_000, 1)}

    earlier = (await api.execute(SPENDING, {"id": world.rid, "year": 2024}, token=world.viewer.token))
    assert earlier["data"]["residence"]["spending"]["byMonth"][11] == {"month": 12, "totalCents": 7_777, "count": 1}


async def test_spending_defaults_to_this_year_and_refuses_years_out_of_range(api, world, frozen_now) -> None:
    # "This year" is the service's (frozen, mid-year): on the wall clock a completion a minute ago lies in last
    # year during New Year's first minute.
    this_year = frozen_now.now.year  # the residence is in UTC
    await done(await task(world, "Now", "SAFETY"), frozen_now.now - timedelta(minutes=1), 4_200)
    spent = (await api.execute(SPENDING, {"id": world.rid}, token=world.viewer.token))["data"]["residence"]["spending"]
    assert spent["year"] == this_year and spent["totalCents"] == 4_200
    assert spent["byCategory"] == [{"category": "SAFETY", "totalCents": 4_200, "count": 1}]
    empty = await api.execute(SPENDING, {"id": world.rid, "year": this_year + 1}, token=world.viewer.token)
    assert empty["data"]["residence"]["spending"]["totalCents"] == 0
    assert len(empty["data"]["residence"]["spending"]["byMonth"]) == 12
    assert empty["data"]["residence"]["spending"]["byCategory"] == []
    for year in (1969, this_year + 2):
        refused = await api.execute(SPENDING, {"id": world.rid, "year": year}, token=world.viewer.token)
        assert error_code(refused) == "INVALID_INPUT" and "1970" in refused["errors"][0]["message"]


# --- the report ----------------------------------------------------------------------------------------------


async def furnish(world: World) -> None:
    await models.Residence.filter(id=world.residence.id).update(
        year_built=1987, heating="HEAT_PUMP", has_pool=True, climate_region="MARINE", type="TOWNHOUSE")
    plumber = await models.Contractor.create(residence=world.residence, name="Ada Pipeworks", company="Ada & Co")
    gutters = await task(world, "Clean the gutters", "EXTERIOR", frequency="QUARTERLY",
                         due_date=datetime.now(UTC).date() + timedelta(days=30), assignee=world.editor.user)
    heater = await task(world, "Flush the water heater", "PLUMBING", frequency="CUSTOM", interval_days=180,
                        rolling=True, contractor=plumber)
    recent = datetime.now(UTC) - timedelta(days=3)
    await done(heater, recent, 18_550, contractor=plumber, notes="Replaced the anode rod <and> the valve & seal.")
    await done(gutters, recent - timedelta(days=20), 2_000, completed_by=world.editor.user, notes="Two bags of leaves")
    await done(gutters, recent - timedelta(days=40), None, completed_by=world.owner.user)
    await done(gutters, recent - timedelta(days=50), None, completed_by=world.viewer.user, skipped=True)
    await done(gutters, datetime.now(UTC) - timedelta(days=800), 99_900, completed_by=world.owner.user,
               notes="Long ago")
    await models.Document.create(residence=world.residence, title="Furnace warranty", kind="WARRANTY",
                                 expires_at=date(2031, 4, 30))


async def test_report_is_a_pdf_with_the_home_tasks_completions_documents_and_totals(api, world) -> None:
    await furnish(world)
    before = datetime.now(UTC)  # bracketing the call: the link's end is rounded up from the service's now
    payload = await report(api, world)
    after = datetime.now(UTC)
    assert payload["userErrors"] == []
    expires = datetime.fromisoformat(payload["expiresAt"])
    assert before + timedelta(hours=24) <= expires <= after + timedelta(hours=25)
    assert urlsplit(payload["url"]).path.startswith(f"/media/exports/{world.viewer.id}/")

    status, content_type, body = await fetch(api, payload["url"])  # no session: the signed link is enough
    assert status == 200 and content_type == "application/pdf" and body.startswith(b"%PDF-")
    text = pdf_text(body)
    for expected in ("Home report: Home", "1 Main St", "townhouse", "1987", "heat pump", "marine",
                     "Clean the gutters", "Every 3 months", "Flush the water heater",
                     "Every 180 days, counted from the last completion",
                     "Ada Pipeworks, Ada & Co (contractor)", "Editor (member)", "Owner (member)",
                     "Replaced the anode rod <and> the valve & seal.", "Two bags of leaves",
                     "185.50", "20.00", "205.50", "Furnace warranty", "2031-04-30"):
        assert expected in text, (expected, text)
    assert "Long ago" not in text and "999.00" not in text  # before the last 12 months
    assert "Viewer (member)" not in text  # the viewer's skip is no completion
    assert "Completions in the period 3" in text and "Completions with a cost 2" in text

    row = await models.Media.get(key=urlsplit(payload["url"]).path.removeprefix("/media/"))
    assert (row.purpose, row.status, row.owner_id, row.content_type) == (
        models.MediaPurpose.RESIDENCE_REPORT, models.MediaStatus.READY, world.viewer.user.id, "application/pdf")
    assert row.size == len(body) and row.residence_id is None and row.target_id == world.residence.id


async def test_report_period_follows_from_and_to(api, world) -> None:
    await furnish(world)
    old = datetime.now(UTC) - timedelta(days=800)
    payload = await report(api, world, **{"from": (old - timedelta(days=1)).date().isoformat(),
                                          "to": (old + timedelta(days=1)).date().isoformat()})
    text = pdf_text((await fetch(api, payload["url"]))[2])
    assert "Long ago" in text and "999.00" in text and "Two bags of leaves" not in text


@pytest.mark.parametrize(("fields", "field"), [
    ({"from": "2025-05-02", "to": "2025-05-01"}, "from"),
    ({"from": "2014-01-01", "to": "2025-01-01"}, "from"),
    ({"from": "1969-12-31", "to": "1970-06-01"}, "from"),
    ({"to": "2999-01-01"}, "to"),
])
async def test_report_refuses_a_bad_period(api, world, fields: dict, field: str) -> None:
    payload = await report(api, world, **fields)
    assert payload["url"] is None and [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ([field], "INVALID_INPUT")]
    assert await models.Media.filter(purpose=models.MediaPurpose.RESIDENCE_REPORT).count() == 0


async def test_report_of_ten_years_exactly_is_fine(api, world) -> None:
    payload = await report(api, world, **{"from": "2015-01-01", "to": "2025-01-01"})
    assert payload["userErrors"] == [] and payload["url"]


def jpeg(size: tuple[int, int] = (1200, 900), shade: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, shade)).save(out, "JPEG")  # a distinct shade: a distinct image in the PDF
    return out.getvalue()


async def photo(world: World, storage, completion: models.TaskCompletion, data: bytes) -> models.Media:
    key = f"tasks/{completion.task_id}/completions/{uuid.uuid4()}.jpg"
    await storage.put_bytes(key, data, "image/jpeg")
    return await models.Media.create(
        key=key, owner=world.editor.user, purpose=models.MediaPurpose.COMPLETION_PHOTO, target_id=completion.task_id,
        completion=completion, residence=world.residence, filename="p.jpg", content_type="image/jpeg",
        size=len(data), status=models.MediaStatus.READY, finalized_at=datetime.now(UTC))


async def test_a_completion_photo_becomes_a_thumbnail_image_in_the_pdf(api, api_app, world) -> None:
    storage = services_of(api_app).storage
    job = await task(world, "Paint the fence", "EXTERIOR")
    with_photo = await done(job, datetime.now(UTC) - timedelta(days=2), 5_000, completed_by=world.editor.user)
    await photo(world, storage, with_photo, jpeg())
    await done(job, datetime.now(UTC) - timedelta(days=9), 1_000, completed_by=world.editor.user)  # no photo

    without = await report(api, world, **{"from": "2020-01-01", "to": "2020-01-02"})
    assert image_xobjects((await fetch(api, without["url"]))[2]) == 0
    payload = await report(api, world)
    body = (await fetch(api, payload["url"]))[2]
    assert image_xobjects(body) == 1
    (page_image,) = [img for page in PdfReader(io.BytesIO(body)).pages for img in page.images]
    assert max(page_image.image.size) <= 320  # downscaled, not the 1200 x 900 original


async def test_unreadable_and_missing_photos_do_not_fail_the_report(api, api_app, world) -> None:
    storage = services_of(api_app).storage
    job = await task(world, "Fix the tap", "PLUMBING")
    broken = await done(job, datetime.now(UTC) - timedelta(days=1), 100)
    await photo(world, storage, broken, b"\xff\xd8\xff not really a jpeg")
    gone = await done(job, datetime.now(UTC) - timedelta(days=2), 100)
    missing = await photo(world, storage, gone, jpeg())
    await storage.delete(missing.key)
    text = pdf_text((await fetch(api, (await report(api, world))["url"]))[2])
    assert "photo unreadable" in text and "photo unavailable" in text


async def test_photos_read_are_capped(api, api_app, world) -> None:
    storage = services_of(api_app).storage
    job = await task(world, "Water the plants", "LAWN_GARDEN")
    for day in range(MAX_PHOTOS + 2):
        completion = await done(job, datetime.now(UTC) - timedelta(days=day + 1), 100)
        await photo(world, storage, completion, jpeg((40, 30), shade=day * 8))
    body = (await fetch(api, (await report(api, world))["url"]))[2]
    assert image_xobjects(body) == MAX_PHOTOS
    assert f"photo not shown (at most {MAX_PHOTOS} per report)" in pdf_text(body)


async def test_non_latin_text_does_not_fail_the_report(api, world) -> None:
    await models.Residence.filter(id=world.residence.id).update(name="Дом Ελλάδα 日本の家 🏠", address="ул. Ленина 1")
    await done(await task(world, "Проверить котёл", "HVAC"), datetime.now(UTC) - timedelta(days=1), 100,
               notes="שלום مرحبا 你好")
    payload = await report(api, world)
    status, _, body = await fetch(api, payload["url"])
    assert status == 200
    text = pdf_text(body)
    if report_pdf.report_fonts().unicode:  # DejaVu Sans installed (the image has it)
        assert "Дом Ελλάδα" in text and "Проверить котёл" in text
    else:  # Helvetica: what Windows-1252 lacks is "?"
        assert "??? ??????" in text


async def test_many_tasks_and_long_notes_make_a_multi_page_report(api, world) -> None:
    job = await task(world, "Sweep", "CLEANING", frequency="DAILY")
    await models.Task.bulk_create([models.Task(residence=world.residence, title=f"Chore {i}") for i in range(150)])
    await models.TaskCompletion.bulk_create([
        models.TaskCompletion(task=job, completed_at=datetime.now(UTC) - timedelta(days=i + 1), cost_cents=1,
                              notes="word " * 2000) for i in range(60)])
    body = (await fetch(api, (await report(api, world))["url"]))[2]
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) > 3 and "Chore 149" in pdf_text(body)


async def test_upload_cannot_name_the_report_purpose(api, world) -> None:
    result = await api.execute("""mutation { requestUpload(input: {purpose: RESIDENCE_REPORT, filename: "r.pdf",
      contentType: "application/pdf", size: 10}) { userErrors { code } } }""", token=world.owner.token)
    assert "RESIDENCE_REPORT" in result["errors"][0]["message"]


# --- generated files: expiry and purge -----------------------------------------------------------------------


async def test_reports_past_their_link_are_deleted_object_and_row(api, api_app, world) -> None:
    storage = services_of(api_app).storage
    old_url, fresh_url = (await report(api, world))["url"], (await report(api, world))["url"]
    old_key = urlsplit(old_url).path.removeprefix("/media/")
    await models.Media.filter(key=old_key).update(created_at=datetime.now(UTC) - timedelta(hours=26))
    upload = await photo(world, storage, await done(await task(world, "T"), datetime.now(UTC), None), jpeg())
    await models.Media.filter(id=upload.id).update(created_at=datetime.now(UTC) - timedelta(days=30))

    assert await expire_generated_files(storage, datetime.now(UTC)) == 1
    assert not await models.Media.filter(key=old_key).exists()
    assert [info.key async for info in storage.list(old_key)] == []
    assert (await fetch(api, fresh_url))[0] == 200  # still within its link: kept
    assert await models.Media.filter(id=upload.id).exists()  # uploads are never expired


async def test_deleting_the_account_purges_its_generated_files(api, api_app, make_user) -> None:
    from workers.purge import purge_account

    token, user = await make_user()
    created = await api.execute("""mutation { createResidence(input: {name: "Mine"}) { residence { id } } }""",
                                token=token)
    rid = created["data"]["createResidence"]["residence"]["id"]
    made = await api.execute(REPORT, {"i": {"residenceId": rid}}, token=token)
    key = urlsplit(made["data"]["residenceReport"]["url"]).path.removeprefix("/media/")
    deleted = await api.execute("""mutation { deleteAccount(input: {password: "correct horse battery"}) { ok } }""",
                                token=token)
    assert deleted["data"]["deleteAccount"]["ok"] is True
    assert not await models.Media.filter(key=key).exists()
    purge = await models.AccountPurge.get(user_id=user["id"])
    assert f"exports/{user['id']}/" in purge.prefixes
    storage = services_of(api_app).storage
    await purge_account(purge.id, storage, datetime.now(UTC))
    assert [info.key async for info in storage.list(f"exports/{user['id']}/")] == []


# --- rate limit --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_now")  # the limit counts in clock hours: a run crossing one would restart it
async def test_reports_are_limited_per_user_per_hour_before_any_work(api, world, frozen_now) -> None:
    made = [await report(api, world) for _ in range(REPORTS_PER_HOUR)]
    assert all(payload["userErrors"] == [] and payload["url"] for payload in made)
    refused = await report(api, world)
    assert refused["url"] is None and [e["code"] for e in refused["userErrors"]] == ["RATE_LIMITED"]
    assert f"At most {REPORTS_PER_HOUR} reports an hour" in refused["userErrors"][0]["message"]
    # Refused before any work: no file was stored for it.
    assert await models.Media.filter(purpose=models.MediaPurpose.RESIDENCE_REPORT).count() == REPORTS_PER_HOUR
    # The limit is the caller's own: another member of the same residence still gets a report ...
    assert (await report(api, world, role="owner"))["userErrors"] == []
    # ... and the caller gets one again in the next hour.
    frozen_now.now += timedelta(hours=1)
    assert (await report(api, world))["userErrors"] == []
