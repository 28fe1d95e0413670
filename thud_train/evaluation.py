"""Does the policy listen yet? Held-out Thud probes answered during training.

The DPO reward margin says the policy prefers the chosen texts; it does not say the policy
now *hears* a shifted, muted or swapped sound. :class:`ProbeEvalCallback` answers a fixed
set of **test-partition** probes (every probe of ``eval.num_clips`` clips, drawn once with
the config's seed) with the current policy every ``eval.every_steps`` optimizer steps, reads
the answers with :mod:`thud_metrics.parsing` and scores them with
:func:`thud_metrics.score_probes`, and logs beside the loss (trainer log history, so
``thud_train.json``, and TensorBoard when installed)::

    thud/avg_gap                     the paper's headline number (lower: listens more)
    thud/pair_accuracy               mean over dimensions of "both probes of a pair right"
    thud/pair_accuracy/<dimension>   sync, existence, consistency
    thud/gap/<dimension>
    thud/unparseable_rate            answers no rule could read
    thud/probes                      how many probes were answered

Probes are decoded with the training collator's media settings, so the policy is asked
about exactly the inputs it trains on. Under several processes each answers its share and
the answers are gathered, so every process logs the same numbers.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from typing import Any

from datasets import Dataset, Video, concatenate_datasets
from transformers import TrainerCallback

from thud_dataset.hub.load import load_config
from thud_dataset.vocab import CONDITIONS
from thud_metrics.report import score_answers
from thud_train.config import EvalSettings

logger = logging.getLogger(__name__)

#: the probe columns the check needs
EVAL_COLUMNS = (
    "probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label",
    "prompt", "video", "partition",
)


def select_eval_probes(probes: Dataset, num_clips: int, seed: int = 0) -> Dataset:
    """Every probe of ``num_clips`` test-partition clips, drawn with ``seed``.

    Whole clips are taken, so every pair is complete (an original with all its intervened
    probes). Rows come out sorted by clip, dimension, condition and probe id: the same
    dataset, count and seed give the same probes in the same order.

    Raises ``ValueError`` when the probes hold no test-partition clip.
    """
    if "partition" in probes.column_names:
        probes = probes.filter(lambda part: part == "test", input_columns="partition")
    clips = sorted(set(probes["clip_id"]))
    if not clips:
        raise ValueError("the probes hold no test-partition clip to evaluate on")
    chosen = set(random.Random(seed).sample(clips, min(num_clips, len(clips))))
    keep = [i for i, clip in enumerate(probes["clip_id"]) if clip in chosen]
    subset = probes.select(keep)
    keys = list(zip(subset["clip_id"], subset["dimension"], subset["condition"], subset["probe_id"], strict=True))
    return subset.select(sorted(range(len(subset)), key=keys.__getitem__))


def load_eval_probes(dataset: str | os.PathLike, num_clips: int, seed: int = 0) -> Dataset:
    """:func:`select_eval_probes` on the ``probes`` config (all condition splits) of a built
    Thud dataset (folder or Hub id)."""
    try:
        splits = load_config(dataset, "probes")
    except (FileNotFoundError, ValueError) as e:
        raise ValueError(f"eval: cannot load the probes config of {os.fspath(dataset)!r}: {e}") from e
    parts = [splits[s] for s in CONDITIONS if s in splits]
    if not parts:
        raise ValueError(f"eval: {os.fspath(dataset)!r} has none of the probe splits {CONDITIONS}")
    columns = [c for c in EVAL_COLUMNS if c in parts[0].column_names]
    parts = [
        p.cast_column("video", Video(decode=False)) if isinstance(p.features.get("video"), Video) else p
        for p in parts
    ]
    return select_eval_probes(
        concatenate_datasets([p.select_columns(columns) for p in parts]), num_clips, seed
    )


def probe_metrics(answers: list[str | None], probes: Dataset) -> dict[str, float]:
    """The logged numbers (``thud/...``) for ``answers`` aligned with ``probes``' rows."""
    columns = {c: probes[c] for c in ("label", "condition", "dimension", "pair_id", "offset_s", "clip_id")}
    scores = score_answers(answers, columns, n_resamples=0)
    out = {
        "thud/avg_gap": scores["avg_gap"],
        "thud/pair_accuracy": scores["avg_pair_accuracy"],
    }
    for dim, value in scores["pair_accuracy"].items():
        out[f"thud/pair_accuracy/{dim}"] = value
    for dim, value in scores["gap"].items():
        out[f"thud/gap/{dim}"] = value
    out["thud/unparseable_rate"] = scores["unparseable_rate"]
    out["thud/probes"] = float(len(answers))
    return {k: float(v) for k, v in out.items()}


