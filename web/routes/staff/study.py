"""``/staff/study``: the protocol running (files, versions, hashes, overlays, waves, quotas) and the settings.

Settings are shown without secrets: every ``SecretStr`` field (and the names in ``SECRET_FIELDS``)
reads "set" or "not set", never its value.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import SecretStr

from voxbank.settings import ENV_PREFIX, SECRET_FIELDS, Settings
from web.staff.access import Viewer
from web.staff.rendering import render_staff

router = APIRouter(prefix="/staff/study")


def visible_settings(settings: Settings) -> list[tuple[str, str]]:
    """(variable, value) for every setting, secrets shown only as set or not set."""
    out = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name in SECRET_FIELDS or isinstance(value, SecretStr):
            shown = "set" if value else "not set"
        elif name == "database_url" and value:
            from sqlalchemy.engine import make_url

            shown = make_url(value).render_as_string(hide_password=True)
        else:
            shown = "–" if value is None else str(value)
        out.append((f"{ENV_PREFIX}{name.upper()}", shown))
    return out


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
        "settings_rows": visible_settings(request.app.state.settings),
    })
