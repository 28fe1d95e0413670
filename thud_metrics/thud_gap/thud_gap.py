# Copyright 2026 The Thud authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""thud_gap: does a video model listen to the sound, or guess it from the picture?"""

import datasets
import evaluate
import pyarrow as pa

from thud_dataset.citation import CITATION
from thud_metrics.probes import check_labels
from thud_metrics.scores import DEFAULT_BANDS, score_probes

_DESCRIPTION = """
thud_gap scores a video-capable multimodal model on Thud probes: natural videos whose
picture implies a sound, with the audio shifted in time (shift), removed (mute) or replaced
by another clip's (swap). A model that answers from the picture keeps saying "synchronized",
"I hear the crash" and "the sound matches" after the audio was changed.

Per probe it reads the model's answer (free text, a label, or a multiple-choice letter) as
one of synced / early / delayed / silent / mismatched (or unknown), and returns:
accuracy per (dimension, condition); the gap per dimension (original accuracy - intervened
accuracy) and avg_gap, their mean; pair accuracy (both probes of a clip's original /
intervened pair right: a constant answer scores 0); the error rates of "When Vision Speaks
for Sound" (mute hallucination, false silence, swap false-match and false-mismatch, shift
miss, wrong direction, hallucinated shift); the confusion of predicted vs gold labels per
condition; accuracy by |offset| band; the error of offsets stated in seconds; the
unparseable rate; and bootstrap confidence intervals resampled by clip.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str` or `None`): the model's answers, free text or labels; a
        letter is read through the probe's dimension ("B" is "early" for a sync probe,
        "silent" for an existence probe). `None` (a failed call) counts as unknown.
    references (`list` of `str`): gold labels: synced / early / delayed / silent / mismatched.
    conditions (`list` of `str`): original / shift / mute / swap.
    dimensions (`list` of `str`): sync / existence / consistency.
    pair_ids (`list` of `str`): the pair of each probe: a clip's original probe of a
        dimension and its intervened probe share it. Every intervened probe needs its original.
    offsets (`list` of `float`, *optional*): the shift tau in seconds (0 for other
        probes). Needed for accuracy by offset band and for the offset error.
    clip_ids (`list` of `str`, *optional*): the clip of each probe; the bootstrap
        resamples clips (pairs when absent).
    bands (`list` of `float`, *optional*): |tau| band edges in seconds. Defaults to
        (0, 0.4, 0.65, 1, inf): one band per default offset.
    n_resamples (`int`, *optional*): bootstrap resamples, 0 for no intervals. Defaults to 1000.
    confidence (`float`, *optional*): interval level. Defaults to 0.95.
    seed (`int`, *optional*): bootstrap seed. Defaults to 0.
    judge (`callable`, *optional*): `judge(answer, dimension) -> str`, asked about answers
        the rules cannot read (see `thud_metrics.JUDGE_PROMPT`); an LLM judge comes from
        `thud_metrics.judge.make_judge("openai:MODEL", base_url=..., cache=...)`.
    judge_all (`bool`, *optional*): ask the judge about every answer and score its
        verdicts; the results then hold the rules-judge agreement. Defaults to False.

    `add` also takes the singular names: `prediction`, `reference`, `condition`,
    `dimension`, `pair_id`, `offset`, `clip_id`.

Returns:
    avg_gap (`float`): mean gap over the dimensions, in [-1, 1]; higher means the model
        relies on the picture more. The headline number.
    gap (`dict`): per dimension, original accuracy - intervened accuracy.
    accuracy (`dict`): `{dimension: {"original": float, <intervention>: float}}`, in [0, 1].
    pair_accuracy (`dict`): per dimension, share of pairs with both probes right, in [0, 1].
    avg_pair_accuracy (`float`): its mean.
    rates (`dict`): mute_hallucination, false_silence, swap_false_match,
        swap_false_mismatch, shift_miss, wrong_direction, hallucinated_shift, in [0, 1].
    unparseable_rate (`float`): share of answers read as unknown.
    refusal_rate (`float`): share of answers that refuse ("I cannot hear audio"): counted
        wrong, never as silence; a high rate says the audio does not reach the model.
    confusion (`dict`): `{condition: {gold: {predicted: count}}}`.
    accuracy_by_offset (`dict`): `{band: {"accuracy": float, "n": int}}`.
    offset_error (`dict`): mean / median |stated offset - tau| in seconds, and n.
    counts (`dict`): probes, pairs, clips, unknown and refused answers.
    judge (`dict`): with a judge: what it was asked, unreadable replies, disagreements.
    ci (`dict`): `[low, high]` for each headline number (when n_resamples > 0).
    Numbers with nothing to count are NaN.

Examples:

    A model that always answers "synced" is right on every natural video and wrong on
    every intervened one: avg_gap 1, pair accuracy 0.

        >>> import evaluate
        >>> import thud_metrics
        >>> thud_gap = evaluate.load(thud_metrics.THUD_GAP)
        >>> results = thud_gap.compute(
        ...     predictions=["synced"] * 6,
        ...     references=["synced", "delayed", "synced", "silent", "synced", "mismatched"],
        ...     conditions=["original", "shift", "original", "mute", "original", "swap"],
        ...     dimensions=["sync", "sync", "existence", "existence", "consistency", "consistency"],
        ...     pair_ids=["a", "a", "b", "b", "c", "c"],
        ...     n_resamples=0,
        ... )
        >>> results["avg_gap"], results["accuracy"]["sync"]
        (1.0, {'original': 1.0, 'shift': 0.0})
        >>> results["pair_accuracy"]
        {'sync': 0.0, 'existence': 0.0, 'consistency': 0.0}

    Free-form answers, one probe at a time, in an eval loop:

        >>> probes = [
        ...     ("Yes, the thud is in sync.", "synced", "original", "sync", "c1/sync", 0.0, "c1"),
        ...     ("The sound comes about 0.5 s after the impact.", "delayed", "shift", "sync", "c1/sync", 0.5, "c1"),
        ...     ("(A)", "synced", "original", "existence", "c1/existence", 0.0, "c1"),
        ...     ("I can still hear the crash.", "silent", "mute", "existence", "c1/existence", 0.0, "c1"),
        ...     (None, "synced", "original", "consistency", "c1/consistency", 0.0, "c1"),  # a failed call
        ... ]
        >>> for answer, label, condition, dimension, pair_id, offset, clip_id in probes:
        ...     thud_gap.add(prediction=answer, reference=label, condition=condition,
        ...                  dimension=dimension, pair_id=pair_id, offset=offset, clip_id=clip_id)
        >>> results = thud_gap.compute(n_resamples=0)
        >>> results["pair_accuracy"]["sync"], results["rates"]["mute_hallucination"]
        (1.0, 1.0)
        >>> results["offset_error"]
        {'mean_abs_error': 0.0, 'median_abs_error': 0.0, 'n': 1}
        >>> results["unparseable_rate"], results["refusal_rate"]
        (0.2, 0.0)
"""

