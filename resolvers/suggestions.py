"""Task suggestions: the catalogue's templates ranked for one home (``suggestedTasks``).

The rules, also in docs/templates.md ("Scoring"):

1. **What the home has.** ``home_features`` reads the profile: POOL, SEPTIC, FIREPLACE, BASEMENT and SPRINKLERS
   only when the profile says ``true`` (unset counts as absent); ROOF, GUTTERS, YARD and EXTERIOR for every
   residence type except APARTMENT and CONDO, and ROOF and GUTTERS not when the roof is NONE.
2. **Left out** are templates that need a feature the home lacks, name residence types other than the home's,
   name climates while the home's stated climate is another, need a home built before a year when
   ``yearBuilt`` is unset or later, or name systems (heating, cooling, water heater, roof) while the profile
   states every one of them as something else. Templates the residence already has a task from are left out.
3. **Score** = importance (ESSENTIAL 3, RECOMMENDED 2, OPTIONAL 1) + 1 for each of: every profile feature the
   template needs (pool, septic, ...), every system the profile states and the template names, the stated
   climate when the template names climates, the residence type when the template names types, and a build
   year before the template's. An unset profile field adds nothing: the template stays, unboosted.
4. Highest score first; ties by title, then id. Each suggestion carries a reason per point it scored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from honeydue.catalogue import HomeFeature, Importance, TaskTemplate, catalogue
from honeydue.models import Residence, ResidenceRole, ResidenceType, RoofType, Task, User
from resolvers.access import require_role

DEFAULT_SUGGESTIONS = 20
MAX_SUGGESTIONS = 100

IMPORTANCE_SCORE = {Importance.ESSENTIAL: 3.0, Importance.RECOMMENDED: 2.0, Importance.OPTIONAL: 1.0}
IMPORTANCE_REASON = {
    Importance.ESSENTIAL: "Essential upkeep: skipping it risks safety or costly damage.",
    Importance.RECOMMENDED: "Recommended upkeep for homes like this one.",
    Importance.OPTIONAL: "Optional: keeps things in good shape.",
}
BONUS = 1.0
# Residence types without a roof, gutters, yard or exterior of their own (the building looks after those).
SHARED_BUILDING = frozenset({ResidenceType.APARTMENT, ResidenceType.CONDO})
PROFILE_FEATURES = {  # HomeFeature -> the profile flag that says the home has it
    HomeFeature.POOL: "has_pool", HomeFeature.SEPTIC: "has_septic", HomeFeature.FIREPLACE: "has_fireplace",
    HomeFeature.BASEMENT: "has_basement", HomeFeature.SPRINKLERS: "has_sprinklers",
}
FEATURE_REASON = {
    HomeFeature.POOL: "Your home has a pool.", HomeFeature.SEPTIC: "Your home has a septic system.",
    HomeFeature.FIREPLACE: "Your home has a fireplace.", HomeFeature.BASEMENT: "Your home has a basement.",
    HomeFeature.SPRINKLERS: "Your home has sprinklers or irrigation.",
}
SYSTEM_COLUMNS = {"heating": "heating", "cooling": "cooling", "waterHeater": "water_heater", "roof": "roof"}
SYSTEM_NAMES = {"heating": "heating", "cooling": "cooling", "waterHeater": "water heater", "roof": "roof"}


@dataclass(frozen=True)
class Home:
    """What the suggestions read of a residence: its type and profile (None = not stated)."""

    type: ResidenceType = ResidenceType.HOUSE
    year_built: int | None = None
    heating: str | None = None
    cooling: str | None = None
    water_heater: str | None = None
    roof: str | None = None
    has_pool: bool | None = None
    has_septic: bool | None = None
    has_fireplace: bool | None = None
    has_basement: bool | None = None
    has_sprinklers: bool | None = None
    climate_region: str | None = None

    @classmethod
    def of(cls, residence: Residence) -> Home:
        return cls(**{name: getattr(residence, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Suggestion:
    template: TaskTemplate
    score: float
    reasons: tuple[str, ...]


def _label(value: str) -> str:
    return value.replace("_", " ").lower()


def home_features(home: Home) -> frozenset[HomeFeature]:
    features = {feature for feature, flag in PROFILE_FEATURES.items() if getattr(home, flag) is True}
    if home.type not in SHARED_BUILDING:
        features |= {HomeFeature.YARD, HomeFeature.EXTERIOR}
        if home.roof != RoofType.NONE:
            features |= {HomeFeature.ROOF, HomeFeature.GUTTERS}
    return frozenset(features)


def score_template(template: TaskTemplate, home: Home, features: frozenset[HomeFeature]) -> Suggestion | None:
    """The template's suggestion for ``home`` (whose features are ``features``), or None when it does not apply."""
    if not set(template.features) <= features:
        return None
    score = IMPORTANCE_SCORE[template.importance]
    reasons = [IMPORTANCE_REASON[template.importance]]
    for feature in template.features:
        if feature in FEATURE_REASON:
            score += BONUS
            reasons.append(FEATURE_REASON[feature])
    if template.residence_types:
        if home.type not in template.residence_types:
            return None
        score += BONUS
        reasons.append(f"Made for a {_label(home.type)}.")
    if template.systems:
        matched, unknown = [], False
        for key, values in template.systems.items():
            stated = getattr(home, SYSTEM_COLUMNS[key])
            if stated is None:
                unknown = True
            elif stated in values:
                matched.append(f"Your {SYSTEM_NAMES[key]} is {_label(stated)}.")
        if not matched and not unknown:
            return None
        score += BONUS * len(matched)
        reasons.extend(matched)
    if template.climates and home.climate_region is not None:
        if home.climate_region not in template.climates:
            return None
        score += BONUS
        reasons.append(f"Suited to a {_label(home.climate_region)} climate.")
    if template.built_before is not None:
        if home.year_built is None or home.year_built >= template.built_before:
            return None
        score += BONUS
        reasons.append(f"Your home was built before {template.built_before}.")
    return Suggestion(template=template, score=score, reasons=tuple(reasons))


def rank(templates: Iterable[TaskTemplate], home: Home, used: set[str], limit: int) -> list[Suggestion]:
    """The ``limit`` best suggestions for ``home`` among ``templates``, leaving out the ``used`` template ids."""
    features = home_features(home)
    scored = [s for t in templates if t.id not in used and (s := score_template(t, home, features)) is not None]
    scored.sort(key=lambda s: (-s.score, s.template.title, s.template.id))
    return scored[:limit]


async def suggested_tasks(user: User, residence_id: uuid.UUID, first: int | None) -> list[Suggestion]:
    """The best templates for the residence (VIEWER); ``first`` defaults to 20 and is clamped to 0..100.

    Two statements whatever the length: the residence and the template ids its tasks already use.
    """
    limit = DEFAULT_SUGGESTIONS if first is None else max(0, min(first, MAX_SUGGESTIONS))
    await require_role(user, residence_id, ResidenceRole.VIEWER)
    residence = await Residence.get(id=residence_id)
    used = await Task.filter(residence_id=residence_id, template_id__isnull=False).distinct().values_list(
        "template_id", flat=True)
    return rank(catalogue().templates, Home.of(residence), {str(t) for t in used}, limit)
