"""Validated, integer-coded probe arrays: the one place where metric inputs are checked.

Every metric function goes through :func:`encode_probes`, so a bad input gets the same
clear error (naming the argument, the row and the value) whichever function it reaches,
and the numbers are computed on small integer arrays (fast over millions of probes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from thud_dataset.vocab import (
    CONDITIONS,
    DIMENSION_OF,
    DIMENSIONS,
    GOLD_LABELS,
    LABELS,
    REFUSED,
    UNKNOWN,
)

from .parsing import Judge, read_answers

#: reading codes: the LABELS in order, then the two readings that are never gold:
#: refused (the answer says the model has no audio) and unknown (unreadable)
LABEL_CODES: tuple[str, ...] = (*LABELS, REFUSED, UNKNOWN)
SYNCED, EARLY, DELAYED, SILENT, MISMATCHED, REFUSED_CODE, UNKNOWN_CODE = map(
    LABEL_CODES.index, ("synced", "early", "delayed", "silent", "mismatched", REFUSED, UNKNOWN)
)
ORIGINAL, SHIFT, MUTE, SWAP = map(CONDITIONS.index, ("original", "shift", "mute", "swap"))
SYNC, EXISTENCE, CONSISTENCY = map(DIMENSIONS.index, ("sync", "existence", "consistency"))
assert LABEL_CODES[UNKNOWN_CODE] == UNKNOWN and CONDITIONS[SWAP] == "swap" and DIMENSIONS[CONSISTENCY] == "consistency"

#: ``_GOLD_OK[condition code, label code]``: whether that label can be the gold of that condition
_GOLD_OK = np.array([[label in GOLD_LABELS[c] for label in LABELS] for c in CONDITIONS], dtype=bool)



@dataclass(frozen=True)
class ProbeArrays:
    """Metric inputs as aligned arrays of length n (one entry per probe).

    Attributes
    ----------
    pred, gold : int8 arrays
        Reading codes (index into :data:`LABEL_CODES`: the labels, then ``refused`` and
        ``unknown``; gold is always one of the labels).
    cond, dim : int8 arrays
        Indexes into ``vocab.CONDITIONS`` and ``vocab.DIMENSIONS``.
    offset : float64 array
        ``tau`` in seconds (0 for non-shift probes; NaN where not given).
    stated : float64 array
        The signed offset the answer states (NaN where it states none).
    pair : int64 array or None
        Pair-id index in ``[0, n_pairs)``; None when no pair ids were given. A pair id
        groups one original probe with its intervened probes (one, or several for an
        offset sweep); each (original, intervened) couple is one pair of pair accuracy.
    unit : int64 array
        Resampling unit of the bootstrap: the clip, or the pair when no clip ids were given.
    unit_kind : {"clip", "pair", "probe"}
    judge : dict or None
        What the judge did (see :func:`~thud_metrics.parsing.read_answers`); None without one.
    """

    pred: np.ndarray
    gold: np.ndarray
    cond: np.ndarray
    dim: np.ndarray
    offset: np.ndarray
    stated: np.ndarray
    pair: np.ndarray | None
    n_pairs: int
    unit: np.ndarray
    n_units: int
    unit_kind: str
    judge: dict | None = None

    def __len__(self) -> int:
        return len(self.pred)

    @property
    def correct(self) -> np.ndarray:
        return self.pred == self.gold


def _column(values: object, name: str, n: int | None) -> list | np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, Iterable)):
        raise TypeError(f"{name} must be a sequence with one entry per probe; got {type(values).__name__}")
    out = values if isinstance(values, (list, np.ndarray)) else list(values)
    if n is not None and len(out) != n:
        raise ValueError(f"{name} has {len(out)} entries but predictions has {n}: give one per probe")
    return out


def _codes(values: Sequence, name: str, vocab: Sequence[str]) -> np.ndarray:
    table = {v: i for i, v in enumerate(vocab)}
    try:  # map over a C method: ~30 ns a row
        return np.fromiter(map(table.__getitem__, values), dtype=np.int8, count=len(values))
    except (KeyError, TypeError):
        pass
    bad = [i for i, v in enumerate(values) if not isinstance(v, str) or v not in table]
    row = bad[0]
    raise ValueError(
        f"{name}[{row}] is {values[row]!r}, which is not one of {tuple(vocab)}"
        + (f" ({len(bad)} bad rows in all)" if len(bad) > 1 else "")
    )


def _factorize(values: Sequence, name: str) -> tuple[np.ndarray, Sequence]:
    """Integer codes in ``[0, n_distinct)`` and the distinct values (ids: str or int)."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    if arr.ndim == 1 and arr.dtype.kind in "Uiu":  # all strings / all ints: sort, in C
        names, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64, copy=False), names  # names stay an array: no 1M str objects
    bad = next((i for i, v in enumerate(values) if not isinstance(v, (str, int, np.integer))), None)
    if bad is not None:
        raise ValueError(f"{name}[{bad}] is {values[bad]!r}: ids must be strings, one for every probe")
    table = dict.fromkeys(values)  # mixed str/int ids: exact, via a dict
    table.update(zip(table, range(len(table)), strict=True))
    return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values)), list(table)


