"""The task-template catalogue: home-maintenance chores shipped as versioned data in the package.

``task_templates.json`` holds ``{"version": N, "templates": [...]}``. Each template has a stable ``id`` (a
task made from it stores that id in ``Task.template_id``, so ids are never renamed or reused: retire one by
leaving it out of suggestions, not by recycling it), a title, description, ``TaskCategory``, default
``TaskFrequency`` (``intervalDays`` only for CUSTOM), an optional ``season``/``month``, and when it applies:

* ``features``: home features the template needs, every one of them (``HomeFeature``);
* ``residenceTypes``: only these residence types (absent: any);
* ``systems``: ``heating``/``cooling``/``waterHeater``/``roof`` values it is about (absent: any system);
* ``climates``: only these climate regions (absent: any);
* ``builtBefore``: only homes built before that year;
* ``importance``: ESSENTIAL, RECOMMENDED or OPTIONAL.

How those rank templates for a home is ``resolvers.suggestions`` (documented in docs/templates.md). The file
is read and checked once per process (``catalogue()``); a malformed entry is a ``CatalogueError`` naming it,
and ``tests/test_catalogue.py`` loads it, so a bad edit fails the tests rather than a request.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from honeydue.models.enums import (
    ClimateRegion,
    CoolingSystem,
    HeatingSystem,
    ResidenceType,
    RoofType,
    TaskCategory,
    TaskFrequency,
    WaterHeaterType,
)
from honeydue.schedule import validate_schedule

CATALOGUE_FILE = "task_templates.json"
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_ID_LENGTH = 64  # Task.template_id's column
MAX_TITLE_LENGTH = 200  # a task's title


class HomeFeature(StrEnum):
    """What a home has that some chores need. The first five come from the profile's has* flags; the other
    four from the residence type (and roof): apartments and condos have no roof, gutters, yard or exterior
    of their own to look after."""

    POOL = "POOL"
    SEPTIC = "SEPTIC"
    FIREPLACE = "FIREPLACE"
    BASEMENT = "BASEMENT"
    SPRINKLERS = "SPRINKLERS"
    ROOF = "ROOF"
    GUTTERS = "GUTTERS"
    YARD = "YARD"
    EXTERIOR = "EXTERIOR"


class Season(StrEnum):
    SPRING = "SPRING"
    SUMMER = "SUMMER"
    FALL = "FALL"
    WINTER = "WINTER"


class Importance(StrEnum):
    ESSENTIAL = "ESSENTIAL"
    RECOMMENDED = "RECOMMENDED"
    OPTIONAL = "OPTIONAL"


# The profile fields a template's ``systems`` may name, and the enum each one's values come from.
SYSTEM_FIELDS: dict[str, type[StrEnum]] = {
    "heating": HeatingSystem, "cooling": CoolingSystem, "waterHeater": WaterHeaterType, "roof": RoofType,
}


@dataclass(frozen=True)
class TaskTemplate:
    id: str
    title: str
    description: str
    category: TaskCategory
    frequency: TaskFrequency
    interval_days: int | None
    season: Season | None
    month: int | None
    features: tuple[HomeFeature, ...]
    residence_types: tuple[ResidenceType, ...]  # empty: any type
    systems: dict[str, tuple[str, ...]]  # profile field (camelCase) -> values it is about
    climates: tuple[ClimateRegion, ...]  # empty: any climate
    built_before: int | None
    importance: Importance


@dataclass(frozen=True)
class Catalogue:
    version: int
    templates: tuple[TaskTemplate, ...]
    by_id: dict[str, TaskTemplate]


class CatalogueError(ValueError):
    """The shipped catalogue file is malformed (a packaging or editing mistake, never user input)."""


_KNOWN_KEYS = {"id", "title", "description", "category", "frequency", "intervalDays", "season", "month",
               "features", "residenceTypes", "systems", "climates", "builtBefore", "importance"}


def _enum_list(entry: dict[str, Any], key: str, enum: type[StrEnum], where: str) -> tuple[Any, ...]:
    values = entry.get(key, [])
    if not isinstance(values, list):
        raise CatalogueError(f"{where}: {key} must be a list")
    try:
        return tuple(enum(v) for v in values)
    except ValueError as exc:
        raise CatalogueError(f"{where}: {key}: {exc}") from None


def parse_template(entry: dict[str, Any]) -> TaskTemplate:
    """One catalogue entry, checked; ``CatalogueError`` names the entry and what is wrong with it."""
    where = f"template {entry.get('id')!r}"
    unknown = set(entry) - _KNOWN_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    template_id = entry.get("id")
    if not isinstance(template_id, str) or not ID_PATTERN.match(template_id) or len(template_id) > MAX_ID_LENGTH:
        raise CatalogueError(f"{where}: id must be lowercase words joined by dashes, at most {MAX_ID_LENGTH} chars")
    title, description = entry.get("title"), entry.get("description")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_LENGTH or title != title.strip():
        raise CatalogueError(f"{where}: title must be 1 to {MAX_TITLE_LENGTH} characters, without outer spaces")
    if not isinstance(description, str) or len(description.strip()) < 40:
        raise CatalogueError(f"{where}: description must say what to do and why (at least 40 characters)")
    try:
        category = TaskCategory(str(entry.get("category")))
        frequency = TaskFrequency(str(entry.get("frequency")))
        season = Season(str(entry["season"])) if entry.get("season") is not None else None
        importance = Importance(str(entry.get("importance")))
    except ValueError as exc:
        raise CatalogueError(f"{where}: {exc}") from None
    interval_days = entry.get("intervalDays")
    problem = validate_schedule(frequency, interval_days)
    if problem or (interval_days is not None and frequency is not TaskFrequency.CUSTOM):
        raise CatalogueError(f"{where}: {problem or 'intervalDays is only for CUSTOM'}")
    month = entry.get("month")
    if month is not None and (not isinstance(month, int) or not 1 <= month <= 12):
        raise CatalogueError(f"{where}: month must be 1 to 12")
    systems_entry = entry.get("systems", {})
    if not isinstance(systems_entry, dict) or set(systems_entry) - set(SYSTEM_FIELDS):
        raise CatalogueError(f"{where}: systems may only name {sorted(SYSTEM_FIELDS)}")
    systems = {key: _enum_list(systems_entry, key, SYSTEM_FIELDS[key], where) for key in systems_entry}
    if any(not values for values in systems.values()):
        raise CatalogueError(f"{where}: a systems entry needs at least one value")
    built_before = entry.get("builtBefore")
    if built_before is not None and (not isinstance(built_before, int) or not 1600 < built_before < 2100):
        raise CatalogueError(f"{where}: builtBefore must be a year")
    return TaskTemplate(
        id=template_id, title=title, description=description.strip(), category=category, frequency=frequency,
        interval_days=interval_days, season=season, month=month,
        features=_enum_list(entry, "features", HomeFeature, where),
        residence_types=_enum_list(entry, "residenceTypes", ResidenceType, where),
        systems=systems, climates=_enum_list(entry, "climates", ClimateRegion, where), built_before=built_before,
        importance=importance,
    )


def parse_catalogue(data: Any) -> Catalogue:
    """The whole catalogue, checked: a positive integer ``version`` and templates with unique ids."""
    if not isinstance(data, dict) or not isinstance(data.get("version"), int) or data["version"] < 1:
        raise CatalogueError("the catalogue needs a positive integer version")
    entries = data.get("templates")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError("the catalogue needs a non-empty templates list")
    templates = tuple(parse_template(entry) for entry in entries)
    by_id: dict[str, TaskTemplate] = {}
    for template in templates:
        if template.id in by_id:
            raise CatalogueError(f"template {template.id!r} appears twice")
        by_id[template.id] = template
    return Catalogue(version=data["version"], templates=templates, by_id=by_id)


@functools.cache
def catalogue() -> Catalogue:
    """The shipped catalogue, read and checked on first use and then kept for the life of the process."""
    text = resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return parse_catalogue(json.loads(text))


def template(template_id: str) -> TaskTemplate | None:
    return catalogue().by_id.get(template_id)


def search(text: str | None, category: TaskCategory | None) -> list[TaskTemplate]:
    """Templates in catalogue order whose title or description contains ``text`` (any case), in ``category``."""
    needle = (text or "").strip().casefold()
    return [t for t in catalogue().templates
            if (category is None or t.category == category)
            and (not needle or needle in t.title.casefold() or needle in t.description.casefold())]
