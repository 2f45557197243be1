"""An export made with defaults loads and answers in genagents (its contract, with OpenAI stood in for)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bank_data import Bank
from genagents_contract import Agent
from openai import OpenAI

from agentbank.catalogue import build_catalogue
from agentbank.embeddings import OpenAIEmbedder
from agentbank.export import ExportError, run_export
from agentbank.manifest import MANIFEST
from agentbank.pseudonyms import agent_name
from agentbank.validate import validate_export
from tests.llm_stand_in import StandInLLM

CATEGORICAL = {"Are we spending too much, too little, or about the right amount on the space exploration program?":
               ["Too little", "About right", "Too much"]}
NUMERICAL = {"On a scale of 0 to 10, how much do you enjoy your work?": [0, 10]}
DIALOGUE = [("Interviewer", "What do you value most in life?")]


def genagents_replies(call) -> str:  # noqa: ANN001 - a stand-in handler
    """Answers in the shapes genagents' parsers read: categorical, numerical, utterance."""
    if "Option: [" in call.prompt:
        return '{"1": {"Q": "space", "Reasoning": "They follow the news.", "Response": "About right"}}'
    if "Range: [" in call.prompt:
        return '{"1": {"Q": "work", "Reasoning": "They like their job.", "Response": 7}}'
    return '{"utterance": "My family, and being useful to people around me."}'


@pytest.fixture
def default_export(session_factory, study_protocol, bank: Bank, tmp_path: Path):
    """An export with every default: no embedding endpoint configured."""
    return run_export(session_factory, study_protocol, tmp_path / "bank", tier="restricted", actor="staff:a",
                      embedder=None)


def client_for(stand_in: StandInLLM) -> OpenAI:
    return OpenAI(base_url=stand_in.url, api_key="sk-test", max_retries=0)


def test_a_default_export_leaves_the_vectors_to_the_importer_and_says_so(default_export):
    manifest = json.loads((default_export.out / MANIFEST).read_text())
    assert manifest["embeddings"]["vectors"] == "none"
    assert manifest["embeddings"]["importer"] == {"library": "genagents (joonspk-research/genagents)",
                                                  "model": "text-embedding-3-small", "dimensions": 1536}
    for folder in (default_export.out / "agents").iterdir():
        assert json.loads((folder / "memory_stream" / "embeddings.json").read_text()) == {}
    readme = (default_export.out / "README.md").read_text()
    assert "agent.memory_stream.embeddings[node.content] = get_text_embedding(node.content)" in readme
    assert validate_export(default_export.out) == []


def test_a_default_agent_loads_and_answers_three_kinds_of_query_with_no_survey_answer_in_its_prompt(
        default_export, bank: Bank, stand_in: StandInLLM, study_protocol):
    stand_in.on_text = genagents_replies
    person = bank.people["both"].pseudonym_id
    agent = Agent(default_export.out / "agents" / person, client_for(stand_in))
    assert agent.embed_missing() == 3  # the README's import step: one vector per node

    assert agent.categorical_resp(CATEGORICAL) == {"responses": ["About right"],
                                                   "reasonings": ["They follow the news."]}
    assert agent.numerical_resp(NUMERICAL) == {"responses": [7], "reasonings": ["They like their job."]}
    assert agent.utterance(DIALOGUE) == "My family, and being useful to people around me."

    embedded = [call for call in stand_in.calls if call.kind == "embedding"]
    assert {call.body["model"] for call in embedded} == {"text-embedding-3-small"}
    first, last = agent_name(person)
    nodes = json.loads((default_export.out / "agents" / person / "memory_stream" / "nodes.json").read_text())
    expected = (f"Self description: {{'first_name': '{first}', 'last_name': '{last}'}}\n==\n"
                "Other observations about the subject:\n\n" + "".join(f"{n['content']}\n" for n in nodes))
    assert len(agent.prompts) == 3
    for prompt in agent.prompts:
        assert expected in prompt  # the whole interview, and a self description that is only the name
    # No GSS item scored in evaluation reaches the prompt: neither as a scratch key nor as an answer label.
    gss = [item for item in build_catalogue(study_protocol).of("gss_core")]
    description = expected.split("\n==\n", 1)[0]
    assert [item.item_id for item in gss if f"'{item.item_id}'" in description] == []
    for key in ("sex", "age", "race", "political_views", "party_identification", "religion", "marital_status"):
        assert f"'{key}'" not in description


def test_an_export_with_the_importers_model_is_queried_as_it_is(session_factory, study_protocol, bank: Bank,
                                                                 stand_in: StandInLLM, tmp_path: Path):
    stand_in.on_text = genagents_replies
    embedder = OpenAIEmbedder(base_url=stand_in.url, model="text-embedding-3-small", api_key="sk-test")
    result = run_export(session_factory, study_protocol, tmp_path / "bank", tier="restricted", actor="staff:a",
                        embedder=embedder)
    manifest = json.loads((result.out / MANIFEST).read_text())
    assert (manifest["embeddings"]["model"], manifest["embeddings"]["dimensions"]) == ("text-embedding-3-small", 1536)
    agent = Agent(result.out / "agents" / bank.people["offline"].pseudonym_id, client_for(stand_in))
    assert agent.embed_missing() == 0
    assert agent.categorical_resp(CATEGORICAL)["responses"] == ["About right"]