def check_labels(references: Sequence[str], conditions: Sequence[str], dimensions: Sequence[str]) -> None:
    """Raise the error :func:`encode_probes` would for an unknown label, condition or
    dimension name (a cheap early check for code that collects probes in batches).

    >>> check_labels(["synced"], ["original"], ["timing"])
    Traceback (most recent call last):
    ...
    ValueError: dimensions[0] is 'timing', which is not one of ('sync', 'existence', 'consistency')
    """
    _codes(conditions, "conditions", CONDITIONS)
    _codes(dimensions, "dimensions", DIMENSIONS)
    _codes(references, "references", LABELS)


def _all_none(values: Sequence | None) -> bool:
    return values is None or all(v is None for v in values)


def _fail_rows(mask: np.ndarray, message: Callable[[int], str]) -> None:
    rows = np.flatnonzero(mask)
    if rows.size:
        more = f" ({rows.size} such rows)" if rows.size > 1 else ""
        raise ValueError(message(int(rows[0])) + more)


def encode_probes(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    pair_ids: Sequence[str] | None = None,
    offsets: Sequence[float | None] | None = None,
    clip_ids: Sequence[str] | None = None,
    *,
    judge: Judge | None = None,
    judge_all: bool = False,
) -> ProbeArrays:
    """Check and encode the metric inputs.

    Parameters
    ----------
    predictions : sequence of str or None, length n
        Free-form answers or labels (parsed with :func:`~thud_metrics.parse_answers`).
    references : sequence of str, length n
        Gold labels; must agree with the condition (``vocab.gold_label``).
    conditions, dimensions : sequence of str, length n
    pair_ids : sequence of str, length n, optional
        A pair id groups one original probe with the intervened probes of the same
        dimension (and clip): usually one, several for an offset sweep (K shifts of one
        clip share its sync original). An intervened probe whose pair has no original is
        an error.
    offsets : sequence of float or None, length n, optional
        ``tau`` (seconds); 0 (or None) for non-shift probes, signed like the reference
        for shift probes.
    clip_ids : sequence of str, length n, optional
        The bootstrap resamples clips; without clip ids it resamples pairs (or probes).
    judge : callable, optional
        Reads the answers the rules cannot (or, with ``judge_all``, every answer); see
        :func:`~thud_metrics.parse_answers`.
    judge_all : bool

    Raises
    ------
    ValueError
        Empty input, lengths that differ, unknown names, a reference that contradicts the
        condition, or a broken pair - naming the argument, the row and the value.

    Examples
    --------
    >>> p = encode_probes(["A", "B"], ["synced", "early"], ["original", "shift"],
    ...                   ["sync", "sync"], ["p1", "p1"], [0.0, -0.5])
    >>> p.pred.tolist(), p.gold.tolist(), p.n_pairs
    ([0, 1], [0, 1], 1)
    >>> encode_probes(["A"], ["synced"], ["shifted"], ["sync"])
    Traceback (most recent call last):
    ...
    ValueError: conditions[0] is 'shifted', which is not one of ('original', 'shift', 'mute', 'swap')
    """
    predictions = _column(predictions, "predictions", None)
    n = len(predictions)
    if n == 0:
        raise ValueError("no probes to score: predictions is empty")
    references = _column(references, "references", n)
    conditions = _column(conditions, "conditions", n)
    dimensions = _column(dimensions, "dimensions", n)
    pair_ids = None if _all_none(pair_ids) else _column(pair_ids, "pair_ids", n)
    offsets = None if _all_none(offsets) else _column(offsets, "offsets", n)
    clip_ids = None if _all_none(clip_ids) else _column(clip_ids, "clip_ids", n)

    cond = _codes(conditions, "conditions", CONDITIONS)
    dim = _codes(dimensions, "dimensions", DIMENSIONS)
    gold = _codes(references, "references", LABELS)

    # a non-original probe belongs to its intervention's dimension: shift -> sync, ...
    expected_dim = np.array([-1] + [DIMENSIONS.index(DIMENSION_OF[c]) for c in CONDITIONS[1:]], dtype=np.int8)
    _fail_rows(
        (cond != ORIGINAL) & (dim != expected_dim[cond]),
        lambda r: f"row {r}: a {conditions[r]!r} probe must have dimension "
        f"{DIMENSION_OF[conditions[r]]!r}, not {dimensions[r]!r}",
    )
    is_shift = cond == SHIFT
    _fail_rows(
        ~_GOLD_OK[cond, gold],
        lambda r: f"references[{r}] is {references[r]!r}, but a {conditions[r]!r} probe's gold label is "
        + " or ".join(map(repr, GOLD_LABELS[conditions[r]])),
    )

    if offsets is None:
        offset = np.where(is_shift, np.nan, 0.0)
    else:
        try:
            offset = np.array(offsets, dtype=float)  # None -> NaN
        except (TypeError, ValueError) as exc:
            raise ValueError(f"offsets must be numbers (seconds) or None: {exc}") from None
        _fail_rows(
            ~is_shift & ~np.isnan(offset) & (offset != 0),
            lambda r: f"offsets[{r}] is {offset[r]}, but a {conditions[r]!r} probe has no offset (use 0.0)",
        )
        offset = np.where(~is_shift & np.isnan(offset), 0.0, offset)
        _fail_rows(
            is_shift & (offset == 0),
            lambda r: f"offsets[{r}] is 0 on a shift probe: a shift needs a non-zero tau",
        )
        _fail_rows(
            is_shift & ~np.isnan(offset) & ((offset > 0) != (gold == DELAYED)),
            lambda r: f"offsets[{r}] is {offset[r]:+g} s but references[{r}] is {references[r]!r} "
            "(tau > 0 is 'delayed', tau < 0 is 'early')",
        )

    index, labels, stated_u, judge_report = read_answers(predictions, dimensions, judge=judge, judge_all=judge_all)
    pred = _codes(labels, "parsed predictions", LABEL_CODES)[index]
    stated = stated_u[index]

    clip = clip_names = None
    if clip_ids is not None:
        clip, clip_names = _factorize(clip_ids, "clip_ids")

    pair = None
    n_pairs = 0
    if pair_ids is not None:
        pair, pair_names = _factorize(pair_ids, "pair_ids")
        n_pairs = len(pair_names)
        _check_pairs(pair, pair_names, cond, dim, clip)

    if clip is not None:
        unit, n_units, kind = clip, len(clip_names), "clip"
    elif pair is not None:
        unit, n_units, kind = pair, n_pairs, "pair"
    else:
        unit, n_units, kind = np.arange(n), n, "probe"
    return ProbeArrays(
        pred=pred, gold=gold, cond=cond, dim=dim, offset=offset, stated=stated,
        pair=pair, n_pairs=n_pairs, unit=unit, n_units=n_units, unit_kind=kind, judge=judge_report,
    )  # fmt: skip


