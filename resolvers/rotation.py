"""Task rotation in the database: checking a rotation input, storing it, moving the assignee on.

The rules themselves (who is next) are ``honeydue.rotation``; this module feeds them the members
(``TaskRotationMember`` rows, in ``position`` order) and the completion counts, and writes the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.functions import Count

from honeydue import rotation
from honeydue.models import Membership, RotationMode, Task, TaskCompletion, TaskRotationMember
from honeydue.user_errors import InputRejected, UserError, UserErrorCode, reject
from resolvers.ids import reference_id
from resolvers.validation import MAX_LIST


@dataclass(frozen=True)
class RotationSpec:
    """A rotation as the client sent it (RotationInput): a mode and member IDs, not yet checked."""

    mode: RotationMode
    member_ids: Sequence[object] = ()


@dataclass(frozen=True)
class CheckedRotation:
    mode: RotationMode
    members: list[uuid.UUID]


async def checked(residence_id: uuid.UUID, spec: RotationSpec) -> CheckedRotation:
    """``spec`` checked against the residence; user errors on ``rotation`` / ``rotation.memberIds``.

    FIXED takes no members. ROUND_ROBIN and FEWEST_COMPLETIONS take 1 to 100 members of the residence (any
    role, as ``assigneeId``); duplicates are dropped, first place kept. More than 100 is one INVALID_INPUT
    on ``[rotation, memberIds]`` before any lookup; each ID that is not a member is INVALID_INPUT at its
    index. The members are checked with one query.
    """
    where = ["rotation", "memberIds"]
    if len(spec.member_ids) > MAX_LIST:
        raise InputRejected(UserError(UserErrorCode.INVALID_INPUT, f"memberIds may hold at most {MAX_LIST} "
                                      "entries.", where))
    mode = RotationMode(spec.mode)
    if mode is RotationMode.FIXED:
        if spec.member_ids:
            raise InputRejected(UserError(UserErrorCode.INVALID_INPUT, "A FIXED rotation takes no memberIds; "
                                          "use assigneeId.", where))
        return CheckedRotation(mode, [])
    if not spec.member_ids:
        raise InputRejected(UserError(UserErrorCode.INVALID_INPUT, f"A {mode.value} rotation needs 1 to "
                                      f"{MAX_LIST} memberIds.", where))
    # A malformed ID reads as one no row has, so it is "not a member" like any stranger's (resolvers.ids).
    parsed = [reference_id(value) for value in spec.member_ids]
    known = set(await Membership.filter(residence_id=residence_id, user_id__in=parsed)
                .values_list("user_id", flat=True))
    errors = [UserError(UserErrorCode.INVALID_INPUT, "Not a member of the residence.", [*where, str(index)])
              for index, member in enumerate(parsed) if member not in known]
    if errors:
        raise InputRejected(*errors)
    return CheckedRotation(mode, list(dict.fromkeys(parsed)))


async def completion_counts(task_id: uuid.UUID, members: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many times each member completed the task (skips excluded)."""
    if not members:
        return {}
    rows = await TaskCompletion.filter(task_id=task_id, skipped=False, completed_by_id__in=list(members)) \
        .annotate(n=Count("id")).group_by("completed_by_id").values_list("completed_by_id", "n")
    return {user_id: n for user_id, n in rows}


async def members_of(task_id: uuid.UUID) -> list[uuid.UUID]:
    """The task's rotation, in turn order (empty for FIXED)."""
    rows = await TaskRotationMember.filter(task_id=task_id).order_by("position").values_list("user_id", flat=True)
    return [uuid.UUID(str(user_id)) for user_id in rows]


def check_assignee(rotation_: CheckedRotation, assignee_id: uuid.UUID | None) -> None:
    """An assignee given with a rotation must be one of its members (a rotating task is always someone's turn)."""
    if rotation_.mode is not RotationMode.FIXED and assignee_id not in rotation_.members:
        raise reject(UserErrorCode.INVALID_INPUT, "A rotating task is assigned to one of its rotation's members.",
                     "assigneeId")


async def apply(task: Task, rotation_: CheckedRotation) -> None:
    """Store ``rotation_`` on ``task`` (saved) and set whose turn it is; call inside the write's transaction.

    The current assignee keeps the task when they are in the rotation; otherwise it goes to the first member
    (ROUND_ROBIN) or the one with the fewest completions (FEWEST_COMPLETIONS).
    """
    await TaskRotationMember.filter(task_id=task.id).delete()
    if rotation_.members:
        await TaskRotationMember.bulk_create([TaskRotationMember(task_id=task.id, user_id=user_id, position=index)
                                              for index, user_id in enumerate(rotation_.members)])
    counts = await completion_counts(task.id, rotation_.members) \
        if rotation_.mode is RotationMode.FEWEST_COMPLETIONS else {}
    task.rotation_mode = rotation_.mode
    task.assignee_id = rotation.first_assignee(rotation_.mode, rotation_.members, task.assignee_id, counts)
    await task.save(update_fields=["rotation_mode", "assignee_id", "updated_at"])


async def move_on(task: Task) -> None:
    """After a completion of a rotating task: the next member's turn (``task`` is changed, not saved)."""
    mode = RotationMode(task.rotation_mode)
    if mode is RotationMode.FIXED:
        return
    members = await members_of(task.id)
    counts = await completion_counts(task.id, members) if mode is RotationMode.FEWEST_COMPLETIONS else {}
    task.assignee_id = rotation.next_assignee(mode, members, task.assignee_id, counts)


async def drop_member(user_id: uuid.UUID, residence_ids: Sequence[uuid.UUID]) -> None:
    """``user_id`` leaves these residences: out of their tasks' rotations, and off their assignments.

    A rotating task whose turn was theirs goes to the next member (``honeydue.rotation.without_member``);
    a rotation left empty becomes FIXED. Call inside the leaving's transaction.
    """
    if not residence_ids:
        return
    task_ids = await TaskRotationMember.filter(user_id=user_id, task__residence_id__in=list(residence_ids)) \
        .values_list("task_id", flat=True)
    rotating = await Task.filter(id__in=list(task_ids)).select_for_update() if task_ids else []
    for task in rotating:
        members = await members_of(task.id)
        mode = RotationMode(task.rotation_mode)
        counts = await completion_counts(task.id, members) if mode is RotationMode.FEWEST_COMPLETIONS else {}
        new_mode, _, assignee = rotation.without_member(mode, members, user_id, task.assignee_id, counts)
        task.rotation_mode, task.assignee_id = new_mode, assignee
        await task.save(update_fields=["rotation_mode", "assignee_id", "updated_at"])
    await TaskRotationMember.filter(user_id=user_id, task_id__in=list(task_ids)).delete()
    # Their remaining assignments go with them: nobody should be assigned a chore in a home they cannot see.
    await Task.filter(residence_id__in=list(residence_ids), assignee_id=user_id).update(assignee_id=None)
