"""The export's parts one by one: tiers and scopes, exchanges, grouping, validation, scratch, scrubbing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from bank_data import Bank

import protocols
from agentbank import genagents_format as ga
from agentbank.aggregates import aggregate_responses
from agentbank.catalogue import Catalogue, CatalogueItem, build_catalogue
from agentbank.exchanges import Exchange, Utterance, to_exchanges, utterances_from_segments
from agentbank.pseudonyms import (
    FEMALE_FIRST_NAMES,
    FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    NEUTRAL_FIRST_NAMES,
    agent_id,
    agent_name,
    pick,
)
from agentbank.scratch import demographic_scratch
from agentbank.scrub import Scrubber
from agentbank.selection import TIER_SCOPES, eligible_participants, may_export
from storage.models import Consent, Participant, Study, Turn

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_each_tier_needs_its_own_scope() -> None:
    assert TIER_SCOPES == {"open": "share_transcript_open", "restricted": "share_transcript_restricted"}

    def person(scopes: list[str], **kw: object) -> Participant:
        p = Participant(prolific_pid="x", pseudonym_id="y", status=kw.get("status", "active"),
                        withdrawn_at=kw.get("withdrawn_at"))
        p.consents = [Consent(document_version="1", text="", text_hash="", scopes=scopes, signed_at=T0, id=1,
                              withdrawn_at=kw.get("consent_withdrawn_at"))]
        return p

    only_restricted = person(["participate", "share_transcript_restricted"])
    assert may_export(only_restricted, "restricted") and not may_export(only_restricted, "open")
    assert not may_export(person(["share_transcript_open"], status="withdrawn"), "open")
    assert not may_export(person(["share_transcript_open"], withdrawn_at=T0), "open")
    assert not may_export(person(["share_transcript_open"], consent_withdrawn_at=T0), "open")
    newer = person(["share_transcript_open"])
    newer.consents.append(Consent(document_version="2", text="", text_hash="", scopes=["participate"],
                                  signed_at=T0 + timedelta(days=1), id=2))
    assert not may_export(newer, "open")


def test_eligible_participants_from_the_database(bank: Bank, session_factory) -> None:
    with session_factory() as session:
        study = session.query(Study).one()
        for tier in ("open", "restricted"):
            found = {p.pseudonym_id for p in eligible_participants(session, study, tier)}
            assert found == bank.pseudonyms(tier)


def test_agent_ids_and_names_are_stable() -> None:
    assert agent_id("0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f") == "0b7d8d3e-4a1c-4f2e-9a57-1e6b2c3d4e5f"
    derived = agent_id("not-a-uuid")
    assert derived == agent_id("not-a-uuid") and len(derived) == 36
    first, last = agent_name(derived)
    assert first in NEUTRAL_FIRST_NAMES and last in LAST_NAMES and agent_name(derived) == (first, last)
    # An agent's name must not tell its sex (a GSS item it is scored on), nor read as a surname.
    assert not set(NEUTRAL_FIRST_NAMES) & (set(MALE_FIRST_NAMES) | set(FEMALE_FIRST_NAMES) | set(LAST_NAMES))
    assert pick(("Ann", "Bob"), "seed", exclude={"ann", "bob"}) in {"Ann 2", "Bob 2"}


def test_exchanges_pair_each_interviewer_utterance_with_the_answer() -> None:
    utterances = [Utterance("participant", "Hello?", None), Utterance("interviewer", "Hi.", "q1"),
                  Utterance("interviewer", "Tell me about you.", "q1"), Utterance("participant", "I am", "q1"),
                  Utterance("participant", "a teacher.", "q1"), Utterance("interviewer", "Where?", "q2")]
    # The last question was never answered (the closing words, say): no memory of it.
    assert to_exchanges(utterances) == [Exchange(None, "", "Hello?"), Exchange("q1", "Hi. Tell me about you.",
                                        "I am a teacher.")]


def test_offline_segments_take_the_question_of_the_live_turn_they_fall_in() -> None:
    turns = [Turn(seq=0, speaker="interviewer", question_id="q1", start_s=0.0, text="a"),
             Turn(seq=2, speaker="interviewer", question_id="q2", start_s=30.0, text="b")]
    segments = [{"speaker": "participant", "start": 31.0, "text": "later"},
                {"speaker": "interviewer", "start": 0.2, "text": "first"},
                {"speaker": "participant", "start": 29.9, "text": "still q1", "question_id": None}]
    assert [(u.text, u.question_id) for u in utterances_from_segments(segments, turns)] == [
        ("first", "q1"), ("still q1", "q1"), ("later", "q2")]


def test_grouping_keeps_at_most_120_nodes() -> None:
    few = [Exchange(f"q{i}", f"Q{i}", f"A{i}") for i in range(120)]
    assert ga.group_exchanges(few) == [[e] for e in few]
    blocks = [Exchange(f"q{i // 2}", f"Q{i}", f"A{i}") for i in range(242)]  # 121 blocks of two
    by_module = ga.group_exchanges(blocks, {f"q{i}": f"m{i // 3}" for i in range(121)})
    assert len(by_module) == 41 and by_module[0] == blocks[:6]  # 121 blocks > 120 -> 41 modules of 3 blocks
    no_modules = ga.group_exchanges(blocks)
    assert len(no_modules) == 120 and sum(len(g) for g in no_modules) == 242


def test_nodes_importance_and_the_validator(tmp_path: Path) -> None:
    groups = [[Exchange("q1", "Q?", "one two three four")], [Exchange("q2", "R?", "one")], [Exchange("q3", "S?", "")]]
    nodes = ga.build_nodes(groups, "Linda")
    assert [n["content"] for n in nodes] == ["Interviewer: Q?\n\nLinda: one two three four\n\n",
                                             "Interviewer: R?\n\nLinda: one\n\n", "Interviewer: S?\n\nLinda: \n\n"]
    assert [n["importance"] for n in nodes] == [100, 25, 0]  # words 4, 1, 0 of a most of 4
    embeddings = {n["content"]: [0.1, 0.2] for n in nodes}
    ga.write_agent(tmp_path / "a", "uuid-1", {"first_name": "Linda", "last_name": "Hill", "age": 40}, nodes,
                   embeddings)
    assert ga.validate_agent(tmp_path / "a") == []
    nodes[1]["node_id"] = 7
    nodes[2]["importance"] = 101
    del embeddings[nodes[0]["content"]]
    ga.write_agent(tmp_path / "b", "uuid-1", {"first_name": "Linda", "last_name": "Hill", "age": "40"}, nodes,
                   embeddings)
    assert ga.validate_agent(tmp_path / "b") == [
        "scratch.json: age must be an integer",
        "node 0: content is not a key of embeddings.json",
        "node 1: node_id is 7",
        "node 2: importance 101 outside 0-100",
    ]


def test_a_demographic_scratch_holds_the_papers_five_with_the_gss_agents_labels(
        study_protocol: protocols.Study) -> None:
    gss = study_protocol.instrument("gss_core")
    answers = {"age": 52.0, "sex": 2, "race": 2, "partyid": 3, "polviews": 4, "relig": 9, "degree": 3}
    assert demographic_scratch("Sage", "Hill", answers, gss) == {
        "first_name": "Sage", "last_name": "Hill", "age": 52, "sex": "Female", "race": "Black",
        "political_views": "Moderate, middle of the road", "party_identification": "Independent (neither, no response)",
    }


def test_scrubbing_replaces_pii_consistently_and_keeps_states() -> None:
    scrubber = Scrubber(seed="s", reserved={"Linda"}, allow={"Isabella"})
    first = scrubber.scrub("Isabella, I am Rosalind Featherstone from Kalamazoo, Michigan. Email rf@example.org.")
    second = scrubber.scrub("Rosalind never left Kalamazoo; call 312-555-0143 or visit 1600 Maple Avenue.")
    mapping = {(r.entity_type, r.original): r.replacement for r in scrubber.new}
    rosalind, featherstone = mapping[("PERSON", "Rosalind")], mapping[("PERSON", "Featherstone")]
    assert rosalind in FIRST_NAMES and featherstone in LAST_NAMES and rosalind != "Linda"
    assert first == f"Isabella, I am {rosalind} {featherstone} from [place 1], Michigan. Email [email address]."
    assert second == f"{rosalind} never left [place 1]; call [phone number] or visit [street address]."


def test_aggregates_suppress_small_cells_and_their_partner() -> None:
    item = CatalogueItem("gss_core", "x", "single_choice", "", 1, 3, ((1, "a"), (2, "b"), (3, "c")))
    values = [1.0] * 6 + [2.0] * 5 + [3.0] * 2
    frame = pd.DataFrame({"pseudonym_id": [str(i) for i in range(13)], "wave": 1, "instrument": "gss_core",
                          "item_id": "x", "value": values, "value_text": None, "label": None})
    out = aggregate_responses(frame, Catalogue([item]), min_cell=5)
    # 3 has 2 < 5: blanked; it is the only one, so the smallest other cell (2: five people) goes too.
    assert out[["value", "count", "suppressed"]].astype(object).values.tolist() == [
        [1.0, 6, False], [2.0, pd.NA, True], [3.0, pd.NA, True]]
    assert out["share"].iloc[0] == pytest.approx(6 / 13, abs=1e-6) and set(out["item_n"]) == {13}


def test_the_catalogue_covers_every_instrument_game_and_experiment(study_protocol: protocols.Study,
                                                                   tmp_path: Path) -> None:
    catalogue = build_catalogue(study_protocol)
    kinds = catalogue.to_frame().groupby("instrument").size().to_dict()
    assert kinds["gss_core"] == 183 and kinds["bfi44"] == 44 and kinds["games"] == 7
    path = tmp_path / "catalogue.parquet"
    catalogue.to_frame().to_parquet(path)
    assert Catalogue.from_frame(pd.read_parquet(path)).items == catalogue.items
    bfi01 = catalogue.get("bfi44", "bfi01")
    assert bfi01 is not None and (bfi01.trait, bfi01.min, bfi01.max) == ("extraversion", 1.0, 5.0)
    assert json.loads(catalogue.to_frame().set_index("item_id").loc["game5_PD", "options"]) == [
        {"code": 1, "label": "Cooperate"}, {"code": 2, "label": "Defect"}]
