"""The safety classifier on the held-out utterances, side by side with the keyword detector.

    python -m bench.safety

Reads the two held-out splits of ``tests/interviewer/language/safety_utterances.jsonl`` (training and
calibration never see them) and classifies each utterance with the shipped classifier (ours) and with
the keyword detector the conductor used before, with its phrase lists as they are now (the reference:
`interviewer.conductor.safety.detect`, with `is_severe` for self-harm):

* ``heldout``, the split the issue's targets are set on. It was written with the training rows and
  every head since the first was measured on it, so it flatters the classifier;
* ``fresh``, written after head 13 by a helper that never saw the set (``train_safety.FRESH``), never
  trained or calibrated on: the fairer estimate of how the classifier hears utterances nobody wrote
  training rows for (its misses were read while head 15 was made, so it flatters that head a little).
  Reported the same way, with the same targets, under ``fresh`` in the JSON line.

Printed side by side, per split:

* per class: precision and recall;
* the false-signal rate on neutral answers (a ``none`` utterance that gets any signal);
* latency per utterance on one thread, p50 and p95 (the encoder is warmed up first): wall-clock
  (``p50_ms``, ``p95_ms``, the target), and the CPU time the classifying thread used
  (``cpu_p50_ms``, ``cpu_p95_ms``): what one core of its own would take, which the wall clock shows
  only on an idle machine. Run it pinned to one core (``taskset -c 0``) and read the load average
  printed beside it;
* ``<what>_ratio``: ours over the reference (null where the reference is 0).

Targets (issue 19): recall severe 1.0, distress >= 0.95, stop >= 0.9, refusal >= 0.85, injection
>= 0.9; neutral false-signal rate <= 0.05; p95 <= 30 ms. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from interviewer.conductor import safety
from interviewer.language.safety_classifier import SIGNALS, SafetyClassifier
from interviewer.language.train_safety import FRESH, HELDOUT, LABELLED_SET, Example, read_labelled_set

TARGETS = {"recall_severe": 1.0, "recall_distress": 0.95, "recall_stop": 0.9, "recall_refusal": 0.85,
           "recall_injection": 0.9}
MAX_NEUTRAL_FALSE_SIGNAL_RATE = 0.05
MAX_P95_MS = 30.0


def keyword_detector(text: str) -> str:
    """The reference: the keyword detector, with its self-harm patterns as the severe class."""
    signal = safety.detect(text)
    if signal is safety.Signal.DISTRESS and safety.is_severe(text):
        return "severe"
    return signal.value


def measure(examples: Sequence[Example], classify: Callable[[str], str]) -> dict[str, float | None]:
    """Per-class precision and recall, the neutral false-signal rate, and latency percentiles."""
    predicted: list[str] = []
    latencies: list[float] = []
    cpu: list[float] = []
    for example in examples:
        started, started_cpu = time.perf_counter(), time.thread_time()
        predicted.append(classify(example.text))
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    result: dict[str, float | None] = {}
    for signal in SIGNALS:
        truly = [p for e, p in zip(examples, predicted, strict=True) if e.label == signal]
        said = [e.label for e, p in zip(examples, predicted, strict=True) if p == signal]
        result[f"recall_{signal}"] = round(sum(p == signal for p in truly) / len(truly), 3) if truly else None
        result[f"precision_{signal}"] = round(sum(t == signal for t in said) / len(said), 3) if said else None
    neutral = [p for e, p in zip(examples, predicted, strict=True) if e.label == "none"]
    result["neutral_false_signal_rate"] = round(sum(p != "none" for p in neutral) / len(neutral), 3)
    result["p50_ms"] = round(float(np.percentile(latencies, 50)), 2)
    result["p95_ms"] = round(float(np.percentile(latencies, 95)), 2)
    result["cpu_p50_ms"] = round(float(np.percentile(cpu, 50)), 2)
    result["cpu_p95_ms"] = round(float(np.percentile(cpu, 95)), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=LABELLED_SET, help="the labelled set (JSONL)")
    args = parser.parse_args()

    examples = read_labelled_set(args.data)
    classifier = SafetyClassifier.shipped()
    classifier.classify("Warming up the encoder.")  # the model loads once per process, before timing
    print(f"classifier {classifier.version}; {platform.processor() or platform.machine()}, one thread")
    heldout = _report(HELDOUT, [e for e in examples if e.split == HELDOUT], classifier)
    fresh = _report(FRESH, [e for e in examples if e.split == FRESH], classifier)
    print(json.dumps({"bench": "safety", "classifier_version": classifier.version,
                      "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": sorted(os.sched_getaffinity(0)),
                      **heldout, FRESH: fresh}))


def _report(split: str, examples: Sequence[Example], classifier: SafetyClassifier) -> dict[str, object]:
    """One split measured, printed as a table, and returned for the JSON line."""
    ours = measure(examples, lambda text: classifier.classify(text).signal)
    reference = measure(examples, keyword_detector)
    counts = {label: sum(e.label == label for e in examples) for label in ("none", *SIGNALS)}
    print(f"\n{split}: {len(examples)} utterances {counts}")
    print(f"{'':28}{'ours':>10}{'keywords':>10}{'target':>10}")
    for key in ours:
        target = TARGETS.get(key, MAX_NEUTRAL_FALSE_SIGNAL_RATE if key == "neutral_false_signal_rate" else
                             MAX_P95_MS if key == "p95_ms" else None)
        print(f"{key:28}{_show(ours[key]):>10}{_show(reference[key]):>10}{_show(target):>10}")
    ratios: dict[str, float | None] = {}
    for key, value in ours.items():
        base = reference[key]
        ratios[f"{key}_ratio"] = round(value / base, 3) if value is not None and base else None
    met = (all((ours[key] or 0.0) >= target for key, target in TARGETS.items())
           and (ours["neutral_false_signal_rate"] or 0.0) <= MAX_NEUTRAL_FALSE_SIGNAL_RATE
           and (ours["p95_ms"] or 0.0) <= MAX_P95_MS)
    return {split: len(examples), "ours": ours, "reference": reference, **ratios, "targets_met": met}


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


if __name__ == "__main__":
    main()
