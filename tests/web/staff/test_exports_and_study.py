"""Admins make and download exports from the dashboard; the study page never shows a secret."""

from __future__ import annotations

import io
import json
import zipfile

from journey_bots import Bot, pid
from sqlalchemy import select

from storage.models import AuditEvent, Export
from web.staff.roles import Role


def test_an_admin_makes_an_open_export_from_the_page_and_downloads_it(staff, make_client, session_factory):
    for n in (1, 2):
        bot = Bot(make_client(), pid(n))
        bot.run(bot.enter())
    admin = staff[Role.ADMIN]
    made = admin.client.post("/staff/exports", data={"csrf": admin.csrf, "tier": "open"})
    assert made.status_code == 200, made.text[-2000:]
    with session_factory() as session:
        export = session.scalars(select(Export)).one()
    assert f"Export {export.id} was written." in made.text
    row = made.text.split(f'<tr data-export="{export.id}">')[1].split("</tr>")[0]
    assert "staff:admin@lab.example.org" in row and "<td>open</td>" in row and "participants 2" in row
    assert export.manifest_sha256[:16] in row
    download = admin.client.get(f"/staff/exports/{export.id}/download")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tier"] == "open" and manifest["counts"]["participants"] == 2
    with session_factory() as session:
        actions = {(e.actor, e.action) for e in session.scalars(select(AuditEvent))}
    assert ("staff:admin@lab.example.org", "export.download") in actions
    assert any(actor == "staff:admin@lab.example.org" and action.startswith("export.") and action != "export.download"
               for actor, action in actions)


def test_the_study_page_shows_the_protocol_and_settings_but_never_a_secret(staff, settings):
    page = staff[Role.VIEWER].client.get("/staff/study").text
    assert "park2024" in page and "Protocol hash" in page
    assert "<td><code>VOXBANK_PROLIFIC_WEBHOOK_SECRET</code></td><td>set</td>" in page
    assert "test-webhook-secret" not in page
    assert settings.secret_key.get_secret_value() not in page
