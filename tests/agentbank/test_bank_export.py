"""voxbank export: who is exported, the genagents format, no PII, manifest, audit (restricted and open)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from bank_data import PII_WORDS, Bank
from bank_embedding_server import DIMENSIONS, EmbeddingServer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import protocols
from agentbank.embeddings import OpenAIEmbedder
from agentbank.export import ExportError, exports_including, run_export
from agentbank.genagents_format import MAX_NODES, validate_agent
from agentbank.manifest import MANIFEST, sha256_file, verify_manifest
from agentbank.pseudonyms import agent_name
from storage import audit
from storage.models import Export, PiiReplacement


def restricted(session_factory: sessionmaker[Session], study_protocol: protocols.Study, out: Path,
               server: EmbeddingServer):
    embedder = OpenAIEmbedder(base_url=server.base_url, model="text-embedding-3-small", api_key="sk-test")
    return run_export(session_factory, study_protocol, out, tier="restricted", actor="staff:lead@example.org",
                      embedder=embedder)


def all_text(folder: Path) -> dict[str, str]:
    """Every file's text (Parquet files read back as CSV text)."""
    out = {}
    for path in folder.rglob("*"):
        if path.is_file():
            if path.suffix == ".parquet":
                out[str(path)] = pd.read_parquet(path).to_csv(index=False)
            else:
                out[str(path)] = path.read_text(encoding="utf-8")
    return out


@pytest.fixture
def restricted_export(session_factory, study_protocol, bank: Bank, embedding_server: EmbeddingServer,
                      tmp_path: Path):
    return restricted(session_factory, study_protocol, tmp_path / "bank", embedding_server)


def test_restricted_export_holds_exactly_the_consenting_not_withdrawn_participants(restricted_export, bank: Bank):
    agents = {path.name for path in (restricted_export.out / "agents").iterdir()}
    assert agents == bank.pseudonyms("restricted")
    assert agents == {bank.people["both"].pseudonym_id, bank.people["offline"].pseudonym_id}
    responses = pd.read_parquet(restricted_export.out / "responses.parquet")
    assert set(responses["pseudonym_id"]) == agents
    assert restricted_export.participant_count == 2


def test_every_agent_folder_is_in_the_genagents_format(restricted_export, bank: Bank):
    for key in ("both", "offline"):
        folder = restricted_export.out / "agents" / bank.people[key].pseudonym_id
        assert validate_agent(folder) == []
        assert json.loads((folder / "meta.json").read_text()) == {"id": bank.people[key].pseudonym_id}
        nodes = json.loads((folder / "memory_stream" / "nodes.json").read_text())
        embeddings = json.loads((folder / "memory_stream" / "embeddings.json").read_text())
        assert 0 < len(nodes) <= MAX_NODES
        for index, node in enumerate(nodes):
            assert list(node) == ["node_id", "node_type", "content", "importance", "created", "last_retrieved",
                                  "pointer_id"]
            assert (node["node_id"], node["created"], node["last_retrieved"]) == (index, index + 1, index + 1)
            assert node["node_type"] == "observation" and node["pointer_id"] is None
            assert type(node["importance"]) is int and 0 <= node["importance"] <= 100
            assert len(embeddings[node["content"]]) == DIMENSIONS


def test_nodes_are_exchanges_in_the_exact_content_format_with_pseudonyms(restricted_export, bank: Bank):
    person = bank.people["both"].pseudonym_id
    first, last = agent_name(person)
    folder = restricted_export.out / "agents" / person
    nodes = json.loads((folder / "memory_stream" / "nodes.json").read_text())
    scratch = json.loads((folder / "scratch.json").read_text())
    assert (scratch["first_name"], scratch["last_name"]) == (first, last)
    assert len(nodes) == 3  # three exchanges, well under 120: one node each
    opening = f"Interviewer: To begin, tell me the story of your life.\n\n{first}: My name is "
    assert nodes[0]["content"].startswith(opening)
    assert nodes[0]["content"].endswith(", and moved to Texas after college.\n\n")
    assert nodes[1]["content"] == (
        f"Interviewer: What was [place 1] like for you growing up?\n\n{first}: Quiet. My brother "
        + nodes[1]["content"].split("My brother ", 1)[1]
    )
    assert "[street address]" in nodes[1]["content"]
    assert "[phone number]" in nodes[2]["content"] and "[email address]" in nodes[2]["content"]


