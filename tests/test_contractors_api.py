"""Contractors over GraphQL: create/update/delete, the searchable list, links from tasks and completions,
and the vCard (parsed with the ``vobject`` library, as an address book would read it)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
import vobject

from honeydue import models
from resolvers.contractors import SEPARATOR
from tests.plugins.domain import World, error_code, make_world

FIELDS = "id name company phone email website specialties notes favorite createdAt updatedAt residence { id }"
CREATE = f"""mutation($i: CreateContractorInput!) {{ createContractor(input: $i) {{ contractor {{ {FIELDS} }}
  userErrors {{ field code }} }} }}"""
UPDATE = f"""mutation($i: UpdateContractorInput!) {{ updateContractor(input: $i) {{ contractor {{ {FIELDS} }}
  userErrors {{ field code }} }} }}"""
DELETE = """mutation($i: DeleteContractorInput!) { deleteContractor(input: $i) { deletedId contractor { name }
  userErrors { field code } } }"""
CONTRACTOR = f"query($id: ID!) {{ contractor(id: $id) {{ {FIELDS} }} }}"
VCARD = "query($id: ID!) { contractor(id: $id) { vcard } }"
LIST = """query($id: ID!, $search: String, $specialty: String, $fav: Boolean, $first: Int, $after: String) {
  residence(id: $id) { contractors(search: $search, specialty: $specialty, favoritesOnly: $fav, first: $first,
  after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def create(api, world: World, **fields: object) -> dict:
    result = await api.execute(CREATE, {"i": {"residenceId": world.rid, **fields}}, token=world.editor.token)
    return result["data"]["createContractor"]


async def contractor(world: World, name: str, **fields: object) -> models.Contractor:
    """A contractor made through the resolver, so its search columns are what the API writes."""
    from resolvers.contractors import create_contractor

    return await create_contractor(world.editor.user, world.rid, name=name, **fields)  # type: ignore[arg-type]


# --- create, read, update, delete ---------------------------------------------------------------------------


async def test_create_normalises_and_reads_back(api, world) -> None:
    payload = await create(
        api, world, name="  Ada's Plumbing  ", company=" Ada & Co ", phone=" +1 (555) 010-2030 ext. 4 ",
        email=" ada@example.com ", website="https://ada.example.com/contact?x=1", notes="Call before 9.\nCash ok.",
        specialties=[" Plumbing ", "HVAC", "plumbing", "Pest Control", "general-contractor", "Boiler  Repair"],
        favorite=True)
    assert payload["userErrors"] == []
    made = payload["contractor"]
    assert {k: made[k] for k in ("name", "company", "phone", "email", "website", "notes", "favorite")} == {
        "name": "Ada's Plumbing", "company": "Ada & Co", "phone": "+1 (555) 010-2030 ext. 4",
        "email": "ada@example.com", "website": "https://ada.example.com/contact?x=1",
        "notes": "Call before 9.\nCash ok.", "favorite": True}
    assert made["specialties"] == ["plumbing", "hvac", "pest_control", "general_contractor", "boiler repair"]
    assert made["residence"] == {"id": world.rid}
    fetched = await api.execute(CONTRACTOR, {"id": made["id"]}, token=world.viewer.token)
    assert fetched["data"]["contractor"] == made


async def test_create_with_only_a_name_has_empty_fields(api, world) -> None:
    made = (await create(api, world, name="Bob"))["contractor"]
    assert {k: made[k] for k in ("company", "phone", "email", "website", "notes", "specialties", "favorite")} == {
        "company": "", "phone": "", "email": "", "website": "", "notes": "", "specialties": [], "favorite": False}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "  "}, [{"field": ["name"], "code": "INVALID_INPUT"}]),
        ({"name": "x" * 201}, [{"field": ["name"], "code": "INVALID_INPUT"}]),
        ({"company": "x" * 201}, [{"field": ["company"], "code": "INVALID_INPUT"}]),
        ({"phone": "1" * 51}, [{"field": ["phone"], "code": "INVALID_INPUT"}]),
        ({"notes": "x" * 10_001}, [{"field": ["notes"], "code": "INVALID_INPUT"}]),
        ({"email": "not an email"}, [{"field": ["email"], "code": "INVALID_EMAIL"}]),
        ({"email": "a@b"}, [{"field": ["email"], "code": "INVALID_EMAIL"}]),
        ({"website": "ftp://files.example.com"}, [{"field": ["website"], "code": "INVALID_INPUT"}]),
        ({"website": "example.com"}, [{"field": ["website"], "code": "INVALID_INPUT"}]),
        ({"website": "https://"}, [{"field": ["website"], "code": "INVALID_INPUT"}]),
        ({"website": "https://exa mple.com"}, [{"field": ["website"], "code": "INVALID_INPUT"}]),
        ({"website": "https://example.com:99999/"}, [{"field": ["website"], "code": "INVALID_INPUT"}]),
        ({"website": "https://example.com/" + "a" * 2000}, [{"field": ["website"], "code": "INVALID_INPUT"}]),
        ({"specialties": [f"s{i}" for i in range(21)]}, [{"field": ["specialties"], "code": "INVALID_INPUT"}]),
        ({"specialties": ["ok", " ", "y" * 51]}, [{"field": ["specialties", "1"], "code": "INVALID_INPUT"},
                                                  {"field": ["specialties", "2"], "code": "INVALID_INPUT"}]),
        # Every problem is reported at once.
        ({"name": "", "email": "x", "website": "mailto:a@b.co"},
         [{"field": ["name"], "code": "INVALID_INPUT"}, {"field": ["email"], "code": "INVALID_EMAIL"},
          {"field": ["website"], "code": "INVALID_INPUT"}]),
    ],
    ids=["blank-name", "long-name", "long-company", "long-phone", "long-notes", "email-shape", "email-no-tld",
         "ftp-website", "website-no-scheme", "website-no-host", "website-space", "website-bad-port",
         "long-website", "21-specialties", "bad-specialty-entries", "several"],
)
async def test_create_user_errors(api, world, fields, errors) -> None:
    payload = await create(api, world, **{"name": "Bob", **fields})
    assert payload == {"contractor": None, "userErrors": errors}
    assert await models.Contractor.all().count() == 0


