"""The participant's capability (a signed cookie) and the per-page form tokens.

A participant has no account: entering from their Prolific link gives them a cookie, encrypted and
authenticated (Fernet: AES-128-CBC with HMAC-SHA256) with a key derived from ``settings.secret_key``,
that names their participant id, their pseudonym and their visit. The holder cannot read it: the
pseudonym names the participant's folder in a restricted export, so a readable cookie would link
export rows to a Prolific identity. Every
participant route loads exactly that visit (``web.deps.ParticipantVisit``) and nothing else: no
route takes a participant or visit id from the URL or the form, so the cookie reaches nobody else's
data. The cookie is HttpOnly, SameSite=Lax, scoped to the study's path, and Secure in production.

Each rendered form carries a token signed with a different salt, naming the visit and the page
position it was shown at; a submit is checked against both (see ``survey.journey`` for how the
position makes it count once).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, URLSafeSerializer

from survey.errors import FormExpired, NotYourVisit

COOKIE_MAX_AGE_S = 60 * 60 * 24 * 30


def cookie_name(slug: str) -> str:
    """The capability cookie's name for one study."""
    return f"voxbank_{slug}"


@dataclass(frozen=True)
class Capability:
    """Who the cookie says the holder is."""

    participant_id: int
    pseudonym_id: str
    visit_id: int | None


class Signer:
    """Signs and checks capabilities and form tokens with the app's secret key."""

    def __init__(self, secret_key: str) -> None:
        key = hashlib.sha256(b"voxbank.participant-capability\0" + secret_key.encode("utf-8")).digest()
        self._cookies = Fernet(base64.urlsafe_b64encode(key))
        self._forms = URLSafeSerializer(secret_key, salt="voxbank.form-token")

    def capability(self, slug: str, participant_id: int, pseudonym_id: str, visit_id: int | None) -> str:
        """A cookie value for this participant's visit in this study."""
        payload = json.dumps({"s": slug, "p": participant_id, "u": pseudonym_id, "v": visit_id})
        return self._cookies.encrypt(payload.encode("utf-8")).decode("ascii")

    def read_capability(self, slug: str, value: str | None) -> Capability | None:
        """The capability in a cookie value, or None when it is missing, forged, expired or for another study."""
        if not value:
            return None
        try:
            data = json.loads(self._cookies.decrypt(value.encode("ascii"), ttl=COOKIE_MAX_AGE_S))
        except (InvalidToken, UnicodeError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("s") != slug:
            return None
        participant, pseudonym, visit = data.get("p"), data.get("u"), data.get("v")
        if not isinstance(participant, int) or not isinstance(pseudonym, str):
            return None
        if visit is not None and not isinstance(visit, int):
            return None
        return Capability(participant, pseudonym, visit)

    def form_token(self, visit_id: int, position: int, purpose: str = "page") -> str:
        """The token a form rendered for this visit, at this page position, carries."""
        return self._forms.dumps({"v": visit_id, "p": position, "k": purpose})

    def check_form_token(self, token: str | None, visit_id: int, purpose: str = "page") -> int:
        """The page position a token was issued for; FormExpired if forged, NotYourVisit if for another visit."""
        if not token:
            raise FormExpired("The form arrived without its security token. Please reload the page; nothing was saved.")
        try:
            data = self._forms.loads(token)
        except BadSignature:
            raise FormExpired("The form's security token does not check out. Please reload the page; "
                              "nothing was saved.") from None
        if not isinstance(data, dict) or not isinstance(data.get("p"), int) or data.get("k") != purpose:
            raise FormExpired("The form's security token is not for this page. "
                              "Please reload the page; nothing was saved.")
        if data.get("v") != visit_id:
            raise NotYourVisit("This form was made for another participant's session. Nothing was saved.")
        return int(data["p"])
