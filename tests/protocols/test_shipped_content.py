"""The shipped study (protocols/studies/park2024) says what Park et al. 2024 say.

Reference: shared/reference/park2024-study-and-genagents-format.md (§4.5 SM Table 7, §6.1 the GSS
item list, §6.2 the BFI-44 key, §6.3 the games, §6.4 the experiments).
"""

from __future__ import annotations

from collections import Counter

import pytest

from protocols import (
    GameSet,
    Instrument,
    Study,
    check_study,
    default_study_dir,
    load_study,
)
from protocols.schema import (
    AmountDecision,
    AmountsByCaseDecision,
    ChoiceDecision,
    DictatorGame,
    PrisonersDilemmaGame,
    PublicGoodsGame,
    TrustReceiverGame,
    TrustSenderGame,
)

# §6.1: the 177 categorical GSS items as SM Table 3 writes them ("/y" and "*" markers kept).
GSS_CATEGORICAL = """
natspac/y natenvir/y natheal/y natcity/y natdrug/y nateduc/y natrace/y natarms/y nataid/y natfare/y
natroad natsoc natmass natpark natchld natsci natenrgy uswary prayer courts discaffw discaffm fehire
fechld fepresch fefam fepol reg16 mobile16 famdif16 incom16 dwelown16 paeduc* padeg* maeduc* madeg*
mawrkgrw marital widowed divorced martype* posslq/y wrkstat evwork wrkgovt1 wrkgovt2 partfull wksub1
wksup1 conarmy conbus conclerg coneduc confed confinan conjudge conlabor conlegis conmedic conpress
consci contv vetyears joblose jobfind happy hapmar satjob speduc* spdeg* spwrksta spjew spfund unemp
union1 spkath/y colath spkrac/y colrac librac/y spkcom/y colcom/y libcom/y spkhomo/y colhomo libhomo/y
cappun polhitok/y polabuse/y polattak/y grass gunlaw owngun hunt1 class satfin finalter finrela race*
racdif1 racdif2 racdif3 racdif4 wlthwhts wlthblks wlthhsps racwork letin1a getahead aged parsol kidssol
spanking divlaw sexeduc pillok xmarsex homosex marhomo discaff abdefect abnomore abhlth abpoor abrape
absingle abany letdie1 suicide1 suicide2 suicide3 suicide4 pornlaw fair helpful trust tax vote16 pres16
if16who polviews partyid news relig* jew relig16* jew16* attend pray postlife bible reborn savesoul
relpersn sprtprsn born granborn uscitzn* fucitzn mnthsusa educ* degree* income visitors rvisitor dwelown
zodiac othlang sex* hispanic health compuse* webmob xmovie usewww* life richwork
""".split()

# §6.2: the standard BFI-44 key (R = reverse-keyed); item n has id bfi{n:02d}.
BFI_KEY = {
    "extraversion": "1 6R 11 16 21R 26 31R 36",
    "agreeableness": "2R 7 12R 17 22 27R 32 37R 42",
    "conscientiousness": "3 8R 13 18R 23R 28 33 38 43R",
    "neuroticism": "4 9R 14 19 24R 29 34R 39",
    "openness": "5 10 15 20 25 30 35R 40 41R 44",
}


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(default_study_dir())


def test_the_reference_lists_are_copied_whole() -> None:
    assert len(GSS_CATEGORICAL) == len(set(GSS_CATEGORICAL)) == 177
    assert sum("/y" in name for name in GSS_CATEGORICAL) == 22
    assert sum("*" in name for name in GSS_CATEGORICAL) == 17
    assert sum(len(spec.split()) for spec in BFI_KEY.values()) == 44


def test_the_shipped_study_validates() -> None:
    report = check_study(default_study_dir())
    assert report.errors == []
    assert report.ok


def test_the_avp_guide_has_109_timed_questions_totalling_7130_seconds(study: Study) -> None:
    guide = study.interview_guides["avp"].data
    questions = guide.questions()
    assert len(questions) == 109
    assert guide.total_seconds == 7130
    assert [q.source_row for q in questions] == list(range(1, 110))
    assert guide.intro.text.strip() and guide.closing.text.strip()
    assert study.spec.interview_guide == "avp"


def gss(study: Study) -> Instrument:
    return study.instrument("gss_core")


def test_gss_core_single_choice_items_are_the_177_of_sm_table_3(study: Study) -> None:
    instrument = gss(study)
    names = [
        item.source_id or item.id for item in instrument.items if instrument.response_for(item).type == "single_choice"
    ]
    assert sorted(names) == sorted(GSS_CATEGORICAL)


def test_gss_core_item_ids_drop_the_source_markers(study: Study) -> None:
    for item in gss(study).items:
        if item.source_id is not None:
            assert item.id == item.source_id.replace("/y", "").replace("*", "")


def test_gss_core_has_six_number_items_including_age(study: Study) -> None:
    instrument = gss(study)
    counts = Counter(instrument.response_for(item).type for item in instrument.items)
    assert counts == {"single_choice": 177, "number": 6}
    numbers = [item.id for item in instrument.items if instrument.response_for(item).type == "number"]
    assert "age" in numbers
    age = instrument.response_for("age")
    assert (age.min, age.max) == (18, 89)  # type: ignore[union-attr]
    assert instrument.order == "fixed"