async def test_twenty_specialties_with_duplicates_are_accepted(api, world) -> None:
    payload = await create(api, world, name="Bob", specialties=["a", "A", " a "] + [f"s{i}" for i in range(17)])
    assert payload["userErrors"] == [] and len(payload["contractor"]["specialties"]) == 18


async def test_update_changes_only_what_was_sent(api, world) -> None:
    made = (await create(api, world, name="Bob", company="Bob Ltd", phone="555", specialties=["roofing"],
                         favorite=True))["contractor"]
    result = await api.execute(UPDATE, {"i": {"contractorId": made["id"], "phone": "556", "company": None,
                                              "specialties": ["Gutters", "roofing"], "favorite": None}},
                               token=world.owner.token)
    payload = result["data"]["updateContractor"]
    assert payload["userErrors"] == []
    changed = payload["contractor"]
    assert changed == {**made, "phone": "556", "company": "", "specialties": ["gutters", "roofing"],
                       "updatedAt": changed["updatedAt"]}
    assert changed["updatedAt"] >= made["updatedAt"]
    # The search columns follow the change: the new specialty is found, the cleared company is not.
    found = await api.execute(LIST, {"id": world.rid, "search": "gutter"}, token=world.viewer.token)
    assert found["data"]["residence"]["contractors"]["totalCount"] == 1
    gone = await api.execute(LIST, {"id": world.rid, "search": "bob ltd"}, token=world.viewer.token)
    assert gone["data"]["residence"]["contractors"]["totalCount"] == 0


async def test_invalid_update_changes_nothing(api, world) -> None:
    made = (await create(api, world, name="Bob", email="bob@example.com"))["contractor"]
    result = await api.execute(UPDATE, {"i": {"contractorId": made["id"], "name": "Robert", "email": "bob@",
                                              "specialties": ["x" * 51]}}, token=world.editor.token)
    assert result["data"]["updateContractor"] == {"contractor": None, "userErrors": [
        {"field": ["email"], "code": "INVALID_EMAIL"}, {"field": ["specialties", "0"], "code": "INVALID_INPUT"}]}
    row = await models.Contractor.get(id=made["id"])
    assert (row.name, row.email, row.specialties) == ("Bob", "bob@example.com", [])


