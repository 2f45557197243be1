"""Loading protocol files and whole studies.

`load_file` turns one YAML file into its pydantic model; `load_study` loads a study folder: the
`study.yaml` and every file it names, then checks that the files agree with each other. Both
collect every problem they can find and raise them together as `ProtocolErrors`; each problem
names the file and line.
"""

from __future__ import annotations

import difflib
import hashlib
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

from protocols.errors import ProtocolError, ProtocolErrors, describe_value
from protocols.schema import (
    MODELS,
    PAYOFF_RULES,
    RESPONSE_TYPES,
    ExperimentSet,
    FileHeader,
    GameSet,
    Instrument,
    InterviewGuide,
    Invalid,
    Overlay,
    StudySpec,
)
from protocols.yaml_source import SourceMap, decode, parse_yaml

M = TypeVar("M", bound=FileHeader)

FORMAT_DOC = "protocols/FORMAT.md"
STUDY_FILE = "study.yaml"


@dataclass(frozen=True)
class LoadedFile(Generic[M]):
    """One validated protocol file.

    `data` is the model, `path` the file, `content_hash` the sha256 (hex) of the file's bytes.
    `overlays` lists the overlay files applied to `data` (see `protocols.overlay`), and
    `effective_hash` identifies the wording actually in `data`.
    """

    path: Path
    data: M
    content_hash: str
    source: SourceMap = field(repr=False, compare=False)
    overlays: tuple[LoadedFile[Overlay], ...] = ()

    @property
    def version(self) -> str:
        """The file's `version:`."""
        return self.data.version

    @property
    def id(self) -> str:
        """The file's `id:`."""
        return self.data.id

    @property
    def effective_hash(self) -> str:
        """`content_hash` when no overlay is applied, else the sha256 of it and the overlays' hashes."""
        if not self.overlays:
            return self.content_hash
        joined = "\n".join([self.content_hash, *(o.content_hash for o in self.overlays)])
        return hashlib.sha256(joined.encode()).hexdigest()


@dataclass(frozen=True)
class ConsentDocument:
    """One version of the consent text, read from the file that study.yaml names."""

    version: str
    path: Path
    text: str
    content_hash: str
    required_scopes: tuple[str, ...]
    optional_scopes: tuple[str, ...]


@dataclass(frozen=True)
class Study:
    """A loaded, cross-checked study: `study.yaml` and every file it names."""

    path: Path
    file: LoadedFile[StudySpec]
    interview_guides: dict[str, LoadedFile[InterviewGuide]]
    instruments: dict[str, LoadedFile[Instrument]]
    games: LoadedFile[GameSet] | None
    experiments: LoadedFile[ExperimentSet] | None
    consent: tuple[ConsentDocument, ...]

    @property
    def spec(self) -> StudySpec:
        """The study.yaml model."""
        return self.file.data

    @property
    def id(self) -> str:
        """The study id."""
        return self.spec.id

    @property
    def version(self) -> str:
        """The study.yaml version."""
        return self.spec.version

    @property
    def interview_guide(self) -> InterviewGuide | None:
        """The guide participants get (study.yaml's `interview_guide`), or None."""
        name = self.spec.interview_guide
        return None if name is None else self.interview_guides[name].data

    def instrument(self, instrument_id: str) -> Instrument:
        """The instrument with this id; KeyError if the study has none."""
        return self.instruments[instrument_id].data

    @property
    def current_consent(self) -> ConsentDocument:
        """The consent version new participants sign: the last one listed."""
        return self.consent[-1]

    def files(self) -> list[LoadedFile[Any]]:
        """Every loaded protocol file of the study, study.yaml first."""
        out: list[LoadedFile[Any]] = [self.file, *self.interview_guides.values(), *self.instruments.values()]
        out += [f for f in (self.games, self.experiments) if f is not None]
        return out


def default_study_dir() -> Path:
    """The folder of the study shipped with voxbank (Park et al. 2024)."""
    return Path(__file__).resolve().parent / "studies" / "park2024"


# --------------------------------------------------------------------------------------------
# One file


def load_file(path: str | Path, *, kind: str | None = None) -> LoadedFile[Any]:
    """Load and validate one protocol file; its `kind:` picks the schema.

    With `kind`, the file must be of that kind. Raises `ProtocolErrors` listing every problem
    found in the file.
    """
    file = str(path)
    raw = _read_bytes(Path(path), file)
    data, source = parse_yaml(decode(raw, file), file)
    model = _model_for(data, source, kind)
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolErrors(translate_validation_error(exc, source, model)) from None
    return LoadedFile(path=Path(path), data=obj, content_hash=hashlib.sha256(raw).hexdigest(), source=source)


