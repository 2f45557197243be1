"""The Content-Security-Policy: pages connect to their own server, and in LiveKit mode to the LiveKit server too."""

from __future__ import annotations

from web.app import security_headers


def test_without_livekit_pages_connect_only_to_their_own_server() -> None:
    policy = security_headers(None)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src" not in policy


def test_in_livekit_mode_the_page_may_connect_to_the_livekit_server_and_no_other() -> None:
    policy = security_headers("wss://livekit.example.org")["Content-Security-Policy"]
    assert policy.endswith("; connect-src 'self' wss://livekit.example.org https://livekit.example.org")
    assert "frame-ancestors 'none'" in policy