@pytest.mark.parametrize("op", ["contractor", "update", "delete"])
async def test_unknown_and_malformed_ids_are_not_found(api, world, op) -> None:
    for bad in (str(uuid.uuid4()), "not-an-id"):
        if op == "contractor":
            result = await api.execute(CONTRACTOR, {"id": bad}, token=world.owner.token)
        elif op == "update":
            result = await api.execute(UPDATE, {"i": {"contractorId": bad, "name": "x"}}, token=world.owner.token)
        else:
            result = await api.execute(DELETE, {"i": {"contractorId": bad}}, token=world.owner.token)
        assert error_code(result) == "NOT_FOUND", result


async def test_delete_clears_the_links_from_tasks_and_completions(api, world) -> None:
    gone = await contractor(world, "Gone")
    kept = await contractor(world, "Kept")
    task = await models.Task.create(residence=world.residence, title="Boiler", contractor_id=gone.id)
    other = await models.Task.create(residence=world.residence, title="Roof", contractor_id=kept.id)
    await models.TaskCompletion.create(task=task, completed_at=datetime.now(UTC), cost_cents=12_000,
                                       contractor_id=gone.id)
    result = await api.execute(DELETE, {"i": {"contractorId": str(gone.id)}}, token=world.editor.token)
    assert result["data"]["deleteContractor"] == {"deletedId": str(gone.id), "contractor": {"name": "Gone"},
                                                  "userErrors": []}
    read = await api.execute("""query($id: ID!) { task(id: $id) { contractor { id } completions { edges { node {
      costCents contractor { id } } } } } }""", {"id": str(task.id)}, token=world.viewer.token)
    assert read["data"]["task"] == {"contractor": None, "completions": {"edges": [
        {"node": {"costCents": 12_000, "contractor": None}}]}}
    await other.refresh_from_db()
    assert other.contractor_id == kept.id
    assert await models.Contractor.filter(id=gone.id).count() == 0


# --- the list: search, specialty, favourites, order, pages --------------------------------------------------


async def names(api, world: World, **variables: object) -> list[str]:
    result = await api.execute(LIST, {"id": world.rid, **variables}, token=world.viewer.token)
    assert "errors" not in result, result
    connection = result["data"]["residence"]["contractors"]
    assert connection["totalCount"] == len(connection["edges"]) or variables.get("first") is not None
    return [edge["node"]["name"] for edge in connection["edges"]]


@pytest.fixture
async def crew(world) -> World:
    await contractor(world, "Zed Müller", company="Müller Sanitär GmbH", specialties=["plumbing", "Heat Pumps"])
    await contractor(world, "anna roofs", specialties=["roofing", "gutters"], favorite=True)
    await contractor(world, "Bright Sparks", company="Sparks & Sons", specialties=["electrical"])
    await contractor(world, "Bugs Away", specialties=["pest_control"], favorite=True)
    await contractor(world, "100% Handy_Man", specialties=["handyman"])
    elsewhere = await make_world()
    await contractor(elsewhere, "Plumbing Elsewhere", specialties=["plumbing"])
    return world


async def test_list_order_is_favourites_then_name(api, crew) -> None:
    assert await names(api, crew) == ["anna roofs", "Bugs Away", "100% Handy_Man", "Bright Sparks", "Zed Müller"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("PLUMB", ["Zed Müller"]),  # a specialty, by substring
        ("müller", ["Zed Müller"]),  # name and company, non-ASCII, any case
        ("MÜLLER SANITÄR", ["Zed Müller"]),
        ("sanitar", []),  # no accent folding: only case
        ("sparks &", ["Bright Sparks"]),  # the company
        ("heat   pumps", ["Zed Müller"]),  # free-text specialty; runs of spaces count as one
        ("pest control", ["Bugs Away"]),  # a documented word found with a space
        ("pest_c", ["Bugs Away"]),
        ("100%", ["100% Handy_Man"]),  # LIKE wildcards are literal
        ("%", ["100% Handy_Man"]),
        ("y_m", ["100% Handy_Man"]),
        ("_", ["Bugs Away", "100% Handy_Man"]),  # pest_control, Handy_Man
        ("elsewhere", []),  # another residence's contractor
        ("  ", ["anna roofs", "Bugs Away", "100% Handy_Man", "Bright Sparks", "Zed Müller"]),
    ],
)
async def test_search(api, crew, search, expected) -> None:
    assert await names(api, crew, search=search) == expected