_CITATION = CITATION

_FEATURES = datasets.Features(
    {
        "predictions": datasets.Value("string"),
        "references": datasets.Value("string"),
        "conditions": datasets.Value("string"),
        "dimensions": datasets.Value("string"),
        "pair_ids": datasets.Value("string"),
        "offsets": datasets.Value("float64"),
        "clip_ids": datasets.Value("string"),
    }
)
_REQUIRED = ("predictions", "references", "conditions", "dimensions", "pair_ids")
_OPTIONAL = ("offsets", "clip_ids")
_OPTIONS = ("bands", "n_resamples", "confidence", "seed", "judge", "judge_all")
_SINGULAR = {
    "prediction": "predictions",
    "reference": "references",
    "condition": "conditions",
    "dimension": "dimensions",
    "pair_id": "pair_ids",
    "offset": "offsets",
    "clip_id": "clip_ids",
}


def _inputs(given: dict, *, batch: bool, none_ok: tuple[str, ...] = ()) -> dict:
    """Check input names (and, for a batch, lengths and names of labels) before evaluate
    stores anything, and fill the optional inputs with None. ``none_ok`` names required
    inputs that may be None (one failed call's prediction in ``add``)."""
    unknown = sorted(set(given) - set(_FEATURES))
    if unknown:
        raise ValueError(
            f"thud_gap got unknown inputs {unknown}; its inputs are {list(_FEATURES)} "
            f"(add() also takes {list(_SINGULAR)})"
        )
    missing = [name for name in _REQUIRED if given.get(name) is None and name not in none_ok]
    if missing:
        raise ValueError(f"thud_gap needs {missing} as well; its required inputs are {list(_REQUIRED)}")
    if not batch:
        return {name: given.get(name) for name in _FEATURES}
    n = len(given["predictions"])
    for name, column in given.items():
        if column is not None and len(column) != n:
            raise ValueError(f"{name} has {len(column)} entries but predictions has {n}: give one per probe")
    check_labels(given["references"], given["conditions"], given["dimensions"])
    return {name: given[name] if given.get(name) is not None else [None] * n for name in _FEATURES}


