"""Write an agent-bank export: select, scrub, build agents and tables, checksum, record.

Layout of ``OUT``::

    manifest.json              what the export holds and the sha256 of every other file
    README.md                  this layout, for whoever receives the export
    catalogue.csv / .parquet   the instrument catalogue (agentbank.catalogue)
    # restricted tier: individuals
    agents/<uuid>/...          one genagents folder per participant (agentbank.genagents_format)
    baselines/demographic_agents/<uuid>/..., baselines/persona_agents/<uuid>/...
                               the paper's comparison agents, when asked for (agentbank.baselines)
    responses.csv / .parquet   both waves' answers, one row per person, wave and item
    experiment_conditions.csv / .parquet
    # open tier: aggregates only
    aggregates.csv / .parquet  per-item answer distributions, small cells suppressed

Reading and scrubbing happen in one database transaction, which also stores the new PII
replacements; embeddings and files are made outside it; a second transaction records the
``Export`` row, one ``ExportParticipant`` row per person included (what a participant's own
page lists: `exports_including`) and the audit event (who, tier, manifest hash, count) once the
files are complete.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

import protocols
from agentbank import genagents_format, scrub
from agentbank.aggregates import aggregate_responses
from agentbank.baselines import AGENT_INPUTS, FOLDERS, SELF_DESCRIPTION, check_baselines
from agentbank.catalogue import Catalogue, build_catalogue
from agentbank.embeddings import (
    IMPORTER,
    Embedder,
    EmbeddingMismatch,
    check_matches_importer,
    embed_contents,
    no_vectors,
)
from agentbank.exchanges import Exchange, interview_utterances, to_exchanges
from agentbank.manifest import interview_provenance, provenance_counts, write_manifest
from agentbank.pseudonyms import agent_id, agent_name
from agentbank.replacements import scrubber_for, store_new
from agentbank.scratch import agent_scratch, demographic_scratch
from agentbank.selection import REASONS, TIER_SCOPES, current_consent, find_study, select_participants
from agentbank.tables import conditions_frame, response_rows, responses_frame, write_table
from agentbank.validate import validate_export
from storage import audit
from storage.db import transaction
from storage.files import private_directory
from storage.models import (
    ExperimentAssignment,
    Export,
    ExportParticipant,
    GameDecision,
    Interview,
    Participant,
    Response,
    utcnow,
)


class ExportError(Exception):
    """The export cannot be made; the message says why and what to do."""


@dataclass
class Person:
    """What the export needs of one participant, read and scrubbed inside the transaction."""

    participant_id: int
    agent: str
    first_name: str
    last_name: str
    gss: dict[str, float]
    scratch: dict[str, Any]
    groups: list[list[Exchange]]
    transcript_source: str | None
    rows: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    consent_version: str
    consent_hash: str
    self_description: str | None = None
    conducted_by: list[dict[str, str | None]] = field(default_factory=list)


@dataclass
class ExportResult:
    """What was written and recorded."""

    out: Path
    tier: str
    participant_count: int
    manifest_sha256: str
    export_id: int
    counts: dict[str, int] = field(default_factory=dict)


def _prepare_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not empty; choose a new folder so no old file is mixed in")
    private_directory(out)


def _module_of(protocol: protocols.Study) -> dict[str, str]:
    guide = protocol.interview_guide
    if guide is None:
        return {}
    return {question.id: module.id for module in guide.modules for question in module.questions}


def _study_words(protocol: protocols.Study) -> tuple[str, set[str]]:
    """The interviewer's name and the guide's own words, which scrubbing keeps."""
    guide = protocol.interview_guide
    if guide is None:
        return "Isabella", {"Isabella"}
    texts = [guide.interviewer_name, guide.intro.text, guide.closing.text]
    texts += [question.text for question in guide.questions()]
    return guide.interviewer_name, scrub.study_vocabulary(texts)


def _read_person(session: Session, participant: Participant, protocol: protocols.Study, catalogue: Catalogue,
                 individuals: bool) -> Person:
    agent = agent_id(participant.pseudonym_id)
    wave_of_visit = {visit.id: visit.wave for visit in participant.visits}
    visit_ids = list(wave_of_visit)
    responses = session.scalars(
        select(Response).where(Response.visit_id.in_(visit_ids)).order_by(Response.wave, Response.id)
    ).all() if visit_ids else []
    gss = {r.item_id: float(r.value_number) for r in sorted(responses, key=lambda r: -r.wave)
           if r.instrument == "gss_core" and r.value_number is not None and r.missing is None}
    first, last = agent_name(agent)
    decisions = session.scalars(
        select(GameDecision).where(GameDecision.visit_id.in_(visit_ids)).order_by(GameDecision.id)
    ).all() if visit_ids else []
    consent = current_consent(participant)
    assert consent is not None
    person = Person(participant.id, agent, first, last, gss, {}, [], None, [], [], consent.document_version,
                    consent.text_hash)
    if not individuals:
        person.rows = response_rows(agent, [r for r in responses if r.value_text is None], decisions, catalogue,
                                    wave_of_visit)
        return person

    interviewer, study_words = _study_words(protocol)
    scrubber = scrubber_for(session, participant, seed=agent, reserved={first, last, interviewer},
                            allow=study_words)
    interviews = session.scalars(
        select(Interview).where(Interview.visit_id.in_(visit_ids))
        .options(selectinload(Interview.turns), selectinload(Interview.transcripts))
        .order_by(Interview.created_at, Interview.id)
    ).all() if visit_ids else []
    exchanges: list[Exchange] = []
    sources = []
    for interview in interviews:
        utterances, source = interview_utterances(interview)
        if utterances:
            sources.append(source)
        exchanges.extend(to_exchanges(utterances))
        person.conducted_by.append(interview_provenance(interview))
    for exchange in exchanges:
        exchange.question = scrubber.scrub(exchange.question)
        exchange.answer = scrubber.scrub(exchange.answer)
    person.groups = genagents_format.group_exchanges(exchanges, _module_of(protocol))
    person.transcript_source = "+".join(dict.fromkeys(sources)) or None
    person.rows = response_rows(agent, responses, decisions, catalogue, wave_of_visit, scrub_text=scrubber.scrub)
    person.scratch = agent_scratch(first, last)
    descriptions = [r.value_text for r in sorted(responses, key=lambda r: r.wave)
                    if r.instrument == SELF_DESCRIPTION and r.value_text and r.value_text.strip()]
    person.self_description = scrubber.scrub(descriptions[0]) if descriptions else None
    assignments = session.scalars(
        select(ExperimentAssignment).where(ExperimentAssignment.participant_id == participant.id)
    ).all()
    person.conditions = [{"pseudonym_id": agent, "wave": a.wave, "experiment_id": a.experiment_id,
                          "condition_id": a.condition_id} for a in assignments]
    store_new(session, participant, scrubber)
    return person


def _write_agents(out: Path, people: list[Person], embedder: Embedder | None) -> int:
    nodes_total = 0
    for person in people:
        nodes = genagents_format.build_nodes(person.groups, person.first_name)
        embeddings = embed_contents(embedder, [node["content"] for node in nodes])
        genagents_format.write_agent(out / FOLDERS["interview"] / person.agent, person.agent, person.scratch, nodes,
                                     embeddings)
        nodes_total += len(nodes)
    return nodes_total


def _write_baselines(out: Path, people: list[Person], baselines: tuple[str, ...], protocol: protocols.Study,
                     embedder: Embedder | None) -> dict[str, int]:
    """The requested comparison agents (agentbank.baselines); returns how many of each were written."""
    counts: dict[str, int] = {}
    if "demographic" in baselines:
        gss = protocol.instrument("gss_core")
        for person in people:
            scratch = demographic_scratch(person.first_name, person.last_name, person.gss, gss)
            genagents_format.write_agent(out / FOLDERS["demographic"] / person.agent, person.agent, scratch, [], {})
        counts["demographic_agents"] = len(people)
    if "persona" in baselines:
        question = protocol.instrument(SELF_DESCRIPTION).items[0].text
        written = 0
        for person in people:
            if person.self_description is None:
                continue
            exchange = Exchange(SELF_DESCRIPTION, question, person.self_description)
            nodes = genagents_format.build_nodes([[exchange]], person.first_name)
            embeddings = embed_contents(embedder, [node["content"] for node in nodes])
            genagents_format.write_agent(out / FOLDERS["persona"] / person.agent, person.agent,
                                         agent_scratch(person.first_name, person.last_name), nodes, embeddings)
            written += 1
        counts["persona_agents"] = written
    return counts


README = """# voxbank agent-bank export ({tier} tier)

