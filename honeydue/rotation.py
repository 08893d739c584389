"""Rotation rules: who a task is assigned to next. Pure functions on member lists, unit-tested alone.

A rotation is a mode and an ordered list of residence members (``Task.rotation``):

* FIXED: the assignee stays whoever it is (the task's single assignee; the list is empty).
* ROUND_ROBIN: after each completion the member after the current assignee, in the list's order, wrapping
  round to the first.
* FEWEST_COMPLETIONS: after each completion the member with the fewest completions of this task (skips do
  not count), ties broken by the list's order.

The resolvers (``resolvers.rotation``) read the members and counts from the database and store the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from honeydue.models.enums import RotationMode

Member = uuid.UUID


def _fewest(members: Sequence[Member], completions: Mapping[Member, int]) -> Member:
    order = {member: index for index, member in enumerate(members)}
    return min(members, key=lambda member: (completions.get(member, 0), order[member]))


def first_assignee(
    mode: RotationMode, members: Sequence[Member], current: Member | None, completions: Mapping[Member, int]
) -> Member | None:
    """The assignee when a rotation is set: the current one if a member, else the rotation's choice.

    ROUND_ROBIN starts with the first member, FEWEST_COMPLETIONS with the member who did it least.
    FIXED keeps ``current``.
    """
    if mode is RotationMode.FIXED:
        return current
    if not members:
        return None
    if current in members:
        return current
    if mode is RotationMode.ROUND_ROBIN:
        return members[0]
    return _fewest(members, completions)


def next_assignee(
    mode: RotationMode, members: Sequence[Member], current: Member | None, completions: Mapping[Member, int]
) -> Member | None:
    """The assignee after a completion; ``completions`` already counts the one just recorded.

    ROUND_ROBIN moves to the member after ``current`` (the first when ``current`` is not in the list);
    FEWEST_COMPLETIONS picks the member with the fewest completions, ties to the earliest in the list;
    FIXED keeps ``current``.
    """
    if mode is RotationMode.FIXED:
        return current
    if not members:
        return None
    if mode is RotationMode.ROUND_ROBIN:
        if current not in members:
            return members[0]
        return members[(members.index(current) + 1) % len(members)]
    return _fewest(members, completions)


def without_member(
    mode: RotationMode, members: Sequence[Member], leaving: Member, current: Member | None,
    completions: Mapping[Member, int],
) -> tuple[RotationMode, list[Member], Member | None]:
    """(mode, members, assignee) once ``leaving`` has left the residence.

    They drop out of the list. When it was their turn the assignment moves on as after a completion: the
    member after them (ROUND_ROBIN) or the one with the fewest completions (FEWEST_COMPLETIONS). A rotation
    left with nobody becomes FIXED with no assignee.
    """
    remaining = [member for member in members if member != leaving]
    if mode is RotationMode.FIXED or not remaining:
        return (mode if remaining else RotationMode.FIXED), remaining, (None if current == leaving else current)
    if current != leaving:
        return mode, remaining, current
    if mode is RotationMode.ROUND_ROBIN and leaving in members:
        # The member after them in the old order is the one whose turn would have come next.
        after = members[(members.index(leaving) + 1) % len(members)]
        return mode, remaining, after
    return mode, remaining, next_assignee(mode, remaining, None, completions)
