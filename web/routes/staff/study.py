"""``/staff/study``: the protocol running (files, versions, hashes, overlays, waves, quotas) and the settings.

Settings are shown without secrets (`voxbank.settings.visible_settings`): every secret reads "set" or
"not set", never its value.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.staff.access import Viewer
from web.staff.rendering import render_staff

router = APIRouter(prefix="/staff/study")


@router.get("")
def study_page(request: Request, staff: Viewer) -> Response:
    """What study is running, from which files, with which settings."""
    runtime = request.app.state.journey.runtime
    protocol = runtime.protocol
    files = [(f.path.name, f.version, f.content_hash, f.effective_hash, [o.path.name for o in f.overlays])
             for f in protocol.files()]
    return render_staff(request, staff, "study.html", {
        "title": "Study", "runtime": runtime, "spec": protocol.spec, "files": files,
        "consents": protocol.consent, "guide": protocol.interview_guide,
        "settings_rows": list(request.app.state.settings.visible_settings),
    })
