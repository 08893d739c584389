"""Suggestions: the scoring function on its own (unit), then ``suggestedTasks`` and ``taskTemplates`` over GraphQL."""

from __future__ import annotations

import pytest

from honeydue import catalogue, models
from honeydue.catalogue import HomeFeature, Importance, TaskTemplate
from honeydue.models import ClimateRegion, HeatingSystem, ResidenceType, RoofType, TaskCategory, TaskFrequency
from resolvers.suggestions import Home, home_features, rank, score_template
from tests.plugins.domain import World, error_code, make_world

POOL_SEPTIC = {"hasPool": True, "hasSeptic": True}
ROOF_WORDS = {"roof", "gutters", "chimney"}


def template(**overrides: object) -> TaskTemplate:
    fields: dict = dict(id="t", title="T", description="d", category=TaskCategory.OTHER,
                        frequency=TaskFrequency.ANNUAL, interval_days=None, season=None, month=None, features=(),
                        residence_types=(), systems={}, climates=(), built_before=None,
                        importance=Importance.RECOMMENDED)
    return TaskTemplate(**{**fields, **overrides})


def score(t: TaskTemplate, home: Home) -> float | None:
    found = score_template(t, home, home_features(home))
    return found.score if found else None


# --- the scoring function ------------------------------------------------------------------------------


def test_features_come_from_the_profile_flags_and_the_residence_type() -> None:
    assert home_features(Home()) == {HomeFeature.ROOF, HomeFeature.GUTTERS, HomeFeature.YARD, HomeFeature.EXTERIOR}
    assert home_features(Home(has_pool=True, has_septic=False)) >= {HomeFeature.POOL}
    assert HomeFeature.SEPTIC not in home_features(Home(has_septic=False))
    for shared in (ResidenceType.APARTMENT, ResidenceType.CONDO):
        assert home_features(Home(type=shared, has_fireplace=True)) == {HomeFeature.FIREPLACE}
    assert home_features(Home(roof=RoofType.NONE)) == {HomeFeature.YARD, HomeFeature.EXTERIOR}


def test_importance_is_the_base_score_and_each_matching_profile_feature_adds_one() -> None:
    assert score(template(importance=Importance.ESSENTIAL), Home()) == 3.0
    assert score(template(importance=Importance.OPTIONAL), Home()) == 1.0
    pool = template(features=(HomeFeature.POOL,))
    assert score(pool, Home()) is None  # unset counts as absent
    assert score(pool, Home(has_pool=False)) is None
    found = score_template(pool, Home(has_pool=True), home_features(Home(has_pool=True)))
    assert found is not None and found.score == 3.0 and "Your home has a pool." in found.reasons
    # Type-derived features gate but do not add (every house has a roof).
    assert score(template(features=(HomeFeature.ROOF,)), Home()) == 2.0


def test_systems_add_when_stated_and_matching_hide_when_all_stated_otherwise() -> None:
    boiler = template(systems={"heating": (HeatingSystem.BOILER,)})
    assert score(boiler, Home()) == 2.0  # unknown heating: shown, unboosted
    assert score(boiler, Home(heating=HeatingSystem.BOILER)) == 3.0
    assert score(boiler, Home(heating=HeatingSystem.HEAT_PUMP)) is None
    ducts = template(systems={"heating": (HeatingSystem.FORCED_AIR_GAS,), "cooling": ("CENTRAL_AC",)})
    assert score(ducts, Home(heating=HeatingSystem.BOILER)) == 2.0  # cooling unknown
    assert score(ducts, Home(heating=HeatingSystem.BOILER, cooling="CENTRAL_AC")) == 3.0
    assert score(ducts, Home(heating=HeatingSystem.BOILER, cooling="WINDOW_UNITS")) is None


def test_climate_type_and_build_year_rules() -> None:
    cold = template(climates=(ClimateRegion.COLD,))
    assert score(cold, Home()) == 2.0
    assert score(cold, Home(climate_region=ClimateRegion.COLD)) == 3.0
    assert score(cold, Home(climate_region=ClimateRegion.TROPICAL)) is None
    cabin = template(residence_types=(ResidenceType.CABIN,))
    assert score(cabin, Home()) is None
    assert score(cabin, Home(type=ResidenceType.CABIN)) == 3.0
    old = template(built_before=1978)
    assert score(old, Home()) is None
    assert score(old, Home(year_built=1978)) is None
    assert score(old, Home(year_built=1950)) == 3.0


def test_rank_orders_by_score_then_title_and_leaves_out_used_templates() -> None:
    a = template(id="a", title="Bravo", importance=Importance.OPTIONAL)
    b = template(id="b", title="Alpha", importance=Importance.OPTIONAL)
    c = template(id="c", title="Zulu", importance=Importance.ESSENTIAL)
    assert [s.template.id for s in rank([a, b, c], Home(), set(), 10)] == ["c", "b", "a"]
    assert [s.template.id for s in rank([a, b, c], Home(), {"c"}, 10)] == ["b", "a"]
    assert [s.template.id for s in rank([a, b, c], Home(), set(), 2)] == ["c", "b"]


def test_pool_and_septic_house_gets_those_tasks_and_an_apartment_no_roof_or_gutters() -> None:
    templates = catalogue.catalogue().templates
    house = rank(templates, Home(has_pool=True, has_septic=True), set(), 100)
    ids = {s.template.id for s in house}
    assert {"pool-water-test", "septic-pump"} <= ids
    assert house[0].template.features  # a feature the profile states outranks generic chores of equal importance
    flat = rank(templates, Home(type=ResidenceType.APARTMENT), set(), 1000)
    assert flat
    assert not [s.template.id for s in flat
                if {HomeFeature.ROOF, HomeFeature.GUTTERS} & set(s.template.features)
                or ROOF_WORDS & set(s.template.id.split("-"))]
    plain = {s.template.id for s in rank(templates, Home(), set(), 1000)}
    gated = {HomeFeature.POOL, HomeFeature.SEPTIC, HomeFeature.FIREPLACE, HomeFeature.BASEMENT, HomeFeature.SPRINKLERS}
    assert not [t for t in templates if t.id in plain and gated & set(t.features)]