async def test_search_never_spans_two_fields(api, crew) -> None:
    """Name, company and specialties are kept apart: the end of one and the start of the next do not match."""
    assert await names(api, crew, search="müllermüller") == []
    row = await models.Contractor.get(name="Zed Müller")
    assert SEPARATOR in row.search_text and await names(api, crew, search="roofinggutters") == []


async def test_specialty_filter_is_whole_words(api, crew) -> None:
    assert await names(api, crew, specialty="plumbing") == ["Zed Müller"]
    assert await names(api, crew, specialty="plumb") == []
    assert await names(api, crew, specialty="Pest Control") == ["Bugs Away"]
    assert await names(api, crew, specialty="heat pumps") == ["Zed Müller"]
    assert await names(api, crew, specialty="roofing", search="ANNA") == ["anna roofs"]


async def test_favorites_only(api, crew) -> None:
    assert await names(api, crew, fav=True) == ["anna roofs", "Bugs Away"]
    assert await names(api, crew, fav=True, search="bug") == ["Bugs Away"]


async def test_pages(api, crew) -> None:
    result = await api.execute(LIST, {"id": crew.rid, "first": 2}, token=crew.viewer.token)
    first = result["data"]["residence"]["contractors"]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in first["edges"]] == ["anna roofs", "Bugs Away"]
    result = await api.execute(LIST, {"id": crew.rid, "first": 2, "after": first["pageInfo"]["endCursor"],
                                      "search": None}, token=crew.viewer.token)
    second = result["data"]["residence"]["contractors"]
    assert [e["node"]["name"] for e in second["edges"]] == ["100% Handy_Man", "Bright Sparks"]
    filtered = await api.execute(LIST, {"id": crew.rid, "first": 1, "search": "s"}, token=crew.viewer.token)
    connection = filtered["data"]["residence"]["contractors"]
    assert connection["totalCount"] == 4 and len(connection["edges"]) == 1  # anna roofs, Bugs, Sparks, Müller


@pytest.mark.parametrize("variables", [{"search": "x" * 201}, {"specialty": "x" * 51}])
async def test_over_long_filters_are_invalid_input(api, crew, variables) -> None:
    result = await api.execute(LIST, {"id": crew.rid, **variables}, token=crew.viewer.token)
    assert error_code(result) == "INVALID_INPUT"


# --- links from tasks and completions -----------------------------------------------------------------------

TASK_CREATE = """mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id contractor { name } }
  userErrors { field code } } }"""
TASK_UPDATE = """mutation($i: UpdateTaskInput!) { updateTask(input: $i) { task { title contractor { name } }
  userErrors { field code } } }"""
COMPLETE = """mutation($i: CompleteTaskInput!) { completeTask(input: $i) { completion { costCents
  contractor { name } } userErrors { field code } } }"""


async def test_task_names_a_contractor_of_its_residence(api, world) -> None:
    plumber = await contractor(world, "Plumber")
    roofer = await contractor(world, "Roofer")
    made = await api.execute(TASK_CREATE, {"i": {"residenceId": world.rid, "title": "Fix tap",
                                                 "contractorId": str(plumber.id)}}, token=world.editor.token)
    task = made["data"]["createTask"]["task"]
    assert task["contractor"] == {"name": "Plumber"}
    moved = await api.execute(TASK_UPDATE, {"i": {"taskId": task["id"], "contractorId": str(roofer.id)}},
                              token=world.editor.token)
    assert moved["data"]["updateTask"]["task"]["contractor"] == {"name": "Roofer"}
    untouched = await api.execute(TASK_UPDATE, {"i": {"taskId": task["id"], "title": "Fix the tap"}},
                                  token=world.editor.token)
    assert untouched["data"]["updateTask"]["task"] == {"title": "Fix the tap", "contractor": {"name": "Roofer"}}
    cleared = await api.execute(TASK_UPDATE, {"i": {"taskId": task["id"], "contractorId": None}},
                                token=world.editor.token)
    assert cleared["data"]["updateTask"]["task"]["contractor"] is None