Made by voxbank from study `{slug}`. `manifest.json` lists every file with its sha256, the protocol
files (with their hashes) the data was collected under, the consent versions, the counts, who was
left out and why (`left_out`: only people whose interview ended and whose consent allows this tier
are exported), and which models embedded and scrubbed the transcripts.

{body}
`catalogue.csv` / `.parquet`: every item (instrument, item_id, kind, text, min, max, options as
JSON, trait, reverse). Ids key the other tables and a predictions file for `voxbank evaluate`.
"""

RESTRICTED_BODY = """Individual data (restricted tier): handle under your approved data-use agreement.

- `agents/<uuid>/`: one agent per participant in the genagents format (meta.json, scratch.json,
  memory_stream/nodes.json, memory_stream/embeddings.json). Names are pseudonyms; places finer
  than a state, phone numbers, e-mail and street addresses are replaced. scratch.json holds only
  the pseudonymous name: the agent knows its interview and nothing else (no survey answer).
- `baselines/demographic_agents/<uuid>/`, `baselines/persona_agents/<uuid>/` (when asked for):
  the paper's comparison agents, knowing five GSS answers (ideology, party, race, gender, age) or
  the person's self-description. `manifest.json` (`agent_inputs`) says what each kind was given;
  `voxbank evaluate --agents demographic` leaves the given items out of the score.