# --- over GraphQL ----------------------------------------------------------------------------------------

SUGGESTED = """query($id: ID!, $first: Int) { suggestedTasks(residenceId: $id, first: $first) {
  score reasons template { id title category frequency features } } }"""
TEMPLATES = """query($search: String, $category: TaskCategory, $first: Int, $after: String) {
  taskTemplates(search: $search, category: $category, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id title description category frequency
    intervalDays season month features residenceTypes climates importance } } } }"""
UPDATE = """mutation($i: UpdateResidenceInput!) { updateResidence(input: $i) { userErrors { field code } } }"""


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def suggested(api, world: World, first: int | None = 100, role: str = "viewer") -> list[dict]:
    result = await api.execute(SUGGESTED, {"id": world.rid, "first": first}, token=world.actor(role).token)
    assert "errors" not in result, result
    return result["data"]["suggestedTasks"]


async def test_suggestions_follow_the_profile_the_owner_sets(api, world) -> None:
    before = {s["template"]["id"] for s in await suggested(api, world)}
    assert "pool-water-test" not in before and "septic-pump" not in before
    result = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "profile": POOL_SEPTIC}},
                               token=world.owner.token)
    assert result["data"]["updateResidence"]["userErrors"] == []
    after = await suggested(api, world)
    ids = [s["template"]["id"] for s in after]
    assert "pool-water-test" in ids and "septic-pump" in ids
    scores = [s["score"] for s in after]
    assert scores == sorted(scores, reverse=True)
    pool = next(s for s in after if s["template"]["id"] == "pool-water-test")
    assert "Your home has a pool." in pool["reasons"] and pool["template"]["features"] == ["POOL"]


async def test_an_apartment_gets_no_roof_or_gutter_suggestions(api, world) -> None:
    await api.execute(UPDATE, {"i": {"residenceId": world.rid, "type": "APARTMENT"}}, token=world.owner.token)
    ids = {s["template"]["id"] for s in await suggested(api, world)}
    assert ids and not {i for i in ids if ROOF_WORDS & set(i.split("-"))}
    await api.execute(UPDATE, {"i": {"residenceId": world.rid, "type": "HOUSE"}}, token=world.owner.token)
    ids = {s["template"]["id"] for s in await suggested(api, world)}
    assert {"roof-inspect", "gutters-clean"} <= ids


async def test_templates_the_residence_already_uses_are_left_out(api, world) -> None:
    first = (await suggested(api, world, first=1))[0]["template"]["id"]
    await models.Task.create(residence=world.residence, title="mine", template_id=first)
    assert first not in {s["template"]["id"] for s in await suggested(api, world, first=100)}


async def test_first_defaults_to_20_and_is_clamped_to_100(api, world) -> None:
    assert len(await suggested(api, world, first=None)) == 20
    assert len(await suggested(api, world, first=5)) == 5
    assert len(await suggested(api, world, first=10_000)) == 100
    assert await suggested(api, world, first=-3) == []


async def test_suggestions_need_membership(api, world) -> None:
    result = await api.execute(SUGGESTED, {"id": world.rid, "first": 3}, token=world.outsider.token)
    assert error_code(result) == "NOT_FOUND"
    assert error_code(await api.execute(SUGGESTED, {"id": "not-a-uuid"}, token=world.viewer.token)) == "NOT_FOUND"
    assert error_code(await api.execute(SUGGESTED, {"id": world.rid})) == "UNAUTHENTICATED"


async def test_task_templates_is_a_searchable_connection(api, world) -> None:
    token = world.outsider.token  # anyone signed in
    everything = await api.execute(TEMPLATES, {"first": 100}, token=token)
    connection = everything["data"]["taskTemplates"]
    assert connection["totalCount"] == len(catalogue.catalogue().templates) >= 120
    assert len(connection["edges"]) == 100 and connection["pageInfo"]["hasNextPage"]
    rest = await api.execute(TEMPLATES, {"first": 100, "after": connection["pageInfo"]["endCursor"]}, token=token)
    ids = [e["node"]["id"] for e in connection["edges"] + rest["data"]["taskTemplates"]["edges"]]
    assert ids == [t.id for t in catalogue.catalogue().templates]
    septic = next(e["node"] for e in connection["edges"] + rest["data"]["taskTemplates"]["edges"]
                  if e["node"]["id"] == "septic-pump")
    assert septic["frequency"] == "CUSTOM" and septic["intervalDays"] == 1095 and septic["features"] == ["SEPTIC"]

    hvac = (await api.execute(TEMPLATES, {"search": "Filter", "category": "HVAC"}, token=token))["data"]
    nodes = [e["node"] for e in hvac["taskTemplates"]["edges"]]
    assert nodes and all(n["category"] == "HVAC" for n in nodes)
    assert "hvac-filter-replace" in {n["id"] for n in nodes}
    assert hvac["taskTemplates"]["totalCount"] == len(nodes)

    too_long = await api.execute(TEMPLATES, {"search": "x" * 201}, token=token)
    assert error_code(too_long) == "INVALID_INPUT"
    assert error_code(await api.execute(TEMPLATES, {})) == "UNAUTHENTICATED"