def test_an_embedding_model_genagents_does_not_query_with_is_refused_before_writing(
        session_factory, study_protocol, bank: Bank, stand_in: StandInLLM, tmp_path: Path):
    embedder = OpenAIEmbedder(base_url=stand_in.url, model="all-MiniLM-L6-v2")
    with pytest.raises(ExportError, match=r"VOXBANK_EMBEDDING_MODEL is 'all-MiniLM-L6-v2', but genagents queries "
                                          r"with text-embedding-3-small \(1536 dimensions\)"):
        run_export(session_factory, study_protocol, tmp_path / "bank", tier="restricted", actor="staff:a",
                   embedder=embedder)
    assert not (tmp_path / "bank").exists() or not any((tmp_path / "bank").iterdir())


def test_the_validator_refuses_vectors_of_another_model_which_genagents_would_fail_on(
        session_factory, study_protocol, bank: Bank, stand_in: StandInLLM, tmp_path: Path):
    embedder = OpenAIEmbedder(base_url=stand_in.url, model="text-embedding-3-small")
    result = run_export(session_factory, study_protocol, tmp_path / "bank", tier="restricted", actor="staff:a",
                        embedder=embedder)
    # What an older export held: 384-d all-MiniLM vectors, recorded as such in the manifest.
    person = bank.people["both"].pseudonym_id
    vectors_path = result.out / "agents" / person / "memory_stream" / "embeddings.json"
    vectors = json.loads(vectors_path.read_text())
    vectors_path.write_text(json.dumps({content: vector[:384] for content, vector in vectors.items()}))
    manifest = json.loads((result.out / MANIFEST).read_text())
    manifest["embeddings"].update(model="all-MiniLM-L6-v2", dimensions=384)
    (result.out / MANIFEST).write_text(json.dumps(manifest))
    assert validate_export(result.out) == [
        "embeddings: the vectors were made by all-MiniLM-L6-v2 (384 dimensions), but the importer named in the "
        "manifest queries with text-embedding-3-small (1536 dimensions); re-export with text-embedding-3-small or "
        "without vectors",
        f"agents/{person}: embeddings.json has vectors of 384 dimensions; the importer queries with 1536",
    ]
    # ... and genagents itself would fail on the first query, exactly as reported.
    agent = Agent(result.out / "agents" / person, client_for(stand_in))
    with pytest.raises(ValueError, match=r"shapes \(384,\) and \(1536,\) not aligned"):
        agent.categorical_resp(CATEGORICAL)


@pytest.mark.skipif(not os.environ.get("VOXBANK_TEST_GENAGENTS_DIR"),
                    reason="set VOXBANK_TEST_GENAGENTS_DIR to a genagents checkout to run genagents itself")
def test_unmodified_genagents_loads_a_default_export_and_answers(default_export, bank: Bank, stand_in: StandInLLM,
                                                                 tmp_path: Path):
    """genagents' own code, from a checkout, with its documented setup (settings.py from example-settings.py)."""
    stand_in.on_text = genagents_replies
    checkout = tmp_path / "genagents"
    shutil.copytree(os.environ["VOXBANK_TEST_GENAGENTS_DIR"], checkout, ignore=shutil.ignore_patterns("gss_agents"))
    example = (checkout / "simulation_engine" / "example-settings.py").read_text()
    (checkout / "simulation_engine" / "settings.py").write_text(example.replace('"API_KEY"', '"sk-test"'))
    folder = default_export.out / "agents" / bank.people["both"].pseudonym_id
    script = f"""
import json
from genagents.genagents import GenerativeAgent
from simulation_engine.gpt_structure import get_text_embedding
agent = GenerativeAgent({str(folder)!r})
for node in agent.memory_stream.seq_nodes:
    if node.content not in agent.memory_stream.embeddings:
        agent.memory_stream.embeddings[node.content] = get_text_embedding(node.content)
print(json.dumps([agent.categorical_resp({CATEGORICAL!r}), agent.numerical_resp({NUMERICAL!r}),
                  agent.utterance({[list(turn) for turn in DIALOGUE]!r})]))
"""
    environment = {**os.environ, "OPENAI_BASE_URL": stand_in.url, "OPENAI_API_KEY": "sk-test"}
    done = subprocess.run([sys.executable, "-c", script], cwd=checkout, capture_output=True, text=True,
                          env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    categorical, numerical, utterance = json.loads(done.stdout.strip().splitlines()[-1])
    assert categorical["responses"] == ["About right"] and numerical["responses"] == [7]
    assert utterance == "My family, and being useful to people around me."
    first, last = agent_name(bank.people["both"].pseudonym_id)
    prompts = [call.prompt for call in stand_in.calls if call.kind == "text"]
    assert len(prompts) == 3
    assert all(f"Self description: {{'first_name': '{first}', 'last_name': '{last}'}}\n==\n" in p for p in prompts)