- `responses.csv` / `.parquet`: both waves' answers (pseudonym_id, wave, instrument, item_id,
  value, value_text, label); the pseudonym_id is the agent's uuid.
- `experiment_conditions.csv` / `.parquet`: the condition each person saw in each experiment.

Loading an agent in genagents (joonspk-research/genagents, unmodified): `GenerativeAgent(folder)`.
genagents embeds each query with {importer_model} and compares it with each node's vector in
`memory_stream/embeddings.json`. {vectors_note}
"""

VECTORS_WRITTEN = """The vectors here were made with {importer_model} (`manifest.json`, `embeddings`): query
the agents as they are."""

VECTORS_NONE = """This export holds no vectors (`embeddings.json` is `{{}}`): compute them once, with
genagents' own function, before the first query, and save the agent:

```python
from genagents.genagents import GenerativeAgent
from simulation_engine.gpt_structure import get_text_embedding

agent = GenerativeAgent(folder)
for node in agent.memory_stream.seq_nodes:
    if node.content not in agent.memory_stream.embeddings:
        agent.memory_stream.embeddings[node.content] = get_text_embedding(node.content)
agent.save(folder)
```"""

OPEN_BODY = """Aggregates only (open tier): no row describes one person.

- `aggregates.csv` / `.parquet`: per wave and item, how many people gave each answer and the share;
  cells of fewer than {min_cell} people are blanked (`suppressed`), with a second cell blanked when
  one alone would be recoverable from the total.
