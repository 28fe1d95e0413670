"""The mutation score of Thud's scientific core (mutmut), per module, rerunnable.

A mutant is the library with one small change (``<`` for ``<=``, a constant off by one, a
dropped condition...). A test suite that notices every mutant that changes behaviour is
one that fails when the science is wrong. This script runs ``mutmut`` (3.x) over the
scientific core, one *group* of modules at a time, each in its own copy of the checkout
(``bench/results/mutation/<group>/``, git-ignored) with a fast, targeted test selection:

* mutmut records once which tests run each function (its per-function test mapping) and
  then runs, for each mutant, only the selected tests that reach the mutated function;
* doctests are not in the selections on purpose: no mutant of the core may be killed by a
  doctest alone (docstring examples are documentation; the science is checked by tests);
* every pytest session gets fresh caches (``-p tests.helpers.fresh_caches``), so a mutant
  never serves its files to the next one;
* mutants are forked from a process that has imported the code (fast), except those of
  functions that run at import time (``Group.import_time``): they are tested again in
  processes forked from a server that imported only third-party modules, so the module's
  import-time work sees the mutant (otherwise they survive whatever the tests do);
* mutmut's failure (clean run, stats collection) stops the script: no summary is written
  for mutants that were not tested.

Survivors that cannot be killed because they do not change behaviour (equivalent mutants)
are listed, with the reason, in ``bench/mutation_equivalent.json``; an entry is matched by
its function and the changed lines, so it stays attached when mutants are renumbered, and
an entry that no longer matches anything is reported. Results: one ``<group>.json`` per
group plus the markdown table of ``docs/testing.md`` (``--table``).

    python bench/mutation.py                      # every group (a few hours on 2 cores)
    python bench/mutation.py interventions media  # some groups
    python bench/mutation.py --table              # the table of the finished groups
    python bench/mutation.py --list               # groups, modules, test selections
    python bench/mutation.py --sample             # a small fixed sample (a few minutes)
    python bench/mutation.py --every 3 metrics    # a fixed 1-in-3 sample of a group's mutants

A rerun resumes: mutants already tested are kept unless their function changed (mutmut's
own bookkeeping); ``--fresh`` starts a group from scratch.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "mutation"
EQUIVALENT_FILE = REPO / "bench" / "mutation_equivalent.json"

#: the planted-bug runs: fresh caches per session, as the mutants get them
PYTEST_ARGS = ["-p", "no:cacheprovider", "-p", "tests.helpers.fresh_caches", "-q"]


@dataclass(frozen=True)
class Group:
    """Modules mutated together, and the tests that may kill their mutants.

    ``functions``: mutant-name globs when only part of a module is in scope (``None``:
    every function of the modules).
    """

    modules: tuple[str, ...]
    tests: tuple[str, ...]
    functions: tuple[str, ...] | None = None
    note: str = ""
    #: mutant-name globs of the functions that run at import time (module constants built by
    #: a function): tested again in fresh-import processes (see :func:`run_group`)
    import_time: tuple[str, ...] = ()


T = "tests/thud_dataset/"
M = "tests/thud_metrics/"
#: the one no-leakage test that builds a whole dataset: too slow to run per mutant (the
#: names it checks are the materialized files', which the other tests check directly)
_NO_BUILD = ("--deselect", T + "test_no_leakage.py::test_the_built_datasets_paths_carry_nothing_of_the_condition")
#: reads the modules' import statements, which mutmut's trampolines add to (not behaviour)
_NO_IMPORT_SCAN = ("--deselect", M + "test_metric_internals.py::test_the_metric_modules_need_only_numpy_the_standard_library_and_vocab")
GROUPS: dict[str, Group] = {
    "interventions": Group(
        ("thud_dataset/interventions/*.py",),
        (T + "test_interventions.py", T + "test_interventions_behaviour.py"),
    ),
    "media": Group(
        ("thud_dataset/media.py",),
        (
            T + "test_media.py",
            T + "test_containers.py",
            T + "test_media_faults.py",
            T + "test_no_leakage.py",
            T + "test_materialize.py",
            T + "test_media_behaviour.py",
            *_NO_BUILD,
        ),
    ),
    "materialize": Group(
        ("thud_dataset/materialize.py",),
        (
            T + "test_materialize.py",
            T + "test_media_cache.py",
            T + "test_no_leakage.py",
            T + "test_media.py",
            T + "test_media_faults.py",
            T + "test_materialize_behaviour.py",
            *_NO_BUILD,
        ),
    ),
    "metrics": Group(
        (
            "thud_metrics/stats.py",
            "thud_metrics/scores.py",
            "thud_metrics/bootstrap.py",
            "thud_metrics/probes.py",
        ),
        (
            M + "test_scores.py",
            M + "test_metric_semantics.py",
            M + "test_metric_internals.py",
            M + "test_bootstrap_compare.py",
            M + "test_thud_gap.py",
            M + "test_prompt_letters.py",
            M + "test_metric_behaviour.py",
            # a fresh Python process that loads the module from another folder (20 s)
            "--deselect", M + "test_thud_gap.py::test_loads_offline_from_another_directory",
            *_NO_IMPORT_SCAN,
        ),
    ),
    "parsing": Group(
        ("thud_metrics/parsing/*.py",),
        (
            M + "test_parsing.py",
            M + "test_answer_corpus.py",
            M + "test_judge.py",
            M + "test_prompt_letters.py",
            M + "test_parsing_behaviour.py",
            # the readings through the metric: stated offsets, the judge's report
            M + "test_metric_behaviour.py",
            M + "test_metric_semantics.py",
        ),
        # the claim patterns and precedence tables are built by these at import time
        import_time=("thud_metrics.parsing.rules.x__rule__mutmut_*", "thud_metrics.parsing.rules.x__rows__mutmut_*"),
    ),
    "runner": Group(
        ("thud_models/run.py", "thud_metrics/predictions/thud_jsonl.py"),
        ("tests/thud_models/test_run.py", "tests/thud_models/test_resume.py", "tests/thud_models/test_run_no_leakage.py"),
        functions=(
            # run.py: the resume steps (open, select, answer, the header and its checks)
            "thud_models.run.x__ends_with_newline__mutmut_*",
            "thud_models.run.x__dataset_name__mutmut_*",
            "thud_models.run.x_probes_fingerprint__mutmut_*",
            "thud_models.run.xǁProbeRunǁrun__mutmut_*",
            "thud_models.run.xǁProbeRunǁopen__mutmut_*",
            "thud_models.run.xǁProbeRunǁcheck_audio_path__mutmut_*",
            "thud_models.run.xǁProbeRunǁselect__mutmut_*",
            "thud_models.run.xǁProbeRunǁanswer__mutmut_*",
            "thud_models.run.xǁProbeRunǁ_validate_meta__mutmut_*",
            # the predictions format: all of it
            "thud_metrics.predictions.thud_jsonl.*",
        ),
        note="run.py: the resume steps only (not the report text, options or audio check)",
    ),
    "planning": Group(
        ("thud_dataset/planning.py",),
        (
            T + "test_planning.py",
            T + "test_interventions.py",
            T + "test_planning_behaviour.py",
        ),
    ),
}

#: a handful of mutants, fixed, for a quick check that the machinery and the kills work
#: ``_rule`` runs only at import time (it compiles the claim patterns): its mutants are
#: killed only when every mutant's process imports Thud afresh (see pyproject's
#: ``process_isolation``); a fork of a process that had imported it lets them all survive
SAMPLE: dict[str, tuple[str, ...]] = {
    "interventions": (
        "thud_dataset.interventions.shift.x_shift__mutmut_*",
        "thud_dataset.interventions.swap.x_swap__mutmut_2?",
    ),
    "parsing": ("thud_metrics.parsing.rules.x__rule__mutmut_*",),
}

@dataclass(frozen=True)
class Plant:
    """One of issue 20's planted bugs: ``old`` replaced by ``new`` in ``path``, and the
    tests that must fail on it (``killers``, node ids) within the suite part ``suite``."""

    name: str
    path: str
    old: str
    new: str
    killers: tuple[str, ...]
    suite: tuple[str, ...]


_MEDIA_SUITE = tuple(
    T + f for f in (
        "test_interventions.py", "test_interventions_behaviour.py", "test_media.py", "test_materialize.py",
        "test_materialize_behaviour.py", "test_media_behaviour.py", "test_no_leakage.py", "test_media_cache.py",
        "test_containers.py",
    )
)  # fmt: skip
_METRIC_SUITE = ("tests/thud_metrics/",)

#: the ten planted bugs of issue 20 and the one-frame-late video timestamps
PLANTED: tuple[Plant, ...] = (
    Plant(
        "1 prompt letters: sync options listed (B) Delayed, (C) Early",
        "thud_dataset/prompts.py",
        "for i, label in enumerate(CHOICES[dimension])",
        'for i, label in enumerate(("synced", "delayed", "early") if dimension == "sync" else CHOICES[dimension])',
        (M + "test_prompt_letters.py::test_each_letter_of_the_prompt_is_scored_as_its_option",),
        (*_METRIC_SUITE, "tests/thud_dataset/test_prompts.py"),
    ),
    Plant(
        "2 unknown left out of the accuracy denominators",
        "thud_metrics/stats.py",
        "den = (dim == DIMENSIONS.index(d)) & (cond == CONDITIONS.index(c))",
        "den = (dim == DIMENSIONS.index(d)) & (cond == CONDITIONS.index(c)) & (pred != UNKNOWN_CODE)",
        (M + "test_metric_semantics.py::test_unknown_and_refused_count_wrong_in_accuracy",),
        _METRIC_SUITE,
    ),
    Plant(
        "3 swap aligned to audio_time instead of visual_time",
        "thud_dataset/materialize.py",
        "swap(donor_x, x.shape[1], sr, donor.audio_time, clip.visual_time, fill=swap_fill)",
        "swap(donor_x, x.shape[1], sr, donor.audio_time, clip.audio_time, fill=swap_fill)",
        (
            T + "test_media.py::test_swap_carries_the_donor_sound_placed_at_the_visual_time",
            T + "test_no_leakage.py::test_swap_puts_the_donors_event_at_the_recipients_visual_time",
        ),
        _MEDIA_SUITE,
    ),
    Plant(
        "4 the original encoded at twice the bit rate",
        "thud_dataset/materialize.py",
        "encoded = _encode(samples, audio.sample_rate, settings)",
        "encoded = _encode(samples, audio.sample_rate, settings if condition != 'original' else "
        "EncodeSettings(settings.codec, 2 * settings.bitrate_per_channel, settings.gap_fill))",
        (T + "test_no_leakage.py::test_every_condition_was_encoded_with_the_same_settings",),
        _MEDIA_SUITE,
    ),
    Plant(
        "5 cache key without the event times",
        "thud_dataset/materialize.py",
        "repr((clip.audio_time, clip.visual_time, donor.audio_time)),",
        "",
        (T + "test_media_cache.py::test_an_annotation_fix_is_never_served_the_old_files",),
        _MEDIA_SUITE,
    ),
    Plant(
        "6 bootstrap over probes, labelled by clip",
        "thud_metrics/probes.py",
        'unit, n_units, kind = clip, len(clip_names), "clip"',
        'unit, n_units, kind = np.arange(n), n, "clip"',
        (M + "test_metric_semantics.py::test_clip_bootstrap_is_wider_than_a_probe_bootstrap_when_clips_are_correlated",),
        _METRIC_SUITE,
    ),
    Plant(
        "7 'not synchronized' read as synced (the negation loses a word)",
        "thud_metrics/parsing/rules.py",
        '["not", "no", "never",',
        '["no", "never",',
        (M + "test_parsing.py::test_negations_are_read",),
        _METRIC_SUITE,
    ),
    Plant(
        "8 refusal check removed",
        "thud_metrics/parsing/read.py",
        "    if is_refusal(shown):\n        return REFUSED\n",
        "",
        (M + "test_parsing.py::test_refusals_are_refused_never_silent",),
        _METRIC_SUITE,
    ),
    Plant(
        "9 the answerer's path names the condition",
        "thud_models/run.py",
        'return lambda: video_file(self.probes[split][index]["video"], videos)',
        'return lambda: video_file(self.probes[split][index]["video"], '
        '(videos or Path(__import__("os").environ["THUD_CACHE"]) / "videos") / split)',
        ("tests/thud_models/test_run_no_leakage.py",),
        ("tests/thud_models/test_run.py", "tests/thud_models/test_run_no_leakage.py", "tests/thud_cli/test_run.py"),
    ),
    Plant(
        "10 mute_hallucination counts unknown answers",
        "thud_metrics/stats.py",
        '"mute_hallucination": (mute & parsed & (pred != SILENT), mute),',
        '"mute_hallucination": (mute & (pred != REFUSED_CODE) & (pred != SILENT), mute),',
        (M + "test_metric_semantics.py::test_mute_hallucination_counts_only_claims_of_a_sound",),
        _METRIC_SUITE,
    ),
    Plant(
        "video timestamps one frame late",
        "thud_dataset/media.py",
        "q.pts = pts - v_off\n                q.dts = dts - v_off\n",
        "q.pts = pts - v_off + dur\n                q.dts = dts - v_off + dur\n",
        ("tests/thud_dataset/test_containers.py::test_video_packets_sit_at_the_sources_times",),
        _MEDIA_SUITE,
    ),
)


def _failed_tests(output: str) -> list[str]:
    return sorted({m.group(1) for m in re.finditer(r"^FAILED (\S+)", output, re.M)} | {
        m.group(1) for m in re.finditer(r"^ERROR (\S+)", output, re.M)
    })


def run_planted(plants: tuple[Plant, ...] = PLANTED) -> int:
    """Apply each planted bug in a copy of the checkout, run its suite part (doctests
    excluded), and report which tests fail; 1 if a bug survives or a named killer passes."""
    dest = RESULTS / "planted"
    sync_copy(dest)
    env = dict(os.environ, PYTHONPATH=str(dest))
    bad = 0
    report = []
    for plant in plants:
        path = dest / plant.path
        original = path.read_text()
        if original.count(plant.old) != 1:
            print(f"[planted] {plant.name}: the code to change is not in {plant.path} once; update PLANTED")
            bad += 1
            continue
        path.write_text(original.replace(plant.old, plant.new))
        try:
            suite = [t for t in plant.suite if (dest / t.split("::")[0]).exists()]
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-rfE", "-o", "addopts=--import-mode=importlib",
                 *PYTEST_ARGS, *suite],
                cwd=dest, env=env, capture_output=True, text=True,
            )
        finally:
            path.write_text(original)
        failed = _failed_tests(proc.stdout)
        files = {f.split("::")[0] for f in failed}
        missing = [k for k in plant.killers if not any(f == k or f.startswith(k + "[") for f in failed)]
        ok = proc.returncode == 1 and not missing
        bad += not ok
        report.append({"bug": plant.name, "failed": failed, "named_killers_missing": missing})
        print(f"[planted] {'killed' if ok else 'NOT KILLED as named'}: {plant.name}: "
              f"{len(failed)} failing tests in {len(files)} files (exit {proc.returncode})", flush=True)
        for f in failed:
            print(f"    {f}")
        for k in missing:
            print(f"    named killer did not fail: {k}")
    (RESULTS / "planted.json").write_text(json.dumps(report, indent=2) + "\n")
    return 1 if bad else 0


#: mutmut's exit codes, as the table counts them. 2 is pytest's "interrupted": the mutant's
#: process ignores Ctrl-C (mutmut's fork server does), so it means that collection failed,
#: i.e. the mutated module no longer imports (a pattern that does not compile): a kill
STATUS = {
    1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
    35: "suspicious", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
    255: "timeout", 37: "killed", None: "not checked", -11: "segfault", -9: "segfault",
    2: "killed",
}


def _status(code: int | None) -> str:
    return STATUS.get(code, "suspicious")


# -- the working copy ----------------------------------------------------------------------


def _repo_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


def sync_copy(dest: Path) -> None:
    """Mirror the checkout's files (tracked and untracked, not ignored) into ``dest``,
    keeping modification times: mutmut reuses the mutants of an unchanged file."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = set(_repo_files())
    for rel in wanted:
        src, dst = REPO / rel, dest / rel
        st = src.stat()
        if dst.is_file():
            dt = dst.stat()
            if dt.st_size == st.st_size and dt.st_mtime_ns == st.st_mtime_ns:
                continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    for path in list(dest.rglob("*")):
        rel = path.relative_to(dest).as_posix()
        top = rel.split("/", 1)[0]
        if top in ("mutants", ".mutation") or not path.is_file():
            continue
        if rel not in wanted and rel != "pyproject.toml":
            path.unlink()