def test_the_same_name_gets_the_same_pseudonym_throughout_and_is_kept_in_the_database(
        restricted_export, bank: Bank, session_factory):
    person = bank.people["both"]
    with session_factory() as session:
        rows = session.scalars(select(PiiReplacement).where(PiiReplacement.participant_id == person.id)).all()
    mapping = {(row.entity_type, row.original): row.replacement for row in rows}
    dwayne = mapping[("PERSON", "Dwayne")]
    nodes = json.loads((restricted_export.out / "agents" / person.pseudonym_id / "memory_stream" / "nodes.json")
                       .read_text())
    # Dwayne is mentioned in two answers; both carry the same stand-in.
    assert f"My brother {dwayne} {mapping[('PERSON', 'Okafor')]} still lives" in nodes[1]["content"]
    assert f"When {dwayne} got sick" in nodes[2]["content"]
    assert mapping[("LOCATION", "Springfield")] == "[place 1]"
    assert ("LOCATION", "Ohio") not in mapping and "Ohio" in nodes[0]["content"]  # a state stays


def test_a_longer_interview_is_grouped_by_question_block_and_the_offline_transcript_wins(restricted_export,
                                                                                         bank: Bank):
    person = bank.people["offline"].pseudonym_id
    first, _ = agent_name(person)
    nodes = json.loads((restricted_export.out / "agents" / person / "memory_stream" / "nodes.json").read_text())
    assert len(nodes) == 41  # 123 exchanges (41 questions x 3) > 120: one node per question block
    first_block = nodes[0]["content"]
    assert first_block.count("Interviewer: ") == 3 and first_block.count(f"\n\n{first}: ") == 3
    assert "I'm " in first_block and "My answer about life_story_overview." not in first_block  # offline words
    manifest = json.loads((restricted_export.out / MANIFEST).read_text())
    assert manifest["transcript_sources"] == {"live": 1, "offline": 1}


def test_no_prolific_id_and_no_real_name_is_anywhere_in_the_export(restricted_export, bank: Bank):
    texts = all_text(restricted_export.out)
    forbidden = [p.prolific_pid for p in bank.people.values()] + PII_WORDS
    forbidden += [p.pseudonym_id for p in bank.people.values() if not p.exported_restricted]
    leaks = [(word, name) for name, text in texts.items() for word in forbidden if word in text]
    assert leaks == []


def test_an_interview_agent_knows_its_pseudonymous_name_and_no_survey_answer(restricted_export, bank: Bank):
    for key in ("both", "offline"):
        person = bank.people[key].pseudonym_id
        scratch = json.loads((restricted_export.out / "agents" / person / "scratch.json").read_text())
        first, last = agent_name(person)
        assert scratch == {"first_name": first, "last_name": last}
    manifest = json.loads((restricted_export.out / MANIFEST).read_text())
    assert manifest["agent_inputs"] == {"interview": {
        "folder": "agents", "scratch": ["first_name", "last_name"], "memory": "the interview transcript (scrubbed)",
        "gss_items": []}}
    assert not (restricted_export.out / "baselines").exists()


def test_demographic_and_persona_baselines_are_separate_named_agents(session_factory, study_protocol, bank: Bank,
                                                                     embedding_server, tmp_path: Path):
    embedder = OpenAIEmbedder(base_url=embedding_server.base_url, model="text-embedding-3-small")
    result = run_export(session_factory, study_protocol, tmp_path / "bank", tier="restricted", actor="staff:a",
                        embedder=embedder, baselines=["persona", "demographic"])
    person = bank.people["both"].pseudonym_id
    first, last = agent_name(person)
    demographic = result.out / "baselines" / "demographic_agents" / person
    persona = result.out / "baselines" / "persona_agents" / person
    assert validate_agent(demographic) == [] and validate_agent(persona) == []
    # Person 0: sex 1, age 30, race 1, polviews 1, partyid 0 -- the paper's five, and nothing else.
    assert json.loads((demographic / "scratch.json").read_text()) == {
        "first_name": first, "last_name": last, "age": 30, "sex": "Male", "race": "White",
        "political_views": "Extremely liberal", "party_identification": "Strong democrat"}
    assert json.loads((demographic / "memory_stream" / "nodes.json").read_text()) == []
    assert json.loads((persona / "scratch.json").read_text()) == {"first_name": first, "last_name": last}
    nodes = json.loads((persona / "memory_stream" / "nodes.json").read_text())
    assert len(nodes) == 1 and nodes[0]["content"].startswith("Interviewer: Imagine you are meeting a stranger")
    assert f"\n\n{first}: I am " in nodes[0]["content"] and "[phone number]" in nodes[0]["content"]
    manifest = json.loads((result.out / MANIFEST).read_text())
    assert manifest["agent_inputs"]["demographic"]["gss_items"] == ["polviews", "partyid", "race", "sex", "age"]
    assert manifest["agent_inputs"]["persona"]["folder"] == "baselines/persona_agents"
    assert (result.counts["demographic_agents"], result.counts["persona_agents"]) == (2, 2)


