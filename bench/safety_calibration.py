"""How far the safety classifier's thresholds move when the training rows change by one, calibrated
on one partition into folds (before head 8) and on the pooled partitions `train_safety` uses now.

    taskset -c 0 python -m bench.safety_calibration [--drops 6]

For each of ``--drops`` training rows (drawn with a fixed seed), that row is left out and the
thresholds are calibrated again from out-of-fold scores, once with a single partition and once with
``RECIPE["repeats"]`` partitions pooled. Printed per threshold: the spread (highest minus lowest over
the drops) for each, and ``<what>_ratio``, pooled over single. A threshold that moves a lot with one
row of 1,200 is decided by the folds rather than the data. No held-out row is read. The last line is
JSON. Takes about (1 + repeats) x drops x 12 s on one core.
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np
from tqdm import tqdm

from interviewer.language import train_safety
from interviewer.language.safety_classifier import SIGNALS
from interviewer.language.sentences import shared_encoder


def spreads(rows: list[train_safety.Example], vectors: train_safety._Vectors, drops: list[int],
            repeats: int, bar: tqdm) -> dict[str, float]:
    """Per threshold, highest minus lowest over the calibrations with one row left out."""
    found: list[dict[str, float]] = []
    for dropped in drops:
        kept = [row for index, row in enumerate(rows) if index != dropped]
        scores = train_safety.out_of_fold_scores(kept, vectors, repeats)
        found.append(train_safety.calibrate(kept * repeats, scores))
        bar.update(repeats)
    return {name: round(max(t[name] for t in found) - min(t[name] for t in found), 4) for name in found[0]}


def main() -> None:
    """Calibrate with one partition and with the pooled ones, each row left out in turn; print the spreads."""
    parser = argparse.ArgumentParser(prog="python -m bench.safety_calibration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drops", type=int, default=6, help="how many single rows to leave out, one at a time")
    args = parser.parse_args()
    rows = train_safety._training_split(train_safety.read_labelled_set())
    vectors = train_safety._Vectors(shared_encoder(), [row.text for row in rows])
    drops = random.Random(7).sample(range(len(rows)), args.drops)
    pooled_repeats = train_safety.RECIPE["repeats"]
    with tqdm(total=args.drops * (1 + pooled_repeats), desc="calibrations", unit="partition") as bar:
        single = spreads(rows, vectors, drops, 1, bar)
        pooled = spreads(rows, vectors, drops, pooled_repeats, bar)
    print(f"{len(rows)} training rows, {args.drops} left out one at a time; spread of each threshold")
    print(f"{'':>20} {'one partition':>14} {f'{pooled_repeats} pooled':>10}")
    for name in single:
        print(f"{name:>20} {single[name]:>14} {pooled[name]:>10}")
    mean_single = float(np.mean([single[s] for s in SIGNALS]))
    mean_pooled = float(np.mean([pooled[s] for s in SIGNALS]))
    ratio = round(mean_pooled / mean_single, 3) if mean_single else None
    result: dict[str, object] = {"bench": "safety_calibration", "training_rows": len(rows), "drops": args.drops,
                                 "repeats": pooled_repeats, "single": single, "pooled": pooled,
                                 "mean_signal_spread_single": round(mean_single, 4),
                                 "mean_signal_spread_pooled": round(mean_pooled, 4),
                                 "mean_signal_spread_ratio": ratio}
    for name in SIGNALS:
        result[f"{name}_spread_ratio"] = round(pooled[name] / single[name], 3) if single[name] else None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