def _read_bytes(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ProtocolErrors(
            [ProtocolError("file not found", file=file, fix="check the path, or create the file")]
        ) from None
    except IsADirectoryError:
        raise ProtocolErrors([ProtocolError("is a folder, not a file", file=file, fix="name a .yaml file")]) from None
    except OSError as exc:
        raise ProtocolErrors(
            [ProtocolError(f"cannot be read: {exc.strerror}", file=file, fix="check its permissions")]
        ) from None


def _model_for(data: Any, source: SourceMap, expected: str | None) -> type[FileHeader]:
    kinds = " | ".join(MODELS)
    if not isinstance(data, dict):
        raise ProtocolErrors(
            [
                source.error(
                    (),
                    f"the file must be a mapping of keys (kind:, id:, ...), not {describe_value(data)}",
                    f"start the file with the header (see {FORMAT_DOC})",
                )
            ]
        )
    if "kind" not in data:
        raise ProtocolErrors(
            [
                ProtocolError(
                    "missing required key 'kind'",
                    file=source.file,
                    line=1,
                    fix=f"start the file with kind: {expected or kinds}",
                )
            ]
        )
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in MODELS:
        raise ProtocolErrors([source.error(("kind",), f"unknown kind {kind!r}", f"use one of: {kinds}")])
    if expected is not None and kind != expected:
        raise ProtocolErrors(
            [
                source.error(
                    ("kind",),
                    f"this file has kind: {kind}, but it is used where a {expected} file is expected",
                    f"point to a {expected} file, or correct kind:",
                )
            ]
        )
    return MODELS[kind]


# --------------------------------------------------------------------------------------------
# Validation errors -> ProtocolErrors


def translate_validation_error(exc: ValidationError, source: SourceMap, model: type[BaseModel]) -> list[ProtocolError]:
    """Turn pydantic's errors into `ProtocolError`s that name the file, line and fix."""
    out: list[ProtocolError] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, Invalid):
            for problem in cause.problems:
                at = source.locate((*loc, *problem.at))
                message = problem.message
                if problem.first is not None:
                    message += f" (first at line {source.locate((*loc, *problem.first)).line})"
                out.append(
                    ProtocolError(message, file=source.file, line=at.line, key_path=at.key_path, fix=problem.fix)
                )
            continue
        if loc and loc[-1] == "[key]":
            # A mapping key of the wrong type: report it at the mapping, naming the key.
            message, fix = _describe(err, loc[:-1], model)
            at = source.locate(loc[:-2])
            line = source.line_of((*at.key_path, loc[-2])) or at.line
            out.append(
                ProtocolError(f"key {loc[-2]!r}: {message}", file=source.file, line=line, key_path=at.key_path, fix=fix)
            )
            continue
        message, fix = _describe(err, loc, model)
        if err["type"] in ("missing", "extra_forbidden"):
            parent = source.locate(loc[:-1])
            key_line = source.line_of((*parent.key_path, loc[-1])) if err["type"] == "extra_forbidden" else None
            out.append(
                ProtocolError(
                    message, file=source.file, line=key_line or parent.line, key_path=parent.key_path, fix=fix
                )
            )
            continue
        at = source.locate(loc)
        out.append(ProtocolError(message, file=source.file, line=at.line, key_path=at.key_path, fix=fix))
    return out


