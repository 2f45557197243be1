"""Input and output schemas of the participant routes (separate: nothing of the ORM goes out as is)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from survey.prolific_links import ProlificIds, parse_ids


class StudyLink(BaseModel):
    """The ids Prolific appends to a study link (input). Checked by `to_ids`, which names what is wrong."""

    model_config = ConfigDict(populate_by_name=True)

    PROLIFIC_PID: str | None = None
    STUDY_ID: str | None = None
    SESSION_ID: str | None = None

    def to_ids(self) -> ProlificIds:
        """The validated ids; InvalidEntry (400) when any is missing or malformed."""
        return parse_ids({"PROLIFIC_PID": self.PROLIFIC_PID, "STUDY_ID": self.STUDY_ID,
                          "SESSION_ID": self.SESSION_ID})


class ProgressOut(BaseModel):
    """Where a participant is (output of ``GET /study/{slug}/progress``)."""

    study: str
    participant_status: str
    visit_status: str | None
    step: str | None
    page: int
    pages: int
    completed: bool


class ErrorOut(BaseModel):
    """An error as JSON, for clients that ask for it."""

    error: str
    detail: str
