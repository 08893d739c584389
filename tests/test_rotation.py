"""Table-driven tests of the rotation rules (honeydue/rotation.py): who is assigned next."""

from __future__ import annotations

import uuid

import pytest

from honeydue.models.enums import RotationMode as R
from honeydue.rotation import first_assignee, next_assignee, without_member

A, B, C, D = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
ORDER = [A, B, C]


@pytest.mark.parametrize(
    ("mode", "members", "current", "counts", "expected"),
    [
        pytest.param(R.FIXED, [], A, {}, A, id="fixed-keeps"),
        pytest.param(R.FIXED, [], None, {}, None, id="fixed-keeps-nobody"),
        pytest.param(R.ROUND_ROBIN, ORDER, A, {}, B, id="round-robin-next"),
        pytest.param(R.ROUND_ROBIN, ORDER, B, {}, C, id="round-robin-next-again"),
        pytest.param(R.ROUND_ROBIN, ORDER, C, {}, A, id="round-robin-wraps"),
        pytest.param(R.ROUND_ROBIN, ORDER, None, {}, A, id="round-robin-nobody-starts-first"),
        pytest.param(R.ROUND_ROBIN, ORDER, D, {}, A, id="round-robin-outsider-starts-first"),
        pytest.param(R.ROUND_ROBIN, [A], A, {}, A, id="round-robin-alone"),
        pytest.param(R.ROUND_ROBIN, [], A, {}, None, id="round-robin-empty"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, A, {A: 3, B: 1, C: 2}, B, id="fewest"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, A, {A: 1, B: 1, C: 1}, A, id="fewest-tie-first-in-order"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, A, {A: 1, B: 0, C: 0}, B, id="fewest-tie-by-order"),
        pytest.param(R.FEWEST_COMPLETIONS, [C, B, A], A, {A: 1}, C, id="fewest-order-is-the-lists"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, None, {}, A, id="fewest-none-done"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, A, {D: 0, A: 5, B: 5, C: 4}, C, id="fewest-ignores-outsiders"),
    ],
)
def test_next_assignee(mode: R, members: list, current: uuid.UUID | None, counts: dict, expected: object) -> None:
    assert next_assignee(mode, members, current, counts) == expected


def test_round_robin_takes_turns_in_order() -> None:
    current, seen = A, []
    for _ in range(7):
        current = next_assignee(R.ROUND_ROBIN, ORDER, current, {})
        seen.append(current)
    assert seen == [B, C, A, B, C, A, B]


def test_fewest_completions_evens_out() -> None:
    counts = {A: 4, B: 0, C: 1}
    current: uuid.UUID | None = A
    seen = []
    for _ in range(6):
        current = next_assignee(R.FEWEST_COMPLETIONS, ORDER, current, counts)
        assert current is not None
        seen.append(current)
        counts[current] += 1
    assert seen == [B, B, C, B, C, B]  # ties (B 1 / C 1, then 2 / 2, 3 / 3) go to B, earlier in the order
    assert counts == {A: 4, B: 4, C: 3}


@pytest.mark.parametrize(
    ("mode", "members", "current", "counts", "expected"),
    [
        pytest.param(R.FIXED, [], B, {}, B, id="fixed-keeps"),
        pytest.param(R.ROUND_ROBIN, ORDER, B, {}, B, id="member-keeps-it"),
        pytest.param(R.ROUND_ROBIN, ORDER, D, {}, A, id="round-robin-outsider-to-first"),
        pytest.param(R.ROUND_ROBIN, ORDER, None, {}, A, id="round-robin-nobody-to-first"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, None, {A: 2, B: 2, C: 0}, C, id="fewest-to-least-done"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, A, {A: 9}, A, id="fewest-member-keeps-it"),
    ],
)
def test_first_assignee(mode: R, members: list, current: uuid.UUID | None, counts: dict, expected: object) -> None:
    assert first_assignee(mode, members, current, counts) == expected


@pytest.mark.parametrize(
    ("mode", "members", "leaving", "current", "counts", "expected"),
    [
        pytest.param(R.ROUND_ROBIN, ORDER, B, A, {}, (R.ROUND_ROBIN, [A, C], A), id="not-their-turn"),
        pytest.param(R.ROUND_ROBIN, ORDER, B, B, {}, (R.ROUND_ROBIN, [A, C], C), id="their-turn-to-next"),
        pytest.param(R.ROUND_ROBIN, ORDER, C, C, {}, (R.ROUND_ROBIN, [A, B], A), id="last-in-order-wraps"),
        pytest.param(R.ROUND_ROBIN, [A], A, A, {}, (R.FIXED, [], None), id="last-member-leaves"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, A, A, {B: 3, C: 1}, (R.FEWEST_COMPLETIONS, [B, C], C),
                     id="fewest-their-turn"),
        pytest.param(R.FEWEST_COMPLETIONS, ORDER, D, A, {}, (R.FEWEST_COMPLETIONS, ORDER, A), id="not-a-member"),
        pytest.param(R.FIXED, [], A, A, {}, (R.FIXED, [], None), id="fixed-assignee-leaves"),
        pytest.param(R.FIXED, [], A, B, {}, (R.FIXED, [], B), id="fixed-other-leaves"),
    ],
)
def test_without_member(mode: R, members: list, leaving: uuid.UUID, current: uuid.UUID | None, counts: dict,
                        expected: tuple) -> None:
    assert without_member(mode, members, leaving, current, counts) == expected
