"""Load one config of a built Thud dataset — a local folder or a Hub repo — for Thud's own tools.

``load_dataset("<folder>", "probes")`` is the spelling users know and it works on a build,
but ``datasets`` keys its cache of a local folder by the folder's *name* and the card's
YAML (``datasets`` 5.x), not by where the folder is or when its files changed. Two builds
in folders of the same name whose cards agree — the same seed and clip count, every
byte count equal — share one cache entry, so the second folder is read as the first; a
rebuild in place whose card did not change is read as the old build. Thud's tools score
and export *the folder they are given*, so for a local folder they read its parquet files
through the packaged ``parquet`` builder with the files named explicitly: that cache entry
is keyed by the files' absolute paths and modification times, and the features come from
the schema the build wrote into every file. A Hub repo id goes to ``load_dataset`` as is
(its cache is keyed by the commit).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .card import CardError, card_configs

__all__ = ["config_files", "load_config"]


def config_files(folder: str | os.PathLike, config: str) -> dict[str, list[str]]:
    """``{split: [absolute parquet paths]}`` of one config of a built folder, as its card lists them.

    Raises ``ValueError`` (naming the card) when the folder has no card, the card no such
    config, or a split's pattern matches no file.

    >>> config_files("/nonexistent", "probes")
    Traceback (most recent call last):
    ...
    thud_dataset.hub.card.CardError: /nonexistent/README.md: no dataset card; build the folder with `thud build` first
    """
    folder = Path(folder)
    configs = card_configs(folder)
    if config not in configs:
        raise CardError(f"{folder / 'README.md'}: no config {config!r}; the card lists {sorted(configs)}")
    out: dict[str, list[str]] = {}
    for split, patterns in configs[config].items():
        files = sorted({str(p.resolve()) for pat in patterns for p in folder.glob(pat) if p.is_file()})
        if not files:
            raise CardError(
                f"{folder / 'README.md'}: config {config!r} split {split!r} names "
                f"{', '.join(patterns)}, which matches no file in {folder}"
            )
        out[split] = files
    return out


def load_config(
    dataset: str | os.PathLike,
    config: str,
    *,
    split: str | None = None,
    columns: list[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Any:
    """One config of a built dataset: a ``DatasetDict`` of its splits, or one ``Dataset``.

    ``dataset`` is a local build folder (read from its own files, see the module docstring)
    or a Hub repo id. ``columns`` keeps only those columns (``None``: all); ``cache_dir``
    is the ``datasets`` cache (``None``: its default).

    Raises ``ValueError`` for a folder that is not a build (no card, no such config, a
    pattern without files) and ``datasets``' own errors for a Hub repo; an unknown
    ``split`` raises ``ValueError`` naming the splits there are.
    """
    import datasets

    cache = None if cache_dir is None else os.fspath(cache_dir)
    kwargs: dict[str, Any] = {"cache_dir": cache}
    if columns is not None:
        kwargs["columns"] = list(columns)
    if not Path(dataset).is_dir():
        return datasets.load_dataset(os.fspath(dataset), config, split=split, **kwargs)
    files = config_files(dataset, config)
    if split is not None:
        if split not in files:
            raise ValueError(f"{dataset}: config {config!r} has no split {split!r}; it has {sorted(files)}")
        files = {split: files[split]}
    dd = datasets.load_dataset("parquet", data_files=files, **kwargs)
    return dd[split] if split is not None else dd
