"""The study as data: protocol files (YAML), their schema, the loader, overlays and the checker.

The file format is specified in `protocols/FORMAT.md`. This package imports nothing else of
voxbank's.

    from protocols import load_study, check_study
    study = load_study()                       # the shipped study (default_study_dir())
    guide = study.interview_guide              # InterviewGuide
    bfi = study.instrument("bfi44").scoring_key()
"""

from protocols.check import CheckReport, check_study, summarize
from protocols.errors import ProtocolError, ProtocolErrors
from protocols.loader import ConsentDocument, LoadedFile, Study, default_study_dir, load_file, load_study
from protocols.overlay import apply_overlay
from protocols.schema import (
    MODELS,
    AnyGame,
    AnyResponse,
    Experiment,
    ExperimentSet,
    GameSet,
    Instrument,
    InterviewGuide,
    Item,
    LikertResponse,
    Module,
    NumberResponse,
    Overlay,
    Question,
    SingleChoiceResponse,
    StudySpec,
    TextResponse,
)

__all__ = [
    "MODELS",
    "AnyGame",
    "AnyResponse",
    "CheckReport",
    "ConsentDocument",
    "Experiment",
    "ExperimentSet",
    "GameSet",
    "Instrument",
    "InterviewGuide",
    "Item",
    "LikertResponse",
    "LoadedFile",
    "Module",
    "NumberResponse",
    "Overlay",
    "ProtocolError",
    "ProtocolErrors",
    "Question",
    "SingleChoiceResponse",
    "Study",
    "StudySpec",
    "TextResponse",
    "apply_overlay",
    "check_study",
    "default_study_dir",
    "load_file",
    "load_study",
    "summarize",
]