def _describe(err: Any, loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[str, str]:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    shown = "an empty value" if value is None else _show(value)
    if kind == "missing":
        name = loc[-1]
        return f"missing required key {name!r}", f"add {name}: (see {FORMAT_DOC})"
    if kind == "extra_forbidden":
        name = loc[-1]
        allowed = _allowed_keys(model, loc[:-1])
        if allowed is None:
            return f"unknown key {name!r}", f"remove it, or correct its spelling (see {FORMAT_DOC})"
        if not allowed:
            return f"unknown key {name!r}", "nothing goes here: leave the mapping empty ({}) or remove it"
        close = difflib.get_close_matches(str(name), allowed, n=1)
        if close:
            return f"unknown key {name!r}", f"did you mean {close[0]!r}? Keys allowed here: {', '.join(allowed)}"
        return f"unknown key {name!r}", f"remove it; keys allowed here: {', '.join(allowed)}"
    if kind == "string_type":
        if isinstance(value, bool):
            return (
                f"expected text, got {describe_value(value)} (YAML reads unquoted yes/no/on/off as booleans)",
                'put the word in quotes, e.g. "no"',
            )
        if isinstance(value, int | float):
            return f"expected text, got {describe_value(value)}", f'put it in quotes: "{value}"'
        return f"expected text, got {describe_value(value)}", "write plain text"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, str):
            return f"expected a whole number, got {describe_value(value)}", "write the number without quotes"
        if isinstance(value, float):
            return (
                f"expected a whole number, got {describe_value(value)}",
                "write a whole number, without a decimal point",
            )
        return f"expected a whole number, got {describe_value(value)}", "write a whole number, e.g. 60"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {describe_value(value)}", "write a number without quotes, e.g. 2.5"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {describe_value(value)}", "write true or false, without quotes"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {describe_value(value)}", "write a list: [a, b], or one '- ' line per entry"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return (
            f"expected a mapping of keys to values, got {describe_value(value)}",
            "write key: value pairs, indented under this key",
        )
    if kind == "literal_error":
        return f"{shown} is not allowed here", f"use {ctx.get('expected', 'one of the documented values')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": ("greater than", "gt"),
            "greater_than_equal": ("at least", "ge"),
            "less_than": ("less than", "lt"),
            "less_than_equal": ("at most", "le"),
        }[kind]
        return f"{shown} is out of range: it must be {words[0]} {ctx.get(words[1])}", "correct the value"
    if kind == "too_short":
        need = ctx.get("min_length")
        return (
            f"needs at least {need} {'entry' if need == 1 else 'entries'}, has {ctx.get('actual_length')}",
            "add the missing entries",
        )
    if kind == "too_long":
        most = ctx.get("max_length")
        return f"takes at most {most} {'entry' if most == 1 else 'entries'}", "remove the extra entries"
    if kind in ("response_type", "item_response_type", "decision_type", "payoff_rule"):
        return _describe_tag(kind, value)
    if kind == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"]), f"see {FORMAT_DOC}"
    return f"{err['msg']} (got {describe_value(value)})", f"see {FORMAT_DOC}"


def _describe_tag(kind: str, value: Any) -> tuple[str, str]:
    key, choices = {
        "response_type": ("type", RESPONSE_TYPES),
        "item_response_type": ("type", RESPONSE_TYPES),
        "decision_type": ("type", ("amount", "choice", "amounts_by_case")),
        "payoff_rule": ("payoff_rule", PAYOFF_RULES),
    }[kind]
    options = ", ".join(choices)
    scale_hint = " (or scale: <name> for a scale declared under scales:)" if kind == "item_response_type" else ""
    if not isinstance(value, dict):
        return f"expected a mapping of keys to values, got {describe_value(value)}", "write key: value pairs"
    if key not in value:
        return f"missing required key {key!r}", f"add {key}: one of {options}{scale_hint}"
    if value[key] is None:
        return f"{key}: is empty", f"set {key}: to one of {options}{scale_hint}"
    return f"unknown {key} {_show(value[key])}", f"use one of: {options}{scale_hint}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str] | None:
    """The keys of the model found by following `loc` from `model`; None when it cannot be told."""
    current: Any = model
    parts = list(loc)
    while True:
        current = _strip_annotated(current)
        if not parts:
            break
        part = parts[0]
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return None
            current = info.annotation
            parts.pop(0)
        elif origin is list:
            current = get_args(current)[0]
            parts.pop(0)
        elif origin is dict:
            current = get_args(current)[1]
            parts.pop(0)
        elif origin in (Union, types.UnionType):
            members = get_args(current)
            tagged = [m for m in members if _tag_of(m) == part]
            if tagged:
                current = tagged[0]
                parts.pop(0)
                continue
            rest = [m for m in members if m is not type(None)]
            if len(rest) != 1:
                return None
            current = rest[0]
        else:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _tag_of(annotation: Any) -> str | None:
    if get_origin(annotation) is Annotated:
        for meta in get_args(annotation)[1:]:
            if isinstance(meta, Tag):
                return meta.tag
    return None


# --------------------------------------------------------------------------------------------
# A whole study


@dataclass(frozen=True)
class _Reference:
    """A file named in study.yaml."""

    kind: str
    name: str | None
    relative: str
    key_path: tuple[str | int, ...]


def _references(data: Any) -> list[_Reference]:
    """The files that study.yaml names, read from the raw data (so that it works when invalid)."""
    if not isinstance(data, dict):
        return []
    refs: list[_Reference] = []
    for slot, kind in (("interview_guides", "interview_guide"), ("instruments", "instrument")):
        entries = data.get(slot)
        if isinstance(entries, dict):
            refs += [
                _Reference(kind, str(name), rel, (slot, name)) for name, rel in entries.items() if isinstance(rel, str)
            ]
    for slot in ("games", "experiments"):
        if isinstance(data.get(slot), str):
            refs.append(_Reference(slot, None, data[slot], (slot,)))
    consent = data.get("consent")
    if isinstance(consent, list):
        for i, entry in enumerate(consent):
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                refs.append(_Reference("consent", str(entry.get("version")), entry["file"], ("consent", i, "file")))
    return refs


