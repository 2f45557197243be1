"""LiveKit mode's browser client: the pinned livekit-client bundle that `make vendor` fetched from the
npm registry is served where interview.html loads it, with its licence beside it."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
SCRIPT = (REPO / "deploy" / "vendor-livekit-client.sh").read_text()
VERSION = re.search(r"^VERSION=(\S+)$", SCRIPT, re.M).group(1)  # type: ignore[union-attr]
INTEGRITY = re.search(r"^INTEGRITY=(\S+)$", SCRIPT, re.M).group(1)  # type: ignore[union-attr]


def test_the_vendored_bundle_is_the_pinned_release() -> None:
    stamp = (REPO / "web" / "static" / "vendor" / "livekit-client.VERSION").read_text().strip()
    assert stamp == f"livekit-client@{VERSION} {INTEGRITY}"


def test_interview_pages_get_the_livekit_client_bundle_and_its_licence(client: TestClient) -> None:
    bundle = client.get("/static/vendor/livekit-client.umd.min.js")
    assert bundle.status_code == 200
    assert ".LivekitClient={}" in bundle.text and f'"{VERSION}"' in bundle.text
    licence = client.get("/static/vendor/livekit-client.LICENSE.txt")
    assert licence.status_code == 200 and "Apache License" in licence.text