def present_tests(group: Group) -> list[str]:
    """The group's test files that exist in this checkout (and its pytest options)."""
    out = []
    for i, t in enumerate(group.tests):
        option = t.startswith("-") or (i and group.tests[i - 1].startswith("-"))
        if option or (REPO / t).is_file():
            out.append(t)
    return out


def mutmut_config(group: Group) -> str:
    """The ``[tool.mutmut]`` section of the group's copy: the checkout's own section (the
    settings every group shares) plus the group's modules and tests."""
    def toml_list(items) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    base = re.search(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", (REPO / "pyproject.toml").read_text())
    if base is None:
        raise SystemExit("pyproject.toml has no [tool.mutmut] section (the settings every group shares)")
    body = "\n".join(line for line in base.group(0).splitlines() if line and not line.startswith("#"))
    return (
        body + "\n"
        f"only_mutate = {toml_list(group.modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(present_tests(group))}\n"
    )


def write_config(dest: Path, group: Group, isolation: str = "fork") -> None:
    text = (REPO / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    config = mutmut_config(group) + f'process_isolation = "{isolation}"\n'
    (dest / "pyproject.toml").write_text(text.rstrip() + "\n\n" + config)


# -- running --------------------------------------------------------------------------------


def _meta_files(dest: Path, group: Group) -> list[Path]:
    out = []
    for pattern in group.modules:
        out += sorted((dest / "mutants").glob(pattern + ".meta"))
    return out


def read_results(dest: Path, group: Group) -> dict[str, int | None]:
    """Every in-scope mutant of the group and mutmut's exit code for it (None: not run)."""
    codes: dict[str, int | None] = {}
    for meta in _meta_files(dest, group):
        data = json.loads(meta.read_text())
        for key, code in data["exit_code_by_key"].items():
            if group.functions is None or any(fnmatch.fnmatch(key, g) for g in group.functions):
                codes[key] = code
    return codes


def every_nth(n: int, most: int = 1000) -> tuple[str, ...]:
    """A fixed sample of about 1 in ``n`` mutants: those numbered 1, 1 + n, 1 + 2n, ... within
    each function (mutmut numbers a function's mutants from 1), so that every function with a
    mutant is in the sample."""
    return tuple(f"*__mutmut_{k}" for k in range(1, most + 1, n))


def run_group(
    name: str, group: Group, *, max_children: int, fresh: bool, only: tuple[str, ...] = (), retest: bool = False
) -> float:
    """Run mutmut on the group's copy: the mutants in scope (``only``: names or globs) not
    tested yet, or exactly ``only`` with ``retest``; then the import-time functions' mutants
    in fresh-import processes. Seconds spent."""
    dest = RESULTS / name
    if fresh and dest.exists():
        shutil.rmtree(dest)
    sync_copy(dest)
    write_config(dest, group, "fork")
    env = dict(os.environ)
    tmp = dest / ".mutation" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env["PYTEST_DEBUG_TEMPROOT"] = str(tmp)  # pytest's tmp_path, away from other runs
    env.pop("PYTHONPATH", None)
    # sessions that spawn Python (the CLI, builds in worker processes) import the mutants too;
    # the folder must exist before Python starts, or its import cache skips it for good
    (dest / "mutants").mkdir(exist_ok=True)
    env["PYTHONPATH"] = str(dest / "mutants")
    known = read_results(dest, group)
    if known and not retest:
        # mutmut notices changed functions (and forgets their results) only when it makes the
        # mutants again: let it (testing one mutant: it refuses to test none) before asking
        # what is still to test
        write_config(dest, group, "fork")
        _mutmut(name, dest, env, max_children, [min(known)])
    before = read_results(dest, group)
    scope = list(only) or list(group.functions or ())

    def matching(codes: dict, globs) -> list[str]:
        return sorted(k for k in codes if any(fnmatch.fnmatch(k, g) for g in globs))

    seconds = 0.0
    if not before:
        # mutmut makes the mutants on its first run: the names are not known before
        names = scope
    elif retest:
        names = list(only)
    else:
        # mutmut reruns every mutant it is given by name: give it the ones not tested yet
        names = [k for k in (matching(before, scope) if scope else before) if before[k] is None]
        if not names:
            print(f"[{name}] every mutant in scope is tested already", flush=True)
    if names or not before:
        write_config(dest, group, "fork")
        seconds += _mutmut(name, dest, env, max_children, names)
    if group.import_time:
        # forked from a process that had imported the module, these mutants never reach the
        # constants the function built at import time: test them where Thud is imported
        # after the mutant is on (mutmut's fork server, warmed with third-party modules only)
        codes = read_results(dest, group)
        again = [
            k for k in matching(codes, group.import_time)
            if (not only or any(fnmatch.fnmatch(k, g) for g in only) or k in only)
            # (a survivor here is retested each run: one or two mutants, a few seconds)
            and _status(codes[k]) in ("survived", "not checked", "timeout", "suspicious")
        ]
        if again:
            write_config(dest, group, "forkserver")
            seconds += _mutmut(name, dest, env, max_children, again)
        write_config(dest, group, "fork")
    return seconds


def _mutmut(name: str, dest: Path, env: dict, max_children: int, names: list[str]) -> float:
    log = dest / ".mutation" / "mutmut.log"
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names]
    print(f"[{name}] {' '.join(cmd[:6])} ... ({len(names)} names) in {dest}", flush=True)
    t0 = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=dest, env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, None):
        # a failed clean run or stats collection tests no mutant at all: say so and stop,
        # never summarize mutants that were not checked as if the group had run
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"[{name}] mutmut exited {proc.returncode}; no summary written. End of {log}:\n{tail}")
    return seconds