def test_baselines_are_refused_in_the_open_tier_and_unknown_names_are_named(session_factory, study_protocol,
                                                                             bank: Bank, tmp_path: Path):
    with pytest.raises(ExportError, match="restricted tier only"):
        run_export(session_factory, study_protocol, tmp_path / "a", tier="open", actor="staff:a",
                   baselines=["demographic"])
    with pytest.raises(ExportError, match="unknown baseline 'summary'; choose from demographic, persona"):
        run_export(session_factory, study_protocol, tmp_path / "b", tier="open", actor="staff:a",
                   baselines=["summary"])


def test_tidy_tables_hold_both_waves_keyed_by_pseudonym_and_item(restricted_export, bank: Bank):
    for suffix in ("csv", "parquet"):
        path = restricted_export.out / f"responses.{suffix}"
        frame = pd.read_parquet(path) if suffix == "parquet" else pd.read_csv(path)
        assert list(frame.columns) == ["pseudonym_id", "wave", "instrument", "item_id", "value", "value_text", "label",
                                       "missing"]
    frame = pd.read_parquet(restricted_export.out / "responses.parquet")
    person = bank.people["both"].pseudonym_id
    mine = frame[frame["pseudonym_id"] == person]
    natspac = mine[mine["item_id"] == "natspac"].sort_values("wave")
    assert natspac[["wave", "value", "label"]].values.tolist() == [[1, 1.0, "Too little"], [2, 2.0, "About right"]]
    skips = mine[mine["missing"].notna()].sort_values("item_id")
    shown = skips[["item_id", "value", "label", "missing"]].astype(object)
    assert shown.where(shown.notna(), None).values.tolist() == [
        ["hapmar", None, "I am not married", "IAP"], ["natenvir", None, None, "NA"]]
    tf2 = mine[(mine["item_id"] == "game3_TF2.received_6") & (mine["wave"] == 1)]
    assert tf2["value"].tolist() == [2.0]
    pd_row = mine[(mine["item_id"] == "game5_PD") & (mine["wave"] == 2)]
    assert pd_row["label"].tolist() == ["Cooperate"]
    assert len(mine[mine["instrument"] == "bfi44"]) == 88
    text = mine[mine["instrument"] == "self_description"]["value_text"].tolist()
    assert len(text) == 1 and "[place 1]" in text[0] and "[phone number]" in text[0]
    conditions = pd.read_csv(restricted_export.out / "experiment_conditions.csv")
    assert set(conditions["pseudonym_id"]) == bank.pseudonyms("restricted")
    catalogue = pd.read_parquet(restricted_export.out / "catalogue.parquet")
    assert len(catalogue[catalogue["instrument"] == "gss_core"]) == 183


def test_manifest_checksums_verify_and_catch_a_changed_file(restricted_export):
    out = restricted_export.out
    assert verify_manifest(out) == []
    assert sha256_file(out / MANIFEST) == restricted_export.manifest_sha256
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["tier"] == "restricted" and manifest["consent_scope"] == "share_transcript_restricted"
    assert manifest["consent_versions"] == {"1": {"participants": 2, "text_hashes": ["b" * 64]}}
    assert manifest["counts"]["participants"] == 2 and manifest["counts"]["nodes"] == 3 + 41
    assert manifest["embeddings"] == {"vectors": "written", "kind": "openai-compatible",
                                      "base_url": manifest["embeddings"]["base_url"],
                                      "model": "text-embedding-3-small", "dimensions": DIMENSIONS,
                                      "importer": {"library": "genagents (joonspk-research/genagents)",
                                                   "model": "text-embedding-3-small", "dimensions": 1536}}
    assert manifest["scrubbing"]["library"] == "presidio"
    hashes = {f["id"]: f["content_hash"] for f in manifest["study"]["protocol_files"]}
    assert {"park2024", "gss_core", "bfi44", "park2024_games", "consent_v1"} <= set(hashes)
    (out / "responses.csv").write_text("tampered\n")
    assert verify_manifest(out) == ["changed: responses.csv"]


def test_the_export_is_recorded_with_who_when_tier_and_manifest_hash(restricted_export, session_factory):
    with session_factory() as session:
        export = session.scalars(select(Export)).one()
        events = audit.events_for(session, f"export:{export.id}")
    assert (export.actor, export.tier, export.participant_count) == ("staff:lead@example.org", "restricted", 2)
    assert export.manifest_sha256 == restricted_export.manifest_sha256
    assert export.out_path == str(restricted_export.out)
    assert len(events) == 1
    event = events[0]
    assert (event.actor, event.action) == ("staff:lead@example.org", "export.create")
    assert event.details == {"tier": "restricted", "manifest_sha256": restricted_export.manifest_sha256,
                             "participant_count": 2, "study": "park2024"}
    assert event.at is not None


