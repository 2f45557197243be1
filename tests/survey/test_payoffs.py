"""Each game's payoffs, as oTree-style bot cases: decisions in, expected earnings (cents) out."""

from __future__ import annotations

import random

import pytest

from survey.games import payoffs
from survey.runtime import StudyRuntime

DICTATOR_CASES = [
    # (A gives, B gives, A earns, B earns)
    (0, 0, 500, 500),
    (5, 5, 500, 500),
    (2, 3, 600, 400),
    (5, 0, 0, 1000),
]
TRUST_CASES = [
    # (sent, receiver's strategy {received: returned}, sender earns, receiver earns)
    (0, {"received_3": 3, "received_6": 6, "received_9": 9}, 300, 0),
    (1, {"received_3": 1, "received_6": 0, "received_9": 0}, 300, 200),
    (2, {"received_3": 0, "received_6": 0, "received_9": 0}, 100, 600),
    (3, {"received_3": 0, "received_6": 0, "received_9": 4}, 400, 500),
    (3, {"received_3": 3, "received_6": 6, "received_9": 9}, 900, 0),
]
PUBLIC_GOODS_CASES = [
    # (contributions of the four, earnings of the four)
    ([4, 4, 4, 4], [800, 800, 800, 800]),
    ([0, 4, 4, 4], [1000, 600, 600, 600]),
    ([0, 0, 0, 0], [400, 400, 400, 400]),
    ([1, 0, 0, 0], [350, 450, 450, 450]),
]
PD_CASES = [
    # (A's choice, B's choice, A earns, B earns); 1 = cooperate, 2 = defect
    (1, 1, 600, 600),
    (1, 2, 200, 800),
    (2, 1, 800, 200),
    (2, 2, 400, 400),
]


@pytest.mark.parametrize(("a_gives", "b_gives", "a_earns", "b_earns"), DICTATOR_CASES)
def test_dictator(runtime: StudyRuntime, a_gives: int, b_gives: int, a_earns: int, b_earns: int) -> None:
    game = runtime.games["game1_DG"]
    assert payoffs.dictator(game, a_gives, b_gives) == a_earns  # type: ignore[arg-type]
    assert payoffs.dictator(game, b_gives, a_gives) == b_earns  # type: ignore[arg-type]


@pytest.mark.parametrize(("sent", "strategy", "sender_earns", "receiver_earns"), TRUST_CASES)
def test_trust(runtime: StudyRuntime, sent: int, strategy: dict[str, int], sender_earns: int,
               receiver_earns: int) -> None:
    sender, receiver = runtime.games["game2_TF1"], runtime.games["game3_TF2"]
    assert payoffs.trust(sender, receiver, sent, strategy) == (sender_earns, receiver_earns)  # type: ignore[arg-type]


@pytest.mark.parametrize(("contributions", "earnings"), PUBLIC_GOODS_CASES)
def test_public_goods(runtime: StudyRuntime, contributions: list[int], earnings: list[int]) -> None:
    assert payoffs.public_goods(runtime.games["game4_PG"], contributions) == earnings  # type: ignore[arg-type]


def test_a_public_goods_group_must_be_full(runtime: StudyRuntime) -> None:
    with pytest.raises(ValueError, match="a game4_PG group has 4 members, not 3"):
        payoffs.public_goods(runtime.games["game4_PG"], [1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b", "a_earns", "b_earns"), PD_CASES)
def test_prisoners_dilemma(runtime: StudyRuntime, a: int, b: int, a_earns: int, b_earns: int) -> None:
    game = runtime.games["game5_PD"]
    assert payoffs.prisoners_dilemma(game, a, b) == a_earns  # type: ignore[arg-type]
    assert payoffs.prisoners_dilemma(game, b, a) == b_earns  # type: ignore[arg-type]


def test_groups_are_random_full_and_leave_the_rest_waiting() -> None:
    made, left = payoffs.groups(list(range(10)), 4, random.Random(3))
    assert [len(g) for g in made] == [4, 4]
    assert len(left) == 2
    assert sorted([m for g in made for m in g] + left) == list(range(10))
    assert payoffs.groups(list(range(10)), 4, random.Random(3)) == (made, left)


def test_cents_round_half_up() -> None:
    assert payoffs.cents(2.5) == 250
    assert payoffs.cents(0.005) == 1
    assert payoffs.cents(3) == 300