"""


def run_export(
    session_factory: sessionmaker[Session],
    protocol: protocols.Study,
    out: Path,
    *,
    tier: str,
    actor: str,
    embedder: Embedder | None = None,
    study_slug: str | None = None,
    min_cell: int = 5,
    baselines: tuple[str, ...] | list[str] = (),
) -> ExportResult:
    """Export the consented, not-withdrawn participants of a study in ``tier``; see the module docstring.

    ``baselines`` (restricted tier only) adds the paper's comparison agents: ``demographic``,
    ``persona`` (agentbank.baselines).
    """
    if tier not in TIER_SCOPES:
        raise ExportError(f"unknown tier {tier!r}; use open or restricted")
    try:
        baselines = check_baselines(list(baselines))
    except ValueError as error:
        raise ExportError(str(error)) from None
    if baselines and tier != "restricted":
        raise ExportError("baseline agents hold individual data: ask for them in the restricted tier only")
    try:
        check_matches_importer(embedder)
    except EmbeddingMismatch as error:
        raise ExportError(str(error)) from None
    out = out.expanduser().resolve()
    _prepare_out(out)
    catalogue = build_catalogue(protocol)
    individuals = tier == "restricted"
    try:
        with transaction(session_factory) as session:
            try:
                study = find_study(session, study_slug)
            except LookupError as error:
                raise ExportError(str(error)) from None
            selection = select_participants(session, study, tier)
            people = [_read_person(session, p, protocol, catalogue, individuals) for p in selection.participants]
            study_info = {"slug": study.slug, "title": study.title, "protocol_version": study.protocol_version,
                          "protocol_hash": study.protocol_hash}

        rows = [row for person in people for row in person.rows]
        responses = responses_frame(rows)
        counts: dict[str, int] = {"participants": len(people)}
        if individuals:
            try:
                counts["nodes"] = _write_agents(out, people, embedder)
            except EmbeddingMismatch as error:
                raise ExportError(str(error)) from None
            counts["agents_with_interview"] = sum(1 for person in people if person.groups)
            counts.update(_write_baselines(out, people, baselines, protocol, embedder))
            counts["response_rows"] = len(responses)
            write_table(responses, out, "responses")
            write_table(conditions_frame([c for person in people for c in person.conditions]), out,
                        "experiment_conditions")
            note = (VECTORS_WRITTEN if embedder is not None else VECTORS_NONE).format(
                importer_model=IMPORTER["model"])
            body = RESTRICTED_BODY.format(importer_model=IMPORTER["model"], vectors_note=note)
        else:
            aggregates = aggregate_responses(responses, catalogue, min_cell=min_cell)
            counts["aggregate_rows"] = len(aggregates)
            write_table(aggregates, out, "aggregates")
            body = OPEN_BODY.format(min_cell=min_cell)
        write_table(catalogue.to_frame(), out, "catalogue")
        (out / "README.md").write_text(README.format(tier=tier, slug=study_info["slug"], body=body), encoding="utf-8")

        consents: dict[str, dict[str, Any]] = {}
        for version, count in Counter(person.consent_version for person in people).items():
            hashes = sorted({person.consent_hash for person in people if person.consent_version == version})
            consents[version] = {"participants": count, "text_hashes": hashes}
        manifest_body: dict[str, Any] = {
            "tier": tier,
            "consent_scope": TIER_SCOPES[tier],
            "created_at": utcnow().isoformat(),
            "study": {**study_info, "protocol_files": _protocol_files(protocol)},
            "consent_versions": consents,
            "counts": counts,
            "left_out": {reason: selection.left_out[reason] for reason in REASONS if selection.left_out[reason]},
            "left_out_reasons": REASONS,
        }
        if individuals:
            sources = Counter(person.transcript_source or "none" for person in people)
            manifest_body["embeddings"] = embedder.describe() if embedder is not None else no_vectors()
            manifest_body["scrubbing"] = scrub.describe()
            manifest_body["transcript_sources"] = dict(sorted(sources.items()))
            manifest_body["max_nodes"] = genagents_format.MAX_NODES
            manifest_body["agent_inputs"] = {kind: AGENT_INPUTS[kind] for kind in ("interview", *baselines)}
            manifest_body["interviews_conducted_by"] = provenance_counts(
                [p for person in people for p in person.conducted_by])
        else:
            manifest_body["min_cell"] = min_cell
        manifest_sha256 = write_manifest(out, manifest_body)
        problems = validate_export(out)
        if problems:
            raise ExportError("the export does not pass its own check:\n  " + "\n  ".join(problems[:20]))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise

    with transaction(session_factory) as session:
        export = Export(actor=actor, tier=tier, out_path=str(out), manifest_sha256=manifest_sha256,
                        participant_count=len(people))
        session.add(export)
        session.flush()
        session.add_all(ExportParticipant(export_id=export.id, participant_id=person.participant_id)
                        for person in people)
        audit.record(session, actor, "export.create", f"export:{export.id}",
                     {"tier": tier, "manifest_sha256": manifest_sha256, "participant_count": len(people),
                      "study": study_info["slug"]})
        export_id = export.id
    return ExportResult(out, tier, len(people), manifest_sha256, export_id, counts)


def _protocol_files(protocol: protocols.Study) -> list[dict[str, str]]:
    files = []
    for loaded in protocol.files():
        try:
            path = loaded.path.resolve().relative_to(protocol.path.resolve()).as_posix()
        except ValueError:
            path = loaded.path.name
        files.append({"id": loaded.id, "kind": loaded.data.kind, "path": path, "version": loaded.version,
                      "content_hash": loaded.content_hash, "effective_hash": loaded.effective_hash})
    for consent in protocol.consent:
        files.append({"id": f"consent_v{consent.version}", "kind": "consent", "path": consent.path.name,
                      "version": consent.version, "content_hash": consent.content_hash,
                      "effective_hash": consent.content_hash})
    return files


@dataclass(frozen=True)
class Inclusion:
    """One export that included a participant: which, when, in which tier."""

    export_id: int
    tier: str
    created_at: Any


def exports_including(session: Session, participant_id: int) -> list[Inclusion]:
    """Every export that included the participant, oldest first."""
    rows = session.execute(
        select(Export.id, Export.tier, Export.created_at)
        .join(ExportParticipant, ExportParticipant.export_id == Export.id)
        .where(ExportParticipant.participant_id == participant_id)
        .order_by(Export.created_at, Export.id)
    ).all()
    return [Inclusion(export_id, tier, created_at) for export_id, tier, created_at in rows]
