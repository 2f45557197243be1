"""Bots that take the journey through the real app (oTree-style): read each page's form, answer, submit.

A `FormPage` is what a browser sees of a page's form; `Bot` walks from a Prolific link to the
completion page with any HTTP client that follows the app's redirects (a TestClient or an httpx
client against a live server).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

SLUG = "park2024"
STUDY_ID = "65a0f00d1234567890abcdef"
# One cell of every stratum: links carrying these skip the welcome page's questions.
STRATA = {
    "age_band": "45_54", "census_division": "pacific", "education": "bachelor", "race": "white",
    "gender": "female", "income": "50k_75k", "neighborhood": "suburban", "political_ideology": "moderate",
}
SELF_DESCRIPTION = ("I grew up in a small town near the coast with my parents and two brothers. "
                    "I studied biology at a state university and now work as a laboratory technician. "
                    "I am curious, patient and a little shy with strangers, but loyal to my friends. "
                    "I care about my family, the outdoors, and doing careful work. I am a woman in my "
                    "late forties and I live in a suburb on the west coast with my partner and our dog.")
RECALL = "Two friends argued about money they owed each other and I helped them talk it through calmly."


def pid(n: int) -> str:
    """A well-formed Prolific id (24 hex characters) for participant number n."""
    return f"{n:024x}"


def session_id(n: int) -> str:
    """A well-formed Prolific session id for participant number n."""
    return f"5e{n:022x}"


def start_url(participant: str, *, strata: dict[str, str] | None = None, session: str | None = None,
              study: str = STUDY_ID) -> str:
    """The Prolific-style study link for a participant id."""
    query = {"PROLIFIC_PID": participant, "STUDY_ID": study, "SESSION_ID": session or session_id(int(participant, 16))}
    query.update(strata if strata is not None else STRATA)
    return f"/study/{SLUG}/start?" + "&".join(f"{k}={v}" for k, v in query.items())


@dataclass
class FormPage:
    """The first POST form of a page, as a browser would see it."""

    action: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    radios: dict[str, list[str]] = field(default_factory=dict)
    checkboxes: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, tuple[str, str]] = field(default_factory=dict)
    textareas: list[str] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    heading: str = ""

    @property
    def token(self) -> str:
        """The page's form token."""
        return self.hidden.get("token", "")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = FormPage()
        self.forms = 0
        self.in_form = False
        self.in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "h1" and not self.page.heading:
            self.in_h1 = True
        if tag == "form" and a.get("method", "").lower() == "post" and self.forms == 0:
            self.in_form, self.page.action = True, a.get("action", "")
            return
        if not self.in_form:
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text")
            if kind == "hidden":
                self.page.hidden[name] = a.get("value", "")
            elif kind == "radio":
                self.page.radios.setdefault(name, []).append(a.get("value", ""))
            elif kind == "checkbox":
                self.page.checkboxes[name] = a.get("value", "")
            elif kind == "number":
                self.page.numbers[name] = (a.get("min", "0"), a.get("max", "0"))
        elif tag == "textarea":
            self.page.textareas.append(name)
        elif tag == "button" and name:
            self.page.buttons.append((name, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
            self.forms += 1
        if tag == "h1":
            self.in_h1 = False

    def handle_data(self, data: str) -> None:
        if self.in_h1:
            self.page.heading += data.strip()


def read_form(html: str) -> FormPage:
    """The first POST form of a page."""
    parser = _Parser()
    parser.feed(html)
    return parser.page


Chooser = Callable[[str, list[str]], str]
EndInterview = Callable[[str], None]
"""Ends the interview of the participant with this PID, as the voice interview does when it closes."""


def interview_ended_by(session_factory: Any) -> EndInterview:
    """For journeys that test the steps after the interview: store the participant's wave-1 interview as
    completed, the state a finished voice interview (tested in tests/interviewer/voice) leaves behind."""
    from sqlalchemy import select

    from storage.models import Interview, Participant, Visit

    def end(participant: str) -> None:
        with session_factory() as session, session.begin():
            visit = session.scalars(select(Visit).join(Participant, Visit.participant_id == Participant.id)
                                    .where(Participant.prolific_pid == participant, Visit.wave == 1)).one()
            session.add(Interview(visit_id=visit.id, mode="voice", guide_id="avp", protocol_version="test",
                                  protocol_hash="0" * 64, status="completed"))

    return end


def first_option(name: str, values: list[str]) -> str:
    """Answer every choice with its first option."""
    return values[0]


@dataclass
class Bot:
    """Walks the journey with ``client``; ``choose`` picks each radio answer."""

    client: Any
    participant: str
    choose: Chooser = first_option
    end_interview: EndInterview | None = None
    """Called on the interview step before Continue (a TestClient's app needs none: its database is used);
    without one the journey stops there, as it should."""
    pages: int = 0
    history: list[str] = field(default_factory=list)

    def enter(self, **kwargs: Any) -> Any:
        """Open the study link (and press Start on the welcome page)."""
        response = self.client.get(start_url(self.participant, **kwargs))
        form = read_form(response.text)
        if response.status_code == 200 and form.heading == "Welcome":
            data = {**form.hidden, "start": "1"}
            for name, values in form.radios.items():
                data[name] = values[0]
            response = self.client.post(form.action, data=data)
        return response

    def answers(self, form: FormPage) -> dict[str, Any]:
        """What the bot submits for a page."""
        data: dict[str, Any] = dict(form.hidden)
        if form.checkboxes:  # the consent page: agree to everything
            data.update(form.checkboxes)
            data["decision"] = "agree"
        for name, values in form.radios.items():
            data[name] = self.choose(name, values)
        for name, (low, _high) in form.numbers.items():
            data[name] = low
        for name in form.textareas:
            data[name] = SELF_DESCRIPTION if "self_description" in name else RECALL
        return data

    def step(self, response: Any) -> Any:
        """Answer the page in ``response`` and return the next one."""
        form = read_form(response.text)
        self.history.append(form.heading)
        self.pages += 1
        if form.heading == "The interview":
            end = self.end_interview
            app = getattr(self.client, "app", None)  # a TestClient: the app's own database
            if end is None and app is not None:
                end = interview_ended_by(app.state.session_factory)
            if end is not None:
                end(self.participant)
        return self.client.post(form.action, data=self.answers(form))

    def run(self, response: Any, *, limit: int = 80) -> Any:
        """Answer pages until the completion page."""
        while "Your completion code is" not in response.text:
            assert response.status_code == 200, (response.status_code, response.text[:2000])
            assert self.pages < limit, "the journey did not end"
            response = self.step(response)
        return response


def completion_code(html: str) -> str | None:
    """The code a completion page shows."""
    match = re.search(r'class="code">([A-Z0-9]+)<', html)
    return match.group(1) if match else None
