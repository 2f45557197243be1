"""The one LLM client, against a real HTTP server speaking the OpenAI protocol."""

from __future__ import annotations

import json
import socket
import time

import pytest

from interviewer.llm import LLMBadReply, LLMClient, LLMDeadline, LLMTimeout, LLMUnavailable, reply_deadline
from tests.llm_stand_in import Hang, Slow, Trickle
from voxbank.settings import load_settings
from voxbank.wiring import client_from_settings

SCHEMA = {"type": "object",
          "properties": {"action": {"type": "string", "enum": ["follow_up", "move_on"]},
                         "follow_up": {"type": "string", "maxLength": 50}},
          "required": ["action", "follow_up"], "additionalProperties": False}
DOCUMENT = "A page of notes.\nDecision:"


def test_a_hosted_endpoint_gets_chat_with_a_json_schema(llm, stand_in) -> None:
    stand_in.on_decision = lambda call: {"action": "move_on", "follow_up": ""}
    assert llm.style == "chat"
    reply = llm.complete_json(DOCUMENT, SCHEMA, name="decision", max_tokens=40)
    assert reply.data == {"action": "move_on", "follow_up": ""}
    assert reply.prompt_chars == len(DOCUMENT) and reply.latency_ms > 0
    [call] = stand_in.calls
    assert call.endpoint == "chat" and call.prompt == DOCUMENT
    response_format = call.body["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "decision"
    assert "maxLength" not in json.dumps(response_format["json_schema"]["schema"])  # grammar-only keyword dropped
    assert call.body["model"] == "gemma-3-270m" and call.body["max_tokens"] == 40 and call.body["stream"] is True
    assert (call.body["seed"], call.body["temperature"]) == (0, 0.3)  # the same prompt, the same decision


@pytest.mark.parametrize("owner", ["me", "llamacpp"])
def test_a_llama_cpp_server_gets_the_document_to_continue_and_a_grammar(owner, llm_settings, stand_in) -> None:
    stand_in.owned_by = owner
    stand_in.on_decision = lambda call: '{"action": "follow_up", "follow_up": "Why?"}'
    with client_from_settings(llm_settings) as client:
        assert client.style == "completion"
        reply = client.complete_json(DOCUMENT, SCHEMA, name="decision")
    assert reply.data == {"action": "follow_up", "follow_up": "Why?"}
    call = stand_in.calls[-1]
    assert call.endpoint == "completions" and call.body["prompt"] == DOCUMENT
    grammar = call.body["grammar"]
    assert 'root ::= "{" space action-kv "," space follow-up-kv "}" space' in grammar  # properties in schema order


def test_free_text_is_streamed_back_whole(llm, stand_in) -> None:
    stand_in.on_text = lambda call: " I grew up by the sea, and I still live there."
    reply = llm.complete_text("Isabella: Where did you grow up?\nParticipant:", max_tokens=30, stop=["\n"])
    assert reply.text == " I grew up by the sea, and I still live there."
    assert stand_in.calls[0].body["stop"] == ["\n"]


@pytest.mark.parametrize(("reply", "error", "message"), [
    ("{not json", LLMBadReply, "the reply is not valid JSON"),
    ("", LLMBadReply, "the reply is empty"),
    ("[1, 2]", LLMBadReply, "the reply is JSON but not an object"),
    (Slow(5.0), LLMTimeout, "no reply within the timeout"),
    (Trickle(0.4, {"action": "move_on", "follow_up": "x" * 200}), LLMTimeout, "no complete reply within the timeout"),
])
def test_a_bad_or_slow_reply_raises_an_llm_error(reply, error, message, llm, stand_in) -> None:
    stand_in.on_decision = lambda call: reply
    with pytest.raises(error, match=message) as raised:
        llm.complete_json(DOCUMENT, SCHEMA, name="decision")
    assert raised.value.retryable is (error is LLMTimeout)


def test_an_unreachable_endpoint_is_unavailable_and_worth_retrying(settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LLMClient(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=None, timeout_s=2.0)
    with pytest.raises(LLMUnavailable, match="the LLM endpoint cannot be reached") as raised:
        client.complete_json(DOCUMENT, SCHEMA, name="decision")
    assert raised.value.retryable


def test_the_client_takes_model_key_and_timeout_from_settings(settings, stand_in) -> None:
    configured = load_settings(**{**settings.model_dump(), "llm_base_url": stand_in.url, "llm_model": "big-model",
                                  "llm_api_key": "sk-test", "llm_timeout_s": 7.5})
    with client_from_settings(configured) as client:
        assert (client.base_url, client.model, client.timeout_s) == (stand_in.url, "big-model", 7.5)
        client.complete_text("Hello", max_tokens=5)
    assert stand_in.calls[-1].body["model"] == "big-model"
    assert stand_in.calls[-1].authorization == "Bearer sk-test"


def test_without_an_endpoint_the_client_asks_for_one(settings) -> None:
    with pytest.raises(ValueError, match="set VOXBANK_LLM_BASE_URL or start the embedded server"):
        client_from_settings(settings)


def test_a_reply_deadline_cuts_a_call_short_and_refuses_the_next_one_unasked(llm, stand_in) -> None:
    stand_in.on_decision = lambda call: Hang()
    with reply_deadline(time.monotonic() + 0.3):
        with pytest.raises(LLMDeadline, match="no reply within the timeout") as cut:
            llm.complete_json(DOCUMENT, SCHEMA, name="decision")
        assert cut.value.reason == "deadline" and cut.value.retryable
        with pytest.raises(LLMDeadline, match="the reply's deadline passed before the call"):
            llm.complete_json(DOCUMENT, SCHEMA, name="decision")
    assert len(stand_in.calls) == 1  # the second call never reached the endpoint
    stand_in.reset()
    stand_in.on_decision = lambda call: {"action": "move_on", "follow_up": ""}
    assert llm.complete_json(DOCUMENT, SCHEMA, name="decision").data == {"action": "move_on", "follow_up": ""}
