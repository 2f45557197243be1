"""Wording overlays: replace the text of items, questions and option labels without touching ids.

A study ships its own wording; a team that holds a licence for the original wording (say, NORC's
GSS items) keeps it in an overlay file and applies it at load time. Ids, codes, order and timing
stay those of the shipped file, so data collected under either wording lines up.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from protocols.errors import ProtocolError, ProtocolErrors
from protocols.loader import LoadedFile, Study, load_file
from protocols.schema import (
    Instrument,
    InterviewGuide,
    Item,
    LikertResponse,
    Option,
    Overlay,
    OverlayEntry,
    SingleChoiceResponse,
)


def apply_overlay(study: Study, overlay_file: str | Path) -> Study:
    """Return a copy of `study` with the wording from `overlay_file` applied to its target.

    The target is an instrument or interview guide of the study, named by the overlay's
    `target:`. Every id under `replace:` must be an item (or question) of the target, and every
    option code must exist on that item; otherwise `ProtocolErrors` is raised, each problem naming
    the overlay file and line. The study passed in is not changed.
    """
    overlay_loaded: LoadedFile[Overlay] = load_file(overlay_file, kind="overlay")
    overlay = overlay_loaded.data
    source = overlay_loaded.source
    if overlay.target in study.instruments:
        target = study.instruments[overlay.target]
        data, errors = _overlay_instrument(target.data, overlay, overlay_loaded)
        if errors:
            raise ProtocolErrors(errors)
        updated = dataclasses.replace(target, data=data, overlays=(*target.overlays, overlay_loaded))
        return dataclasses.replace(study, instruments={**study.instruments, overlay.target: updated})
    if overlay.target in study.interview_guides:
        guide = study.interview_guides[overlay.target]
        guide_data, errors = _overlay_guide(guide.data, overlay, overlay_loaded)
        if errors:
            raise ProtocolErrors(errors)
        updated_guide = dataclasses.replace(guide, data=guide_data, overlays=(*guide.overlays, overlay_loaded))
        return dataclasses.replace(study, interview_guides={**study.interview_guides, overlay.target: updated_guide})
    known = [*study.instruments, *study.interview_guides]
    raise ProtocolErrors(
        [
            source.error(
                ("target",),
                f"study {study.id!r} has no instrument or interview guide called {overlay.target!r}",
                f"target one of: {', '.join(known)}",
            )
        ]
    )


def _unknown_id(overlay_loaded: LoadedFile[Overlay], key: str, what: str, ids: list[str]) -> ProtocolError:
    close = difflib.get_close_matches(key, ids, n=1)
    fix = f"did you mean {close[0]!r}?" if close else "name items by their id:, not their source_id or text"
    return overlay_loaded.source.error(("replace", key), f"{what} has no item {key!r}", fix)


def _overlay_instrument(
    instrument: Instrument, overlay: Overlay, overlay_loaded: LoadedFile[Overlay]
) -> tuple[Instrument, list[ProtocolError]]:
    source = overlay_loaded.source
    errors: list[ProtocolError] = []
    ids = [item.id for item in instrument.items]
    replaced: dict[str, Item] = {}
    for key, entry in overlay.replace.items():
        if key not in ids:
            errors.append(_unknown_id(overlay_loaded, key, f"instrument {instrument.id!r}", ids))
            continue
        item = instrument.item(key)
        update: dict[str, Any] = {}
        if entry.text is not None:
            update["text"] = entry.text
        if entry.options is not None:
            response, problems = _relabel(instrument, item, entry)
            for at, message, fix in problems:
                errors.append(source.error(("replace", key, "options", *at), message, fix))
            update["response"] = response
        replaced[key] = item.model_copy(update=update)
    items = [replaced.get(item.id, item) for item in instrument.items]
    return instrument.model_copy(update={"items": items}), errors


def _relabel(
    instrument: Instrument, item: Item, entry: OverlayEntry
) -> tuple[Any, list[tuple[tuple[Any, ...], str, str]]]:
    """The item's response with option labels replaced, and the problems found."""
    response = instrument.response_for(item)
    new_labels = entry.options or {}
    problems: list[tuple[tuple[Any, ...], str, str]] = []
    if isinstance(response, SingleChoiceResponse):
        codes = response.codes()
        for code in new_labels:
            if code not in codes:
                problems.append(
                    ((code,), f"item {item.id!r} has no option code {code}", f"use its codes: {_join(codes)}")
                )
        options = [Option(code=o.code, label=new_labels.get(o.code, o.label)) for o in response.options]
        labels = [o.label for o in options]
        if len(set(labels)) != len(labels):
            problems.append(
                ((), f"two options of item {item.id!r} would have the same label", "give each its own label")
            )
        return response.model_copy(update={"options": options}), problems
    if isinstance(response, LikertResponse):
        codes = response.codes()
        for code in new_labels:
            if code not in codes:
                problems.append(
                    (
                        (code,),
                        f"item {item.id!r} has no point {code} (its scale is 1..{response.points})",
                        f"use points 1 to {response.points}",
                    )
                )
        anchors = {**response.anchors, **{c: label for c, label in new_labels.items() if c in codes}}
        return response.model_copy(update={"anchors": dict(sorted(anchors.items()))}), problems
    problems.append(
        ((), f"item {item.id!r} is a {response.type} item and has no options", "remove options: for this item")
    )
    return item.response, problems


def _overlay_guide(
    guide: InterviewGuide, overlay: Overlay, overlay_loaded: LoadedFile[Overlay]
) -> tuple[InterviewGuide, list[ProtocolError]]:
    source = overlay_loaded.source
    errors: list[ProtocolError] = []
    ids = [q.id for q in guide.questions()]
    for key, entry in overlay.replace.items():
        if key not in ids:
            errors.append(_unknown_id(overlay_loaded, key, f"interview guide {guide.id!r}", ids))
        elif entry.options is not None:
            errors.append(
                source.error(
                    ("replace", key, "options"),
                    "interview questions have no options",
                    "remove options: and replace only text:",
                )
            )
    modules = [
        module.model_copy(
            update={
                "questions": [
                    q.model_copy(update={"text": overlay.replace[q.id].text})
                    if q.id in overlay.replace and overlay.replace[q.id].text is not None
                    else q
                    for q in module.questions
                ]
            }
        )
        for module in guide.modules
    ]
    return guide.model_copy(update={"modules": modules}), errors


def _join(codes: list[int]) -> str:
    return ", ".join(str(c) for c in codes)
