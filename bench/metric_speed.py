"""How fast is thud_gap, compared with the floor that ``evaluate`` itself sets?

The floor is a minimal local ``evaluate.Metric`` computing plain accuracy on the same rows
(the Hub's ``accuracy`` cannot be fetched offline): whatever any evaluate metric pays to
store and read back its inputs. thud_gap stores seven columns instead of two, parses free
text and bootstraps, so the ratio says what all that costs on top of evaluate's own path.

    python bench/metric_speed.py                 # 1M probes
    python bench/metric_speed.py --n 200000 --repeat 1

Prints the timings and the ratio thud_gap / floor (the number to watch; absolute times
depend on the machine). Not part of the test run.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path

import datasets
import evaluate
import numpy as np

from thud_dataset.vocab import CHOICES, INTERVENTION_OF, gold_label
from thud_metrics import score_probes
from thud_metrics.thud_gap.thud_gap import ThudGap


class LocalAccuracy(evaluate.Metric):
    """The floor: plain accuracy of string labels, nothing else."""

    def _info(self):
        return evaluate.MetricInfo(
            description="accuracy (bench floor)",
            citation="",
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        return {"accuracy": float(np.mean(np.asarray(predictions) == np.asarray(references)))}


# what models answer: mostly letters, some label words and free text, a few failures
_FREE_TEXT = {
    "sync": ["The audio is synchronized.", "The sound comes before the impact.", "The audio lags by 0.5 s."],
    "existence": ["Yes, I can hear the thud.", "No, the video is silent."],
    "consistency": ["Yes, the sound matches.", "No, it sounds like a different source."],
}


def make_rows(n: int, seed: int = 0) -> dict[str, list]:
    """About ``n`` probes shaped like a built dataset's (6 per clip) with model-like answers."""
    rng = np.random.default_rng(seed)
    n_clips = max(1, n // 6)
    taus = rng.choice([-1.0, -0.5, 0.5, 1.0], n_clips)
    rows: dict[str, list] = {k: [] for k in ("predictions", "references", "conditions", "dimensions", "pair_ids", "offsets", "clip_ids")}
    for i in range(n_clips):
        clip = f"{i:012x}"
        for dim, intervention in INTERVENTION_OF.items():
            for cond in ("original", intervention):
                offset = float(taus[i]) if cond == "shift" else 0.0
                rows["references"].append(gold_label(cond, offset))
                rows["conditions"].append(cond)
                rows["dimensions"].append(dim)
                rows["pair_ids"].append(f"{clip}/{dim}")
                rows["offsets"].append(offset)
                rows["clip_ids"].append(clip)
    letters = {d: ["ABC"[j] for j in range(len(c))] for d, c in CHOICES.items()}
    for dim, u in zip(rows["dimensions"], rng.random(len(rows["dimensions"])), strict=True):
        if u < 0.8:
            rows["predictions"].append(letters[dim][int(u * 100) % len(letters[dim])])
        elif u < 0.98:
            options = _FREE_TEXT[dim]
            rows["predictions"].append(options[int(u * 1000) % len(options)])
        else:
            rows["predictions"].append(None)
    return rows


def _time(fn, repeat: int) -> float:
    fn()  # warm-up: first-call imports and caches are not what is measured
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="probes (default 1M)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing (the median is reported)")
    ap.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples of the full metric")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()

    rows = make_rows(args.n)
    n = len(rows["predictions"])
    labels = [p if p in ("synced", "early", "delayed", "silent", "mismatched") else "synced" for p in rows["predictions"]]
    # the ~7M input objects live for the whole run: keep the cyclic GC from re-scanning them
    # during every timed call (it would penalise whichever variant runs first)
    gc.collect()
    gc.freeze()
    print(f"{n} probes, {len(set(rows['clip_ids']))} clips; evaluate {evaluate.__version__}, datasets {datasets.__version__}")

    def floor():
        LocalAccuracy(keep_in_memory=True).compute(predictions=labels, references=rows["references"])

    def thud_gap_evaluate(n_resamples: int):
        return lambda: ThudGap(keep_in_memory=True).compute(**rows, n_resamples=n_resamples)

    def thud_gap_plain():
        score_probes(**rows, n_resamples=args.n_resamples)

    t_floor = _time(floor, args.repeat)
    t_no_ci = _time(thud_gap_evaluate(0), args.repeat)
    t_full = _time(thud_gap_evaluate(args.n_resamples), args.repeat)
    t_plain = _time(thud_gap_plain, args.repeat)
    report = {
        "probes": n,
        "floor_evaluate_accuracy_s": t_floor,
        "thud_gap_evaluate_no_ci_s": t_no_ci,
        "thud_gap_evaluate_s": t_full,
        "thud_gap_plain_functions_s": t_plain,
        "n_resamples": args.n_resamples,
        "ratio_thud_gap_to_floor": t_full / t_floor,
        "ratio_no_ci_to_floor": t_no_ci / t_floor,
    }
    print(f"floor: evaluate.Metric accuracy (2 string columns)   {t_floor:7.2f} s")
    print(f"thud_gap via evaluate, no CIs (7 columns, parsing)  {t_no_ci:7.2f} s")
    print(f"thud_gap via evaluate, {args.n_resamples} bootstrap resamples   {t_full:7.2f} s")
    print(f"thud_gap plain functions (score_probes), same CIs    {t_plain:7.2f} s")
    print(f"ratio thud_gap / floor: {report['ratio_thud_gap_to_floor']:.2f}x "
          f"(without CIs {report['ratio_no_ci_to_floor']:.2f}x)")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