def test_each_participant_can_be_told_which_exports_included_them(session_factory, study_protocol, bank: Bank,
                                                                   embedding_server, tmp_path: Path):
    restricted(session_factory, study_protocol, tmp_path / "one", embedding_server)
    run_export(session_factory, study_protocol, tmp_path / "two", tier="open", actor="staff:lead@example.org")
    with session_factory() as session:
        included = {key: [(i.tier, i.created_at is not None) for i in exports_including(session, person.id)]
                    for key, person in bank.people.items()}
    assert included == {
        "both": [("restricted", True), ("open", True)], "offline": [("restricted", True), ("open", True)],
        "open_only": [("open", True)], "no_sharing": [], "withdrawn": [], "consent_withdrawn": [],
        "reconsented": [],
    }


def test_the_embedding_endpoint_gets_each_content_with_newlines_replaced(restricted_export, embedding_server):
    sent = [text for request in embedding_server.requests for text in request["input"]]
    assert embedding_server.requests[-1]["model"] == "text-embedding-3-small"
    assert embedding_server.requests[-1]["authorization"] == "Bearer sk-test"
    assert sent and all("\n" not in text for text in sent)


def test_a_second_export_reuses_the_recorded_pseudonyms(session_factory, study_protocol, bank: Bank,
                                                        embedding_server, tmp_path: Path):
    first = restricted(session_factory, study_protocol, tmp_path / "one", embedding_server)
    second = restricted(session_factory, study_protocol, tmp_path / "two", embedding_server)
    for person in bank.pseudonyms("restricted"):
        one = (first.out / "agents" / person / "memory_stream" / "nodes.json").read_text()
        two = (second.out / "agents" / person / "memory_stream" / "nodes.json").read_text()
        assert one == two


def test_an_export_refuses_a_folder_that_is_not_empty(session_factory, study_protocol, bank: Bank,
                                                      embedding_server, tmp_path: Path):
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "old.txt").write_text("old")
    with pytest.raises(ExportError, match="exists and is not empty"):
        restricted(session_factory, study_protocol, tmp_path / "bank", embedding_server)


# ---------------------------------------------------------------------------------------------- open tier


@pytest.fixture
def open_export(session_factory, study_protocol, bank: Bank, tmp_path: Path):
    return run_export(session_factory, study_protocol, tmp_path / "open", tier="open", actor="staff:lead@example.org",
                      min_cell=2)


def test_open_tier_holds_aggregates_only_and_no_per_person_data(open_export, bank: Bank):
    files = sorted(path.relative_to(open_export.out).as_posix() for path in open_export.out.rglob("*")
                   if path.is_file())
    assert files == ["README.md", "aggregates.csv", "aggregates.parquet", "catalogue.csv", "catalogue.parquet",
                     "manifest.json"]
    texts = all_text(open_export.out)
    forbidden = [p.prolific_pid for p in bank.people.values()] + [p.pseudonym_id for p in bank.people.values()]
    forbidden += PII_WORDS + ["pseudonym_id"]
    assert [(word, name) for name, text in texts.items() for word in forbidden if word in text] == []
    assert open_export.participant_count == 3  # both, open_only, offline: the share_transcript_open scope


def test_open_tier_counts_answers_and_suppresses_small_cells(open_export):
    frame = pd.read_parquet(open_export.out / "aggregates.parquet")
    # sex in wave 1: persons 0 and 2 are male (code 1), person 1 female (code 2); min_cell = 2.
    sex = frame[(frame["item_id"] == "sex") & (frame["wave"] == 1)]
    rows = {row.value: (row.count, row.suppressed) for row in sex.itertuples()}
    assert rows[1.0][1] and rows[2.0][1]  # the single cell below 2, and its partner, are both blanked
    assert sex["count"].isna().all() and set(sex["item_n"]) == {3}
    # game4_PG: all three gave 4 -> one cell of 3, shown.
    pg = frame[(frame["item_id"] == "game4_PG") & (frame["wave"] == 2)]
    assert pg[["value", "count", "share", "suppressed"]].values.tolist() == [[4.0, 3, 1.0, False]]
    assert "self_description" not in set(frame["instrument"])
    manifest = json.loads((open_export.out / MANIFEST).read_text())
    assert manifest["min_cell"] == 2 and "embeddings" not in manifest
    assert verify_manifest(open_export.out) == []