@pytest.mark.parametrize("which", ["other-residence", "unknown", "malformed"])
async def test_task_refuses_a_contractor_it_cannot_name(api, world, which) -> None:
    elsewhere = await make_world()
    foreign = await contractor(elsewhere, "Theirs")
    bad = {"other-residence": str(foreign.id), "unknown": str(uuid.uuid4()), "malformed": "junk"}[which]
    made = await api.execute(TASK_CREATE, {"i": {"residenceId": world.rid, "title": "T", "contractorId": bad}},
                             token=world.editor.token)
    assert made["data"]["createTask"] == {"task": None,
                                          "userErrors": [{"field": ["contractorId"], "code": "INVALID_INPUT"}]}
    task = await models.Task.create(residence=world.residence, title="Mine")
    updated = await api.execute(TASK_UPDATE, {"i": {"taskId": str(task.id), "title": "New", "contractorId": bad}},
                                token=world.editor.token)
    assert updated["data"]["updateTask"]["userErrors"] == [{"field": ["contractorId"], "code": "INVALID_INPUT"}]
    await task.refresh_from_db()
    assert (task.title, task.contractor_id) == ("Mine", None)
    done = await api.execute(COMPLETE, {"i": {"taskId": str(task.id), "costCents": 500, "contractorId": bad}},
                             token=world.editor.token)
    assert done["data"]["completeTask"] == {"completion": None,
                                            "userErrors": [{"field": ["contractorId"], "code": "INVALID_INPUT"}]}
    assert await models.TaskCompletion.filter(task_id=task.id).count() == 0


async def test_completion_records_who_did_the_job_and_its_cost(api, world) -> None:
    sweep = await contractor(world, "Chimney Sweep", specialties=["chimney"])
    task = await models.Task.create(residence=world.residence, title="Sweep chimney", frequency="ANNUAL",
                                    due_date=date(2025, 10, 1), anchor_date=date(2025, 10, 1))
    done = await api.execute(COMPLETE, {"i": {"taskId": str(task.id), "costCents": 18_500,
                                              "contractorId": str(sweep.id)}}, token=world.editor.token)
    assert done["data"]["completeTask"] == {"completion": {"costCents": 18_500,
                                                           "contractor": {"name": "Chimney Sweep"}},
                                            "userErrors": []}
    diy = await api.execute(COMPLETE, {"i": {"taskId": str(task.id)}}, token=world.editor.token)
    assert diy["data"]["completeTask"]["completion"] == {"costCents": None, "contractor": None}


# --- the vCard ----------------------------------------------------------------------------------------------


async def vcard_of(api, world: World, row: models.Contractor) -> str:
    result = await api.execute(VCARD, {"id": str(row.id)}, token=world.viewer.token)
    return result["data"]["contractor"]["vcard"]


async def test_vcard_round_trips_through_a_vcard_reader(api, world) -> None:
    row = await contractor(
        world, "Müller, Jörg; \"Jo\" \\ Sohn", company="Müller; Söhne, GmbH", phone="+49 30 1234-56",
        email="joerg@mueller.example", website="https://mueller.example/kontakt?a=1,2;b=3",
        notes="Klingeln: zweimal.\nSchlüssel bei Nachbarn, links; Tür 2.\r\nDanke!",
        specialties=["plumbing", "Heizung, Lüftung", "a;b"])
    text = await vcard_of(api, world, row)
    card = vobject.readOne(text)
    assert card.version.value == "4.0"
    assert card.fn.value == "Müller, Jörg; \"Jo\" \\ Sohn"
    assert card.org.value == ["Müller; Söhne, GmbH"]
    assert card.tel.value == "+49 30 1234-56"
    assert card.email.value == "joerg@mueller.example"
    # A comma or semicolon in a URI is percent-encoded, so readers do not split on it.
    assert card.url.value == "https://mueller.example/kontakt?a=1%2C2%3Bb=3"
    assert card.note.value == "Klingeln: zweimal.\nSchlüssel bei Nachbarn, links; Tür 2.\nDanke!"
    assert card.categories.value == ["plumbing", "heizung, lüftung", "a;b"]
    assert card.uid.value == f"urn:uuid:{row.id}"
    assert card.rev.value == row.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


