"""A visit's plan: fixed GSS order, per-participant BFI order, random game and experiment orders."""

from __future__ import annotations

from collections import Counter

from survey.plan import build_plan, paginate
from survey.runtime import StudyRuntime


def test_pages_are_as_even_as_possible_and_keep_the_order() -> None:
    ids = [f"i{n}" for n in range(183)]
    pages = paginate(ids)
    assert [len(p) for p in pages] == [10] * 12 + [9] * 7
    assert [i for page in pages for i in page] == ids
    assert [len(p) for p in paginate(ids[:44])] == [9, 9, 9, 9, 8]
    assert paginate(["only"]) == [["only"]]


def test_the_wave_1_plan_follows_the_study_steps(runtime: StudyRuntime) -> None:
    plan = build_plan(runtime, 1, seed=7)
    steps = [page["step"] for page in plan["pages"]]
    assert steps[:3] == ["consent", "mic_check", "interview"]
    assert steps[-2:] == ["self_description", "complete"]
    assert Counter(steps) == {"consent": 1, "mic_check": 1, "interview": 1, "gss_core": 19, "bfi44": 5,
                              "games": 5, "experiments": 5, "self_description": 1, "complete": 1}
    order = ["consent", "mic_check", "interview", "gss_core", "bfi44", "games", "experiments", "self_description"]
    assert list(dict.fromkeys(steps[:-1])) == order


def test_the_gss_keeps_its_documented_order(runtime: StudyRuntime) -> None:
    documented = [item.id for item in runtime.instrument("gss_core").items]
    for seed in (1, 2, 3):
        plan = build_plan(runtime, 1, seed)
        assert plan["item_orders"]["gss_core"] == documented
        shown = [i for page in plan["pages"] if page["step"] == "gss_core" for i in page["items"]]
        assert shown == documented


def test_the_bfi_order_is_random_per_participant_and_fixed_by_the_seed(runtime: StudyRuntime) -> None:
    items = sorted(item.id for item in runtime.instrument("bfi44").items)
    first, again, other = (build_plan(runtime, 1, s)["item_orders"]["bfi44"] for s in (11, 11, 12))
    assert sorted(first) == items
    assert first == again
    assert first != other
    assert first != items


def test_games_and_experiments_come_in_a_random_order_of_all_five(runtime: StudyRuntime) -> None:
    orders = {tuple(build_plan(runtime, 1, seed)["games_order"]) for seed in range(30)}
    assert all(sorted(order) == sorted(runtime.games) for order in orders)
    assert len(orders) > 10
    experiments = {tuple(build_plan(runtime, 1, seed)["experiments_order"]) for seed in range(30)}
    assert all(sorted(order) == sorted(runtime.experiments) for order in experiments)
    assert len(experiments) > 10


def test_the_retest_plan_has_no_consent_or_interview(runtime: StudyRuntime) -> None:
    steps = {page["step"] for page in build_plan(runtime, 2, seed=3)["pages"]}
    assert steps == {"gss_core", "bfi44", "games", "experiments", "complete"}
