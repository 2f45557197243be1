"""`voxbank doctor` checks what production needs: voice models, LiveKit, the GPU and TURN."""

from __future__ import annotations

from voxbank.doctor import check_gpu, check_livekit, check_turn, check_voice
from voxbank.settings import load_settings

LIVEKIT = {"livekit_api_key": "key", "livekit_api_secret": "secret-secret-secret-secret-secret"}


def test_a_missing_whisper_model_is_named_with_its_path(tmp_path) -> None:
    finding = check_voice(load_settings(data_dir=tmp_path, stt_model=str(tmp_path / "large-v3")))
    assert not finding.ok and finding.required
    assert f"{tmp_path / 'large-v3'} is not a CTranslate2 Whisper model folder" in finding.detail


def test_the_shipped_voice_models_are_found(tmp_path) -> None:
    finding = check_voice(load_settings(data_dir=tmp_path))
    assert finding.ok
    assert finding.detail == "whisper tiny.en, piper voice joe"


def test_asking_for_cuda_on_a_machine_without_a_gpu_is_a_problem(tmp_path) -> None:
    finding = check_gpu(load_settings(data_dir=tmp_path, stt_device="cuda"))
    assert not finding.ok and finding.required
    assert finding.detail == "VOXBANK_STT_DEVICE=cuda, but no CUDA device is visible to CTranslate2"


def test_without_livekit_the_embedded_transport_is_reported_as_optional(tmp_path) -> None:
    finding = check_livekit(load_settings(data_dir=tmp_path))
    assert finding.ok and not finding.required


def test_a_livekit_server_that_does_not_answer_is_named(tmp_path) -> None:
    finding = check_livekit(load_settings(data_dir=tmp_path, livekit_url="http://127.0.0.1:1", **LIVEKIT))
    assert not finding.ok
    assert finding.detail.startswith("http://127.0.0.1:1: ")


def test_production_without_livekit_has_no_turn_and_says_so(tmp_path) -> None:
    finding = check_turn(load_settings(data_dir=tmp_path, environment="production", secret_key="x" * 40))
    assert not finding.ok and finding.required
    assert "no TURN" in finding.detail and "VOXBANK_LIVEKIT_URL" in finding.fix


def test_an_unreachable_livekit_media_port_is_reported(tmp_path) -> None:
    finding = check_turn(load_settings(data_dir=tmp_path, livekit_url="ws://127.0.0.1:1", **LIVEKIT))
    assert not finding.ok
    assert finding.detail.startswith("127.0.0.1:7881 (WebRTC over TCP) does not answer")