def _arrow_table(batch: dict) -> pa.Table:
    arrays = []
    for name, feature in _FEATURES.items():
        try:
            arrays.append(pa.array(batch[name], type=feature.pa_type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            kind = "strings" if feature.dtype == "string" else "numbers"
            raise ValueError(f"thud_gap: {name} must be {kind} (or None): {exc}") from None
    return pa.Table.from_arrays(arrays, schema=_FEATURES.arrow_schema)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ThudGap(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=_FEATURES,
            reference_urls=["https://huggingface.co/docs/evaluate"],
        )

    def _enforce_nested_string_type(self, schema, obj):
        # evaluate refuses None where a string is expected; here None is a real value: a
        # failed model call (prediction) or an optional input that was not given
        if obj is None:
            return None
        return super()._enforce_nested_string_type(schema, obj)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one probe: `prediction`, `reference`, `condition`, `dimension`, `pair_id`,
        and optionally `offset` and `clip_id` (plural names work too)."""
        given = {"predictions": prediction, "references": reference}
        given.update({_SINGULAR.get(k, k): v for k, v in kwargs.items()})
        example = _inputs(given, batch=False, none_ok=("predictions",))  # None: a failed call, scored unknown
        check_labels([example["references"]], [example["conditions"]], [example["dimensions"]])
        super().add(prediction=example.pop("predictions"), reference=example.pop("references"), **example)

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of probes: lists of one entry per probe (see the inputs below)."""
        batch = _inputs({"predictions": predictions, "references": references, **kwargs}, batch=True)
        # Every column is a plain Value, which needs no per-element encoding: the batch goes
        # to evaluate's Arrow writer as one table. (evaluate's own add_batch runs datasets'
        # encode_batch, a Python loop over every element: ~20 s for 1M probes x 7 columns.)
        table = _arrow_table(batch)
        if self.writer is None:
            self.selected_feature_format = self.features
            self._init_writer()
        self.writer.write_table(table)

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Score the probes given here and those added before; returns the results dict.
        """
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in _FEATURES}
        unknown = sorted(set(kwargs) - set(_OPTIONS))
        if unknown:
            raise ValueError(
                f"thud_gap got unknown arguments {unknown}; its inputs are {list(_FEATURES)} "
                f"and its options {list(_OPTIONS)}"
            )
        if predictions is None and references is None and not given:
            if self.writer is None:  # evaluate's own message depends on keep_in_memory
                raise ValueError("thud_gap has no probes: call add / add_batch, or pass the inputs to compute")
            return super().compute(**kwargs)  # everything was added with add / add_batch
        # names checked and optional inputs filled here; evaluate then calls add_batch
        inputs = _inputs({"predictions": predictions, "references": references, **given}, batch=False)
        return super().compute(**inputs, **kwargs)

    def _compute(
        self,
        predictions,
        references,
        conditions,
        dimensions,
        pair_ids,
        offsets=None,
        clip_ids=None,
        bands=DEFAULT_BANDS,
        n_resamples=1000,
        confidence=0.95,
        seed=0,
        judge=None,
        judge_all=False,
    ):
        return score_probes(
            predictions,
            references,
            conditions,
            dimensions,
            pair_ids,
            offsets,
            clip_ids,
            bands=bands,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
            judge=judge,
            judge_all=judge_all,
        )