class ProbeEvalCallback(TrainerCallback):
    """Answer ``probes`` with the trainer's current policy and log thud_gap's numbers.

    Parameters
    ----------
    trainer
        The ``SFTTrainer`` / ``DPOTrainer`` being trained (its model, accelerator, callbacks).
    probes
        Rows of :func:`select_eval_probes` (``video``, ``prompt`` and the scoring columns).
    settings
        ``every_steps`` (0: off), ``max_new_tokens``, ``batch_size``, ``on_start``.
    collator
        A media collator (:mod:`thud_train.collators`) whose ``generation_inputs`` decode the
        probes as training does; ``None`` for a text-only model (asked the prompt alone).
    processing
        The model's processor or tokenizer (decodes the answers).
    system_prompt
        The system message training uses (text-only models; the collator has its own).
    """

    def __init__(
        self,
        trainer: Any,
        probes: Dataset,
        settings: EvalSettings,
        collator: Any,
        processing: Any,
        system_prompt: str | None = None,
    ) -> None:
        self.trainer = trainer
        self.probes = probes
        self.settings = settings
        self.collator = collator
        self.processing = processing
        self.system_prompt = system_prompt
        #: ``(global step, metrics)`` of every check made, in order
        self.history: list[tuple[int, dict[str, float]]] = []

    # -- the trainer's hooks ---------------------------------------------------------------

    def on_train_begin(self, args, state, control, **kwargs):
        # a resumed run already logged its baseline
        if self.settings.on_start and state.global_step == 0:
            self._check(args, state, control)

    def on_step_end(self, args, state, control, **kwargs):
        every = self.settings.every_steps
        if every and state.global_step % every == 0:
            self._check(args, state, control)

    # -- answering and scoring -------------------------------------------------------------

    def answer(self, model: Any, rows: list[dict]) -> list[str]:
        """Greedy answers of ``model`` to ``rows`` (batches of ``settings.batch_size``)."""
        import torch

        device = next(model.parameters()).device
        dtype = next(p.dtype for p in model.parameters() if p.is_floating_point())
        tokenizer = getattr(self.processing, "tokenizer", self.processing)
        answers: list[str] = []
        for start in range(0, len(rows), self.settings.batch_size):
            batch = rows[start : start + self.settings.batch_size]
            inputs = self._inputs(batch)
            inputs = {
                k: (v.to(device, dtype) if v.is_floating_point() else v.to(device))
                if torch.is_tensor(v) else v
                for k, v in inputs.items()
            }
            with torch.inference_mode():
                out = model.generate(
                    **inputs,
                    max_new_tokens=self.settings.max_new_tokens,
                    do_sample=False,
                    use_cache=True,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new = getattr(out, "sequences", out)[:, inputs["input_ids"].shape[1] :]
            answers += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
        return answers

    def _inputs(self, batch: list[dict]) -> dict[str, Any]:
        if self.collator is not None:
            return self.collator.generation_inputs(batch)
        tokenizer = self.processing
        conversations = [
            ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else [])
            + [{"role": "user", "content": row["prompt"]}]
            for row in batch
        ]
        return dict(
            tokenizer.apply_chat_template(
                conversations,
                add_generation_prompt=True,
                padding=True,
                padding_side="left",
                return_tensors="pt",
                return_dict=True,
            )
        )

    def evaluate(self) -> dict[str, float]:
        """Answer the probes with the current policy (this process's share, then gathered)
        and return the ``thud/...`` numbers."""
        from accelerate.utils import gather_object

        accelerator = self.trainer.accelerator
        model = self.trainer.model
        rows = [dict(r) for r in self.probes]
        indexed = list(enumerate(rows))
        was_training = model.training
        model.eval()
        try:
            with accelerator.split_between_processes(indexed) as mine:
                answers = self.answer(model, [row for _, row in mine])
                pairs = list(zip([i for i, _ in mine], answers, strict=True))
        finally:
            model.train(was_training)
        if accelerator.num_processes > 1:
            pairs = gather_object(pairs)
        by_index = dict(pairs)
        return probe_metrics([by_index.get(i) for i in range(len(rows))], self.probes)

    def _check(self, args, state, control) -> None:
        started = time.perf_counter()
        metrics = self.evaluate()
        self.history.append((state.global_step, metrics))
        # logged the way Trainer.log does, without TRL's log(), which would take over (and
        # clear) the training metrics it gathers for the next loss line; the handler gets a
        # copy of `control`, as its on_log clears should_log, which would drop that line
        logs = dict(metrics)
        if state.epoch is not None:
            logs["epoch"] = state.epoch
        state.log_history.append({**logs, "step": state.global_step})
        self.trainer.callback_handler.on_log(args, state, copy.copy(control), logs)
        logger.info(
            "step %d: thud avg_gap %s, pair accuracy %s on %d probes (%.1f s)",
            state.global_step,
            _fmt(metrics["thud/avg_gap"]),
            _fmt(metrics["thud/pair_accuracy"]),
            len(self.probes),
            time.perf_counter() - started,
        )


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def attach_probe_eval(trainer: Any, config: Any, processing: Any, kind: str) -> ProbeEvalCallback | None:
    """Add a :class:`ProbeEvalCallback` to ``trainer`` when ``config.eval.every_steps`` > 0."""
    settings = config.eval
    if not settings.every_steps:
        return None
    from thud_train.collators import OmniSFTCollator

    probes = load_eval_probes(settings.dataset or config.dataset, settings.num_clips, config.seed)
    collator = None if kind == "text" else OmniSFTCollator(processing, config.media, config.system_prompt)
    callback = ProbeEvalCallback(trainer, probes, settings, collator, processing, config.system_prompt)
    trainer.add_callback(callback)
    logger.info(
        "eval: %d test probes of %d clips every %d steps",
        len(probes), len(set(probes["clip_id"])), settings.every_steps,
    )
    return callback
