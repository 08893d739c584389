"""Residence.type and Residence.profile: set on create, changed field by field on update, null clears."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from honeydue import models
from tests.conftest import FROZEN_NOW
from tests.plugins.domain import World, make_world

PROFILE = ("profile { yearBuilt heating cooling waterHeater roof hasPool hasSeptic hasFireplace hasBasement "
           "hasSprinklers climateRegion }")
CREATE = f"""mutation($i: CreateResidenceInput!) {{ createResidence(input: $i) {{
  residence {{ id type {PROFILE} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: UpdateResidenceInput!) {{ updateResidence(input: $i) {{
  residence {{ type {PROFILE} }} userErrors {{ field code message }} }} }}"""
UNSET_PROFILE = {"yearBuilt": None, "heating": None, "cooling": None, "waterHeater": None, "roof": None,
                 "hasPool": None, "hasSeptic": None, "hasFireplace": None, "hasBasement": None, "hasSprinklers": None,
                 "climateRegion": None}
FULL = {"yearBuilt": 1962, "heating": "BOILER", "cooling": "MINI_SPLIT", "waterHeater": "TANKLESS_GAS",
        "roof": "SLATE", "hasPool": False, "hasSeptic": True, "hasFireplace": True, "hasBasement": True,
        "hasSprinklers": False, "climateRegion": "MARINE"}


@pytest.fixture
async def world(settings) -> World:
    return await make_world()


async def test_a_new_residence_is_a_house_with_nothing_stated(api, world) -> None:
    result = await api.execute(CREATE, {"i": {"name": "Home"}}, token=world.owner.token)
    residence = result["data"]["createResidence"]["residence"]
    assert residence["type"] == "HOUSE" and residence["profile"] == UNSET_PROFILE


async def test_type_and_profile_given_on_create_are_kept(api, world) -> None:
    result = await api.execute(CREATE, {"i": {"name": "Cabin", "type": "CABIN", "profile": FULL}},
                               token=world.owner.token)
    payload = result["data"]["createResidence"]
    assert payload["userErrors"] == []
    assert payload["residence"]["type"] == "CABIN" and payload["residence"]["profile"] == FULL
    row = await models.Residence.get(id=payload["residence"]["id"])
    assert row.type == models.ResidenceType.CABIN and row.heating == models.HeatingSystem.BOILER


async def test_update_changes_only_the_profile_fields_sent_and_null_clears(api, world) -> None:
    await api.execute(UPDATE, {"i": {"residenceId": world.rid, "type": "TOWNHOUSE", "profile": FULL}},
                      token=world.owner.token)
    result = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "profile": {"hasPool": True,
                                                                                     "heating": None}}},
                               token=world.owner.token)
    residence = result["data"]["updateResidence"]["residence"]
    assert residence["profile"] == {**FULL, "hasPool": True, "heating": None}
    assert residence["type"] == "TOWNHOUSE"  # not sent: kept
    renamed = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "name": "Renamed"}},
                                token=world.owner.token)
    assert renamed["data"]["updateResidence"]["residence"]["profile"] == residence["profile"]
    assert renamed["data"]["updateResidence"]["residence"]["type"] == "TOWNHOUSE"


@pytest.mark.parametrize("year", [1599, FROZEN_NOW.year + 2])
@pytest.mark.usefixtures("frozen_now")  # the code's "this year" is the test's
async def test_year_built_out_of_range_is_a_user_error_and_nothing_changes(api, world, year: int) -> None:
    result = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "name": "Renamed",
                                              "profile": {"yearBuilt": year, "hasPool": True}}},
                               token=world.owner.token)
    payload = result["data"]["updateResidence"]
    assert payload["residence"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["profile", "yearBuilt"], "INVALID_INPUT")]
    row = await models.Residence.get(id=world.rid)
    assert row.name == "Home" and row.has_pool is None and row.year_built is None
    created = await api.execute(CREATE, {"i": {"name": "New", "profile": {"yearBuilt": year}}},
                                token=world.owner.token)
    assert created["data"]["createResidence"]["userErrors"][0]["field"] == ["profile", "yearBuilt"]


async def test_next_year_and_1600_are_accepted(api, world) -> None:
    for year in (1600, datetime.now(UTC).year + 1):
        result = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "profile": {"yearBuilt": year}}},
                                   token=world.owner.token)
        assert result["data"]["updateResidence"]["residence"]["profile"]["yearBuilt"] == year


async def test_only_owners_change_type_and_profile(api, world) -> None:
    result = await api.execute(UPDATE, {"i": {"residenceId": world.rid, "type": "CONDO"}}, token=world.editor.token)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await models.Residence.get(id=world.rid)).type == models.ResidenceType.HOUSE