def _check_pairs(pair: np.ndarray, pair_names: Sequence, cond: np.ndarray, dim: np.ndarray, clip: np.ndarray | None) -> None:
    """Each pair id: at most one original probe, an original for every intervened probe,
    one dimension, one clip. Several intervened probes may share an original (a sweep)."""
    n_pairs = len(pair_names)
    is_orig = cond == ORIGINAL
    n_orig = np.bincount(pair, weights=is_orig, minlength=n_pairs)
    n_int = np.bincount(pair, weights=~is_orig, minlength=n_pairs)

    def rows_of(p: int) -> list[int]:
        return np.flatnonzero(pair == p)[:4].tolist()

    def first(mask: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(mask)
        if bad.size:
            p = int(bad[0])
            more = f" ({bad.size} such pairs)" if bad.size > 1 else ""
            name = pair_names[p]
            name = name.item() if isinstance(name, np.generic) else name  # np.str_ -> str
            raise ValueError(f"pair_id {name!r} (rows {rows_of(p)}) {what}{more}")

    first(n_orig > 1, "has more than one original probe; a pair id groups one original with its intervened probes")
    first(
        (n_int >= 1) & (n_orig == 0),
        "has an intervened probe but no original probe: score the original split with the intervened ones",
    )
    # all probes of a pair share a dimension (and a clip)
    lo = np.full(n_pairs, 127, dtype=np.int8)
    hi = np.full(n_pairs, -1, dtype=np.int8)
    np.minimum.at(lo, pair, dim)
    np.maximum.at(hi, pair, dim)
    first(lo != hi, "mixes dimensions; all probes of a pair must test the same dimension")
    if clip is not None:
        lo_c = np.full(n_pairs, np.iinfo(np.int64).max)
        hi_c = np.full(n_pairs, -1)
        np.minimum.at(lo_c, pair, clip)
        np.maximum.at(hi_c, pair, clip)
        first(lo_c != hi_c, "spans two clips; all probes of a pair come from one clip")
