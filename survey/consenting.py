"""The consent step: sign (with the chosen scopes) or decline, once, exactly as the document was shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from storage import audit
from storage.models import Consent, Participant, Visit, utcnow
from storage.states import ParticipantStatus, VisitStatus
from survey import consent as consent_doc
from survey import quotas
from survey.errors import TamperedForm
from survey.fields import FormData, ParsedAnswers
from survey.page_views import PageViews

TOKEN_FIELD = "token"
"""The form key of the signed page token; not an answer."""


@dataclass
class Submitted:
    """What a submit led to: ``saved`` (moved on), ``stale`` (already saved elsewhere), ``invalid``
    (shown again with errors), ``declined`` (consent declined) or ``completed`` (the last page was saved)."""

    outcome: Literal["saved", "stale", "invalid", "declined", "completed"]
    parsed: ParsedAnswers | None = None
    form_error: str | None = None
    chosen_scopes: list[str] = field(default_factory=list)


class Consenting(PageViews):
    """Submits the consent page and fills in the document the participant reads."""

    def consent_text(self) -> str:
        """The consent document exactly as shown (placeholders filled): the text a signed copy keeps."""
        return consent_doc.fill(self.runtime.consent, {"contact_email": self.contact_email})

    def _submit_consent(self, session: Session, participant: Participant, visit: Visit, position: int,
                        form: FormData) -> Submitted:
        document = self.runtime.consent
        scopes = consent_doc.scopes(document)
        allowed = {f"scope.{s.id}" for s in scopes} | {"decision", TOKEN_FIELD}
        for key, values in form.items():
            if key not in allowed:
                raise TamperedForm("The consent form holds a field it does not have. Nothing was saved.")
            if len(values) > 1:
                raise TamperedForm("The consent form sent a field more than once. Nothing was saved.")
            if key.startswith("scope.") and values[0] != "yes":
                raise TamperedForm("The consent form sent a value a checkbox cannot have. Nothing was saved.")
        decision = form.get("decision", [""])[0]
        chosen = [s.id for s in scopes if f"scope.{s.id}" in form]
        if decision == "decline":
            if not self._advance(session, visit, position, status=VisitStatus.DECLINED):
                return Submitted("stale")
            self._decline(session, participant, visit)
            return Submitted("declined")
        if decision != "agree":
            raise TamperedForm("The consent form must be sent with one of its two buttons. Nothing was saved.")
        missing = [s for s in scopes if s.required and s.id not in chosen]
        if missing:
            names = "; ".join(f"“{s.title}”" for s in missing)
            return Submitted("invalid", form_error=f"To take part, please tick the required boxes: {names}.",
                             chosen_scopes=chosen)
        if not self._advance(session, visit, position):
            return Submitted("stale")
        text = self.consent_text()
        signed = Consent(participant_id=participant.id, document_version=document.version, text=text,
                         text_hash=consent_doc.text_hash(text), scopes=chosen, signed_at=utcnow())
        session.add(signed)
        session.flush()
        audit.record(session, self._actor(participant), "consent.sign", f"consent:{signed.id}",
                     {"version": document.version, "text_hash": signed.text_hash, "scopes": chosen})
        self._finish_view(session, visit, position, "consent", [], None, signed.signed_at, None)
        return Submitted("saved", chosen_scopes=chosen)

    def _decline(self, session: Session, participant: Participant, visit: Visit) -> None:
        if participant.strata:
            quotas.release(session, self.study_id, participant.strata)
        participant.status = ParticipantStatus.DECLINED
        participant.strata = {}
        session.flush()
        audit.record(session, self._actor(participant), "consent.decline", f"participant:{participant.id}",
                     {"version": self.runtime.consent.version})