def test_gss_conditional_items_offer_their_skip_as_the_iap_code(study: Study) -> None:
    gss = study.instrument("gss_core")
    inapplicable = {item.id: gss.response_for(item).options[-1] for item in gss.items if item.inapplicable}
    assert sorted(inapplicable) == ["famdif16", "fucitzn", "hapmar", "jew", "jew16", "martype", "mnthsusa", "spdeg",
                                    "speduc", "spfund", "spjew", "spwrksta"]
    assert {option.code for option in inapplicable.values()} == {-100}
    assert inapplicable["hapmar"].label == "I am not married"
    assert inapplicable["famdif16"].label == "I was living with both my own mother and father"
    assert inapplicable["mnthsusa"].label == "I have lived in the United States for a year or longer"
    # The shared scale itself is untouched: happy still offers three answers.
    assert [o.code for o in gss.response_for("happy").options] == [1, 2, 3]


def test_bfi44_scoring_key_is_the_published_key(study: Study) -> None:
    expected = {
        trait: [(f"bfi{int(n.rstrip('R')):02d}", n.endswith("R")) for n in spec.split()]
        for trait, spec in BFI_KEY.items()
    }
    bfi = study.instrument("bfi44")
    assert [item.id for item in bfi.items] == [f"bfi{n:02d}" for n in range(1, 45)]
    assert bfi.scoring_key() == expected
    assert bfi.order == "randomized"
    assert {bfi.response_for(item).type for item in bfi.items} == {"likert"}
    assert {bfi.response_for(item).points for item in bfi.items} == {5}  # type: ignore[union-attr]


def games(study: Study) -> GameSet:
    assert study.games is not None
    return study.games.data


def test_five_games_with_the_papers_ids(study: Study) -> None:
    assert [g.id for g in games(study).games] == ["game1_DG", "game2_TF1", "game3_TF2", "game4_PG", "game5_PD"]
    assert games(study).currency == "USD"


def test_dictator_game_splits_five_dollars(study: Study) -> None:
    game = games(study).game("game1_DG")
    assert isinstance(game, DictatorGame) and isinstance(game.decision, AmountDecision)
    assert (game.endowment, game.group_size) == (5, 2)
    assert (game.decision.min, game.decision.max) == (0, 5)


def test_trust_game_sender_has_three_dollars_tripled(study: Study) -> None:
    game = games(study).game("game2_TF1")
    assert isinstance(game, TrustSenderGame) and isinstance(game.decision, AmountDecision)
    assert (game.endowment, game.multiplier, game.decision.step) == (3, 3, 1)
    assert game.decision.amounts() == [0, 1, 2, 3]


def test_trust_game_receiver_returns_from_what_the_sender_tripled(study: Study) -> None:
    game = games(study).game("game3_TF2")
    assert isinstance(game, TrustReceiverGame) and isinstance(game.decision, AmountsByCaseDecision)
    assert game.parameters.sender_game == "game2_TF1"
    assert sorted(game.parameters.received.values()) == [3, 6, 9]


def test_public_goods_game_groups_four_with_four_dollars_doubled(study: Study) -> None:
    game = games(study).game("game4_PG")
    assert isinstance(game, PublicGoodsGame)
    assert (game.group_size, game.endowment, game.multiplier) == (4, 4, 2)


def test_prisoners_dilemma_pays_6_8_2_4(study: Study) -> None:
    game = games(study).game("game5_PD")
    assert isinstance(game, PrisonersDilemmaGame) and isinstance(game.decision, ChoiceDecision)
    payoffs = game.parameters.payoffs
    assert (payoffs.cc, payoffs.cd, payoffs.dc, payoffs.dd) == ([6, 6], [2, 8], [8, 2], [4, 4])
    assert len(game.decision.options) == 2


def test_the_bonus_is_the_preselected_dictator_game_up_to_ten_dollars(study: Study) -> None:
    bonus = study.spec.payments.bonus
    assert bonus is not None
    assert (bonus.rule, bonus.game, bonus.min, bonus.max, bonus.per_wave) == (
        "preselected_game",
        "game1_DG",
        0,
        10,
        True,
    )
    assert study.spec.payments.base == {1: 60.0, 2: 30.0}


def test_five_experiments_each_with_at_least_two_conditions(study: Study) -> None:
    assert study.experiments is not None
    experiments = study.experiments.data.experiments
    assert len(experiments) == 5
    for experiment in experiments:
        assert len(experiment.conditions) >= 2, experiment.id


def test_the_waves_follow_the_paper(study: Study) -> None:
    first, second = study.spec.waves
    assert first.steps[0] == "consent"
    assert [s for s in first.steps if s in ("gss_core", "bfi44", "games", "experiments")] == [
        "gss_core",
        "bfi44",
        "games",
        "experiments",
    ]
    assert "interview" in first.steps and "interview" not in second.steps
    assert second.offset_days == 14


def test_every_shipped_overlay_applies() -> None:
    overlays = sorted((default_study_dir() / "overlays").glob("*.yaml"))
    report = check_study(default_study_dir(), overlays=overlays)
    assert report.errors == []