async def test_vcard_lines_are_crlf_and_folded_at_75_octets(api, world) -> None:
    notes = "Ünïcödé " * 40  # two octets per accented letter: folds must not split one
    row = await contractor(world, "Ω" * 60, notes=notes)
    text = await vcard_of(api, world, row)
    assert text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n") and text.endswith("END:VCARD\r\n")
    lines = text.split("\r\n")[:-1]
    assert "\n" not in "".join(lines) and "\r" not in "".join(lines)
    assert max(len(line.encode("utf-8")) for line in lines) <= 75
    assert any(line.startswith(" ") for line in lines)  # it did fold
    card = vobject.readOne(text)
    assert card.fn.value == "Ω" * 60 and card.note.value == notes.strip()
    # Empty fields are left out rather than sent empty.
    assert {child.name for child in card.getChildren()} == {"VERSION", "FN", "NOTE", "UID", "REV"}


async def test_search_folds_case_beyond_ascii(api, world) -> None:
    await contractor(world, "Hausmeister", company="Hauptstraße 5 GmbH")
    await contractor(world, "ΣΟΦΙΑ Cleaning")
    assert await names(api, world, search="STRASSE") == ["Hausmeister"]
    assert await names(api, world, search="σοφια") == ["ΣΟΦΙΑ Cleaning"]


# --- retries ------------------------------------------------------------------------------------------------


async def test_ten_concurrent_creates_with_one_key_create_one_contractor(api, world) -> None:
    variables = {"i": {"residenceId": world.rid, "name": "Plumber", "specialties": ["plumbing"],
                       "idempotencyKey": "add-plumber"}}
    results = await asyncio.gather(*(api.execute(CREATE, variables, token=world.editor.token) for _ in range(10)))
    payloads = [r["data"]["createContractor"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads), payloads
    assert len({p["contractor"]["id"] for p in payloads}) == 1
    assert await models.Contractor.filter(residence_id=world.rid).count() == 1
    other = await api.execute(CREATE, {"i": {**variables["i"], "name": "Roofer"}}, token=world.editor.token)
    assert other["data"]["createContractor"] == {
        "contractor": None, "userErrors": [{"field": ["idempotencyKey"], "code": "IDEMPOTENCY_KEY_REUSED"}]}
    await models.Contractor.filter(residence_id=world.rid).delete()
    gone = await api.execute(CREATE, variables, token=world.editor.token)
    assert gone["data"]["createContractor"]["userErrors"] == [{"field": ["idempotencyKey"], "code": "NOT_FOUND"}]


async def test_a_refused_create_leaves_its_key_free(api, world) -> None:
    refused = await create(api, world, name=" ", idempotencyKey="k1")
    assert refused["userErrors"] == [{"field": ["name"], "code": "INVALID_INPUT"}]
    made = await create(api, world, name="Fixed", idempotencyKey="k1")
    assert made["userErrors"] == [] and made["contractor"]["name"] == "Fixed"


async def test_create_tasks_items_name_contractors_of_the_residence(api, world) -> None:
    plumber = await contractor(world, "Plumber")
    foreign = await contractor(await make_world(), "Theirs")
    query = """mutation($i: CreateTasksInput!) { createTasks(input: $i) { tasks { title contractor { name } }
      userErrors { field code } } }"""
    made = await api.execute(query, {"i": {"residenceId": world.rid, "tasks": [
        {"title": "Fix tap", "contractorId": str(plumber.id)}, {"title": "Sweep"}]}}, token=world.editor.token)
    assert made["data"]["createTasks"] == {"tasks": [{"title": "Fix tap", "contractor": {"name": "Plumber"}},
                                                     {"title": "Sweep", "contractor": None}], "userErrors": []}
    refused = await api.execute(query, {"i": {"residenceId": world.rid, "tasks": [
        {"title": "A"}, {"title": "B", "contractorId": str(foreign.id)}]}}, token=world.editor.token)
    assert refused["data"]["createTasks"] == {
        "tasks": None, "userErrors": [{"field": ["tasks", "1", "contractorId"], "code": "INVALID_INPUT"}]}
