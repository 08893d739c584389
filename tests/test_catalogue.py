"""The task-template catalogue: the shipped file loads and passes its checks; malformed entries are refused."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from honeydue import catalogue
from honeydue.catalogue import CatalogueError, HomeFeature, parse_catalogue
from honeydue.models import TaskCategory, TaskFrequency

GOOD = {"id": "hvac-filter-replace", "title": "Replace HVAC air filter", "category": "HVAC",
        "frequency": "QUARTERLY", "importance": "ESSENTIAL", "features": [],
        "description": "Swap the furnace filter for a new one of the same size and rating."}


def raw() -> dict:
    return json.loads(resources.files("honeydue.catalogue").joinpath("task_templates.json").read_text("utf-8"))


def test_the_shipped_catalogue_loads_with_a_version_and_at_least_120_templates() -> None:
    loaded = catalogue.catalogue()
    assert loaded.version == raw()["version"] >= 1
    assert len(loaded.templates) >= 120
    assert len(loaded.by_id) == len(loaded.templates)  # ids unique
    assert catalogue.catalogue() is loaded  # read once per process


def test_the_catalogue_covers_the_usual_chores_and_every_category() -> None:
    ids = set(catalogue.catalogue().by_id)
    for expected in ("hvac-filter-replace", "gutters-clean", "water-heater-flush", "safety-smoke-detector-test",
                     "safety-co-detector-test", "safety-dryer-vent-clean", "roof-inspect", "septic-pump",
                     "pool-water-test", "chimney-sweep", "plumbing-sump-pump-test", "sprinklers-winterize",
                     "appliance-dehumidifier"):
        assert expected in ids
    assert {t.category for t in catalogue.catalogue().templates} == set(TaskCategory)
    features = {f for t in catalogue.catalogue().templates for f in t.features}
    assert features == set(HomeFeature)


def test_every_custom_template_has_an_interval_and_no_other_does() -> None:
    for template in catalogue.catalogue().templates:
        assert (template.interval_days is not None) == (template.frequency is TaskFrequency.CUSTOM), template.id


@pytest.mark.parametrize(("change", "message"), [
    ({"id": "Not An Id"}, "id must be"),
    ({"id": "x" * 65}, "id must be"),
    ({"title": ""}, "title must be"),
    ({"title": " padded"}, "title must be"),
    ({"description": "Too short."}, "description must"),
    ({"category": "GARAGE"}, "GARAGE"),
    ({"frequency": "HOURLY"}, "HOURLY"),
    ({"frequency": "CUSTOM"}, "CUSTOM schedule needs intervalDays"),
    ({"intervalDays": 30}, "intervalDays is only for CUSTOM"),
    ({"month": 13}, "month must be"),
    ({"season": "MONSOON"}, "MONSOON"),
    ({"features": ["MOAT"]}, "MOAT"),
    ({"systems": {"plumbing": ["COPPER"]}}, "systems may only name"),
    ({"systems": {"heating": ["STEAM_ENGINE"]}}, "STEAM_ENGINE"),
    ({"climates": ["ARCTIC"]}, "ARCTIC"),
    ({"importance": "MAYBE"}, "MAYBE"),
    ({"colour": "red"}, "unknown keys"),
])
def test_a_malformed_template_is_refused_naming_it(change: dict, message: str) -> None:
    entry = {**GOOD, **change}
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue({"version": 1, "templates": [entry]})


def test_duplicate_ids_and_a_missing_version_are_refused() -> None:
    with pytest.raises(CatalogueError, match="appears twice"):
        parse_catalogue({"version": 1, "templates": [GOOD, copy.deepcopy(GOOD)]})
    with pytest.raises(CatalogueError, match="version"):
        parse_catalogue({"templates": [GOOD]})
    with pytest.raises(CatalogueError, match="templates"):
        parse_catalogue({"version": 2, "templates": []})


def test_search_matches_title_or_description_in_any_case_within_a_category() -> None:
    found = catalogue.search("GUTTER", None)
    assert found and all("gutter" in (t.title + t.description).lower() for t in found)
    assert "gutters-clean" in {t.id for t in found}
    hvac = catalogue.search(None, TaskCategory.HVAC)
    assert hvac and all(t.category is TaskCategory.HVAC for t in hvac)
    assert catalogue.search("filter", TaskCategory.PLUMBING) == [
        t for t in catalogue.search("filter", None) if t.category is TaskCategory.PLUMBING]
    assert catalogue.search("no chore says this", None) == []