# -- reporting ------------------------------------------------------------------------------


def _diff(dest: Path, key: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", key], cwd=dest, capture_output=True, text=True
    ).stdout
    return "\n".join(line for line in out.splitlines() if not line.startswith("# "))


def _changed_lines(diff: str) -> list[str]:
    return [
        line[0] + " ".join(line[1:].split())
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def _function_of(key: str) -> str:
    return key.rsplit("__mutmut_", 1)[0]


def load_equivalents() -> list[dict]:
    if not EQUIVALENT_FILE.is_file():
        return []
    return json.loads(EQUIVALENT_FILE.read_text())["equivalent"]


def summarize(name: str, group: Group, seconds: float | None = None, only: tuple[str, ...] = ()) -> dict:
    """Count the group's mutants per module and status; survivors with their diffs, the
    equivalent ones with the reason from :data:`EQUIVALENT_FILE`. ``only``: mutant-name
    globs (a sample)."""
    dest = RESULTS / name
    codes = read_results(dest, group)
    population = Counter(key.split(".x", 1)[0] for key in codes)
    if only:
        codes = {k: c for k, c in codes.items() if any(fnmatch.fnmatch(k, g) for g in only)}
    equivalents = load_equivalents()
    used: set[int] = set()
    modules: dict[str, Counter] = {}
    survivors, equivalent = [], []
    for key, code in sorted(codes.items()):
        module = key.split(".x", 1)[0]
        counts = modules.setdefault(module, Counter())
        status = _status(code)
        if status == "survived":
            diff = _diff(dest, key)
            changed = _changed_lines(diff)
            match = next(
                (i for i, e in enumerate(equivalents)
                 if e["function"] == _function_of(key) and e["changed"] == changed),
                None,
            )
            if match is not None:
                used.add(match)
                status = "equivalent"
                equivalent.append({"mutant": key, "reason": equivalents[match]["reason"], "diff": diff})
            else:
                survivors.append({"mutant": key, "function": _function_of(key), "changed": changed, "diff": diff})
        counts[status] += 1
    # (a sample sees only some survivors: an entry for a mutant outside it is not stale)
    stale = [] if only else [
        e for i, e in enumerate(equivalents)
        if i not in used and any(e["function"].startswith(m + ".") for m in modules)
    ]
    summary = {
        "group": name,
        "modules": {m: dict(c) for m, c in modules.items()},
        "population": dict(population),
        "tests": list(group.tests),
        "functions": list(group.functions or ()),
        "note": group.note,
        "survivors": survivors,
        "equivalent": equivalent,
        "stale_equivalents": stale,
        "seconds": seconds,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


COLUMNS = ("killed", "survived", "equivalent", "timeout", "suspicious", "no tests", "not checked")


def table(summaries: list[dict]) -> str:
    """The markdown table of docs/testing.md: one row per module."""
    head = "| group | module | mutants (tested / in module) | " + " | ".join(COLUMNS) + " | non-equivalent survivors |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 4)]
    for s in summaries:
        for module, counts in sorted(s["modules"].items()):
            total = sum(counts.values())
            other = sum(v for k, v in counts.items() if k not in COLUMNS)
            judged = total - counts.get("not checked", 0) - counts.get("no tests", 0)
            share = counts.get("survived", 0) / judged if judged else float("nan")
            cells = [str(counts.get(c, 0)) for c in COLUMNS]
            extra = f" (+{other} other)" if other else ""
            whole = s.get("population", {}).get(module, total)
            group = s["group"] + (f" (sample {s['sample']})" if s.get("sample", "all") != "all" else "")
            lines.append(
                f"| {group} | `{module}` | {total}{extra} / {whole} | " + " | ".join(cells) + f" | {share:.1%} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("groups", nargs="*", help=f"groups to run (default: all): {', '.join(GROUPS)}")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    ap.add_argument("--fresh", action="store_true", help="start the groups from scratch")
    ap.add_argument("--table", action="store_true", help="only print the table of the finished groups")
    ap.add_argument("--list", action="store_true", help="only list the groups")
    ap.add_argument("--sample", action="store_true", help="run the small fixed sample (SAMPLE)")
    ap.add_argument("--planted", action="store_true", help="apply issue 20's planted bugs one at a time")
    ap.add_argument(
        "--every", type=int, default=1, metavar="N",
        help="a fixed sample: only the mutants numbered 1, 1+N, 1+2N, ... of each function (table too)",
    )
    ap.add_argument(
        "--retest", action="store_true",
        help="test the groups' survivors (and timeouts, suspicious) again, e.g. after new tests",
    )
    args = ap.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        ap.error(f"unknown groups {unknown}; choose from {list(GROUPS)}")
    names = args.groups or list(GROUPS)
    if args.planted:
        return run_planted()
    if args.list:
        for n in names:
            g = GROUPS[n]
            print(f"{n}:\n  mutate: {', '.join(g.modules)}\n  tests:  {', '.join(g.tests)}")
            if g.functions:
                print(f"  functions: {', '.join(g.functions)}")
        return 0
    if args.sample:
        names = [n for n in names if n in SAMPLE]
        for n in names:
            run_group(f"sample-{n}", GROUPS[n], max_children=args.max_children, fresh=True, only=SAMPLE[n], retest=True)
            s = summarize(f"sample-{n}", GROUPS[n], only=SAMPLE[n])
            counts = Counter()
            for c in s["modules"].values():
                counts.update(c)
            print(f"[sample {n}] {sum(counts.values())} mutants: {dict(counts)}")
            for x in s["survivors"]:
                print(f"  survived: {x['mutant']}\n{x['diff']}")
            if counts.get("killed", 0) + counts.get("equivalent", 0) != sum(counts.values()):
                return 1
        return 0
    summaries = []
    sample = every_nth(args.every) if args.every > 1 else ()
    for n in names:
        seconds = None
        if args.retest:
            again = tuple(
                k for k, c in read_results(RESULTS / n, GROUPS[n]).items()
                if _status(c) in ("survived", "timeout", "suspicious", "segfault")
            )
            if again:
                seconds = run_group(n, GROUPS[n], max_children=args.max_children, fresh=False, only=again, retest=True)
        elif not args.table:
            seconds = run_group(n, GROUPS[n], max_children=args.max_children, fresh=args.fresh, only=sample)
        if (RESULTS / n / "mutants").is_dir():
            s = summarize(n, GROUPS[n], seconds, only=sample)
            s["sample"] = f"1 in {args.every}" if sample else "all"
            (RESULTS / f"{n}.json").write_text(json.dumps(s, indent=2, ensure_ascii=False) + "\n")
            summaries.append(s)
            left = [x["mutant"] for x in s["survivors"]]
            print(f"[{n}] {s['modules']}; {len(left)} non-equivalent survivors", flush=True)
            for e in s["stale_equivalents"]:
                print(f"[{n}] equivalent entry matches no survivor any more: {e['function']}: {e['changed']}")
    print(table(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
