"""The shape of every protocol file, as pydantic models: one model per `kind`.

The models are the executable form of `protocols/FORMAT.md`. Every mapping is closed
(``extra="forbid"``), values are not coerced (``strict=True``: ``"625"`` is not a number and
``no`` is not a string), and the loaded objects are immutable.

Checks that involve more than one value (unique ids, ``min < max``, shares that add to 1, steps
that name known instruments, ...) raise `Invalid`, which carries one or more `Problem`s, each
with the key path (relative to the model being checked) of the value at fault and a fix. The
loader turns them into `ProtocolError`s that name the file and line.

The models live in one module per file kind (``guide``, ``instrument``, ``games``, ``experiments``,
``study``, ``overlay``), on ``base`` (problems, value types, ``Model``) and ``responses`` (answer
types); every public name is importable from here.
"""

from __future__ import annotations

from protocols.schema.base import (
    Code,
    Currency,
    FileHeader,
    GameId,
    Invalid,
    Model,
    Number,
    Order,
    Problem,
    RelativePath,
    Slug,
    Text,
)
from protocols.schema.experiments import (
    Analysis,
    Assignment,
    Experiment,
    ExperimentCondition,
    ExperimentSet,
)
from protocols.schema.games import (
    PAYOFF_RULES,
    AmountDecision,
    AmountsByCaseDecision,
    AnyGame,
    Case,
    ChoiceDecision,
    Decision,
    DictatorGame,
    Game,
    GameSet,
    NoParameters,
    PrisonersDilemmaGame,
    PrisonersDilemmaParameters,
    PrisonersDilemmaPayoffs,
    PublicGoodsGame,
    TrustReceiverGame,
    TrustReceiverParameters,
    TrustSenderGame,
)
from protocols.schema.guide import (
    Condition,
    FollowUpTemplates,
    InterviewGuide,
    Module,
    Question,
    SafetyWording,
    ScriptText,
)
from protocols.schema.instrument import (
    Instrument,
    Scoring,
)
from protocols.schema.overlay import (
    Overlay,
    OverlayEntry,
)
from protocols.schema.responses import (
    DECLINED,
    IAP_CODE,
    MISSING_CODES,
    RESPONSE_TYPES,
    AnyResponse,
    Item,
    ItemResponse,
    LikertResponse,
    NumberResponse,
    Option,
    Response,
    ScaleRef,
    SingleChoiceResponse,
    TextResponse,
)
from protocols.schema.study import (
    BUILTIN_STEPS,
    Bonus,
    ConsentVersion,
    Payments,
    Prolific,
    QuotaCell,
    Quotas,
    Reminders,
    Stratum,
    StudySpec,
    Wave,
)

# --------------------------------------------------------------------------------------------

MODELS: dict[str, type[FileHeader]] = {
    "interview_guide": InterviewGuide,
    "instrument": Instrument,
    "games": GameSet,
    "experiments": ExperimentSet,
    "study": StudySpec,
    "overlay": Overlay,
}
"""The model for each `kind:`."""

__all__ = [
    "AmountDecision",
    "AmountsByCaseDecision",
    "Analysis",
    "AnyGame",
    "AnyResponse",
    "Assignment",
    "BUILTIN_STEPS",
    "Bonus",
    "Case",
    "ChoiceDecision",
    "Code",
    "Condition",
    "ConsentVersion",
    "Currency",
    "DECLINED",
    "Decision",
    "DictatorGame",
    "Experiment",
    "ExperimentCondition",
    "ExperimentSet",
    "FileHeader",
    "FollowUpTemplates",
    "Game",
    "GameId",
    "GameSet",
    "IAP_CODE",
    "Instrument",
    "InterviewGuide",
    "Invalid",
    "Item",
    "ItemResponse",
    "LikertResponse",
    "MISSING_CODES",
    "Model",
    "Module",
    "NoParameters",
    "Number",
    "NumberResponse",
    "Option",
    "Order",
    "Overlay",
    "OverlayEntry",
    "PAYOFF_RULES",
    "Payments",
    "PrisonersDilemmaGame",
    "PrisonersDilemmaParameters",
    "PrisonersDilemmaPayoffs",
    "Problem",
    "Prolific",
    "PublicGoodsGame",
    "Question",
    "QuotaCell",
    "Quotas",
    "RESPONSE_TYPES",
    "RelativePath",
    "Reminders",
    "Response",
    "SafetyWording",
    "ScaleRef",
    "Scoring",
    "ScriptText",
    "SingleChoiceResponse",
    "Slug",
    "Stratum",
    "StudySpec",
    "Text",
    "TextResponse",
    "TrustReceiverGame",
    "TrustReceiverParameters",
    "TrustSenderGame",
    "Wave",
    "MODELS",
]
