"""``/staff/exports``: past agent-bank exports (actor, tier, counts, manifest hash); admins make and download them.

An export made here is the same as ``voxbank export`` (``agentbank.export.run_export``), written under
``<data dir>/exports/``, recorded in the ``exports`` table and the audit log with the admin's account.
A download is a zip of the export's folder and is audited (``export.download``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.background import BackgroundTask

from storage import audit
from storage.models import Export, utcnow
from web.deps import FormDep, SessionDep
from web.staff.access import Exporter
from web.staff.errors import StaffInputError, StaffNotFound
from web.staff.rendering import render_staff

router = APIRouter(prefix="/staff/exports")
TIERS = ("open", "restricted")


def _counts(export: Export) -> dict[str, int]:
    try:
        return dict(json.loads((Path(export.out_path) / "manifest.json").read_text()).get("counts", {}))
    except (OSError, ValueError):
        return {}


@router.get("")
def exports_page(request: Request, session: SessionDep, staff: Exporter, done: str | None = None) -> Response:
    """Every export, newest first, and the form to make one."""
    rows = list(session.scalars(select(Export).order_by(Export.id.desc())))
    return render_staff(request, staff, "exports.html", {
        "title": "Exports", "exports": [(e, _counts(e), Path(e.out_path).is_dir()) for e in rows], "tiers": TIERS,
        "notice": f"Export {done} was written." if done else None,
    })


@router.post("")
def make_export(request: Request, session: SessionDep, staff: Exporter, form: FormDep) -> Response:
    """Write an export of the chosen tier (the restricted tier embeds each agent's memories: it takes a while)."""
    from agentbank.export import ExportError, run_export
    from agentbank.scrub import ScrubberUnavailable

    tier = (form.get("tier") or [""])[0]
    if tier not in TIERS:
        raise StaffInputError(f"Choose the tier: open or restricted (got {tier!r}). Nothing was exported.")
    settings = request.app.state.settings
    runtime = request.app.state.journey.runtime
    out = settings.exports_dir / f"{utcnow():%Y%m%dT%H%M%S}-{tier}"
    session.close()
    try:
        result = run_export(request.app.state.session_factory, runtime.protocol, out, tier=tier, actor=staff.actor,
                            embedder=settings.export_embedder if tier == "restricted" else None,
                            study_slug=runtime.slug)
    except (ExportError, ScrubberUnavailable) as error:
        raise StaffInputError(f"The export failed: {error}") from None
    return RedirectResponse(f"/staff/exports?done={result.export_id}", status_code=303)


@router.get("/{export_id}/download")
def download(session: SessionDep, staff: Exporter, export_id: int) -> Response:
    """The export's folder as a zip file."""
    export = session.get(Export, export_id)
    if export is None:
        raise StaffNotFound(f"There is no export {export_id}.")
    folder = Path(export.out_path)
    if not folder.is_dir():
        raise StaffNotFound(f"The files of export {export_id} are no longer at {folder}.")
    audit.record(session, staff.actor, "export.download", f"export:{export.id}", {"tier": export.tier})
    session.commit()
    scratch = Path(tempfile.mkdtemp(prefix="voxbank-export-"))
    archive = shutil.make_archive(str(scratch / f"voxbank-export-{export.id}-{export.tier}"), "zip", folder)
    return FileResponse(archive, media_type="application/zip", filename=Path(archive).name,
                        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True))
