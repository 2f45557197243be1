"""A participant's record as staff see it: audited reads, audio with Range, Prolific ids hidden, withdrawal."""

from __future__ import annotations

import io

import numpy as np
import soundfile
from sqlalchemy import select
from staff_data import RATE, TURNS, Person, tone

from storage.models import AuditEvent, Participant, RecordingChunk
from web.staff.audio import HEADER_BYTES
from web.staff.roles import Role


def _events(session_factory, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_record_shows_the_transcript_turns_and_the_read_is_audited_with_the_account(staff, person: Person,
                                                                                       session_factory):
    page = staff[Role.RESEARCHER].client.get(f"/staff/participants/{person.pseudonym}")
    assert page.status_code == 200
    for _speaker, start, _end, text in TURNS:
        assert f'data-start="{start}"' in page.text and text in page.text
    assert f'src="/staff/recordings/{person.recording_ids["participant"]}/audio"' in page.text
    assert "Consent to take part in a research study" in page.text  # the signed copy
    [read] = _events(session_factory, "transcript.read")
    assert (read.actor, read.target, read.details) == ("staff:researcher@lab.example.org",
                                                       f"interview:{person.interview_id}", {"turns": 4})
    assert [e.actor for e in _events(session_factory, "participant.read")] == ["staff:researcher@lab.example.org"]
    timeline = page.text.split('id="timeline"')[1]
    assert timeline.index("participant.enter") < timeline.index("consent.sign")


def test_only_roles_that_see_prolific_ids_are_shown_one(staff, person: Person, session_factory):
    with session_factory() as session:
        prolific_pid = session.scalars(select(Participant.prolific_pid)).one()
    researcher = staff[Role.RESEARCHER].client.get(f"/staff/participants/{person.pseudonym}").text
    admin = staff[Role.ADMIN].client.get(f"/staff/participants/{person.pseudonym}").text
    assert prolific_pid not in researcher
    assert prolific_pid in admin
    for role in Role:
        for path in ("/staff", "/staff/participants"):
            assert prolific_pid not in staff[role].client.get(path).text


def test_a_recording_is_one_wav_on_the_interview_timeline_with_silence_in_its_gaps(staff, person: Person,
                                                                                  session_factory):
    response = staff[Role.RESEARCHER].client.get(f"/staff/recordings/{person.recording_ids['participant']}/audio")
    assert response.status_code == 200
    assert response.headers["accept-ranges"] == "bytes" and response.headers["content-type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(response.content), dtype="int16")
    assert rate == RATE and len(samples) == 16 * RATE
    expected = tone(16.0, 220.0)
    expected[5 * RATE:7 * RATE] = 0  # the two chunks that were never recorded
    assert np.array_equal(samples, expected)


def test_a_range_request_gets_exactly_those_bytes_and_each_request_is_audited(staff, person: Person,
                                                                             session_factory):
    url = f"/staff/recordings/{person.recording_ids['interviewer']}/audio"
    researcher = staff[Role.RESEARCHER].client
    whole = researcher.get(url).content
    size = len(whole)
    assert size == HEADER_BYTES + 16 * RATE * 2
    for header, first, last in (("bytes=0-99", 0, 99), (f"bytes={RATE * 2 + 45}-{RATE * 6 + 4}", RATE * 2 + 45,
                                                         RATE * 6 + 4), ("bytes=-1000", size - 1000, size - 1),
                                (f"bytes={size - 10}-", size - 10, size - 1)):
        part = researcher.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert part.content == whole[first:last + 1], header
    outside = researcher.get(url, headers={"Range": f"bytes={size}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{size}"
    reads = _events(session_factory, "recording.read")
    assert len(reads) == 5
    assert {e.actor for e in reads} == {"staff:researcher@lab.example.org"}
    assert reads[1].details == {"recording_id": person.recording_ids["interviewer"], "channel": "interviewer",
                                "bytes": [0, 99]}


def test_an_admin_withdraws_a_participant_after_typing_their_pseudonym(staff, person: Person, session_factory):
    admin = staff[Role.ADMIN]
    url = f"/staff/participants/{person.pseudonym}/withdraw"
    refused = admin.client.post(url, data={"csrf": admin.csrf, "confirm": "someone else"})
    assert refused.status_code == 400 and "type their pseudonym in the confirmation box" in refused.text
    done = admin.client.post(url, data={"csrf": admin.csrf, "confirm": person.pseudonym, "reason": "asked by email"})
    assert done.status_code == 200 and "The participant was withdrawn and their data erased." in done.text
    with session_factory() as session:
        participant = session.get(Participant, person.participant_id)
        assert participant is not None and participant.status == "withdrawn"
        assert session.scalars(select(RecordingChunk)).all() == []
    [event] = _events(session_factory, "participant.withdraw")
    assert event.actor == "staff:admin@lab.example.org"
    gone = staff[Role.RESEARCHER].client.get(f"/staff/recordings/{person.recording_ids['participant']}/audio")
    assert gone.status_code == 404


def test_once_the_wav_is_purged_staff_hear_the_opus_copy_with_ranges(staff, person: Person, session_factory,
                                                                     client):
    from interviewer.transcription.archive import decode
    from interviewer.transcription.jobs import request_transcription, run_transcription
    from interviewer.transcription.retention import archive_recordings, purge_wav
    from tests.interviewer.transcription.test_jobs import INTERVIEWER, PARTICIPANT, ScriptedTranscriber

    blobs = client.app.state.blob_store
    request_transcription(session_factory, person.interview_id, requested_by="test")
    assert run_transcription(session_factory, blobs, ScriptedTranscriber(INTERVIEWER, PARTICIPANT),
                             person.interview_id, token="t").outcome == "done"
    archive_recordings(session_factory, blobs, person.interview_id)
    assert len(purge_wav(session_factory, blobs, retention_s=0).purged) == 2
    url = f"/staff/recordings/{person.recording_ids['participant']}/audio"
    researcher = staff[Role.RESEARCHER].client

    whole = researcher.get(url)
    part = researcher.get(url, headers={"Range": "bytes=100-299"})

    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/ogg"
    samples, rate = decode(whole.content)
    assert rate == RATE and abs(len(samples) - 16 * RATE) <= RATE // 10
    expected = tone(16.0, 220.0).astype(np.float32) / 32768
    expected[5 * RATE:7 * RATE] = 0
    n = min(len(samples), len(expected))
    assert np.corrcoef(samples[:n], expected[:n])[0, 1] > 0.9  # the same tone, with the same gap
    assert part.status_code == 206 and part.content == whole.content[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(whole.content)}"
    assert _events(session_factory, "recording.read")[-1].details == {
        "recording_id": person.recording_ids["participant"], "channel": "participant", "bytes": [100, 299],
        "format": "opus"}
    page = staff[Role.RESEARCHER].client.get(f"/staff/participants/{person.pseudonym}")
    assert "Opus copy (WAV deleted" in page.text