def load_study(path: str | Path | None = None) -> Study:
    """Load a study: a folder holding study.yaml (or the study.yaml itself) and every file it names.

    Checks that every named file exists and is of the right kind, that its id matches the name
    study.yaml gives it, that the bonus game and the payment currency agree with the games file,
    and that the consent documents can be read as text. Every problem found is collected; raises
    `ProtocolErrors` when there is any. With no path, loads `default_study_dir()`.
    """
    given = Path(path) if path is not None else default_study_dir()
    study_path = given / STUDY_FILE if given.is_dir() else given
    folder = study_path.parent
    file = str(study_path)
    raw = _read_bytes(study_path, file)
    data, source = parse_yaml(decode(raw, file), file)
    errors: list[ProtocolError] = []
    spec: StudySpec | None = None
    _model_for(data, source, "study")
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as exc:
        errors += translate_validation_error(exc, source, StudySpec)

    loaded: dict[tuple[str, str | None], LoadedFile[Any]] = {}
    consent_texts: dict[str, tuple[Path, str, str]] = {}
    for ref in _references(data):
        target = folder / ref.relative
        if not _inside(folder, target):
            errors.append(
                source.error(
                    ref.key_path,
                    f"{ref.relative!r} points outside the study folder",
                    "keep every file of the study inside its folder",
                )
            )
            continue
        if not target.is_file():
            errors.append(
                source.error(
                    ref.key_path,
                    f"file {ref.relative!r} does not exist (looked for {target})",
                    "create it, or correct the path (relative to the study folder)",
                )
            )
            continue
        if ref.kind == "consent":
            consent_text = _read_consent(target, ref, source, errors)
            if consent_text is not None and ref.name is not None:
                consent_texts[ref.name] = consent_text
            continue
        try:
            loaded_file = load_file(target, kind=ref.kind)
        except ProtocolErrors as exc:
            errors += exc.errors
            continue
        if ref.name is not None and loaded_file.id != ref.name:
            errors.append(
                source.error(
                    ref.key_path,
                    f"{ref.relative} has id {loaded_file.id!r}, but study.yaml lists it as {ref.name!r}",
                    f"use the file's id as the key here ({loaded_file.id}: {ref.relative})",
                )
            )
            continue
        loaded[(ref.kind, ref.name)] = loaded_file

    if spec is None:
        raise ProtocolErrors(errors)
    games = loaded.get(("games", None))
    errors += _cross_check(spec, games, source)
    if errors:
        raise ProtocolErrors(errors)

    study_file: LoadedFile[StudySpec] = LoadedFile(
        path=study_path, data=spec, content_hash=hashlib.sha256(raw).hexdigest(), source=source
    )
    return Study(
        path=folder,
        file=study_file,
        interview_guides={name: loaded[("interview_guide", name)] for name in spec.interview_guides},
        instruments={name: loaded[("instrument", name)] for name in spec.instruments},
        games=games,
        experiments=loaded.get(("experiments", None)),
        consent=tuple(
            ConsentDocument(
                version=c.version,
                path=consent_texts[c.version][0],
                text=consent_texts[c.version][1],
                content_hash=consent_texts[c.version][2],
                required_scopes=tuple(c.required_scopes),
                optional_scopes=tuple(c.optional_scopes),
            )
            for c in spec.consent
        ),
    )


def _inside(folder: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _read_consent(
    target: Path, ref: _Reference, source: SourceMap, errors: list[ProtocolError]
) -> tuple[Path, str, str] | None:
    raw = target.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        errors.append(source.error(ref.key_path, f"{ref.relative} is not UTF-8 text", "save it as UTF-8"))
        return None
    if not text.strip():
        errors.append(source.error(ref.key_path, f"{ref.relative} is empty", "write the consent text"))
        return None
    return target, text, hashlib.sha256(raw).hexdigest()


def _cross_check(spec: StudySpec, games: LoadedFile[GameSet] | None, source: SourceMap) -> list[ProtocolError]:
    errors: list[ProtocolError] = []
    if games is None:
        return errors
    game_set = games.data
    bonus = spec.payments.bonus
    ids = [g.id for g in game_set.games]
    if bonus is not None and bonus.game not in ids:
        errors.append(
            source.error(
                ("payments", "bonus", "game"),
                f"bonus game {bonus.game!r} is not a game in {spec.games}",
                f"name one of: {', '.join(ids)}",
            )
        )
    if spec.payments.currency != game_set.currency:
        errors.append(
            source.error(
                ("payments", "currency"),
                f"payments are in {spec.payments.currency} but {spec.games} pays in {game_set.currency}",
                "use one currency throughout",
            )
        )
    return errors
