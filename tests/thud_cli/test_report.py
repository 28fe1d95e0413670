"""``thud report`` on the demo build with its two models, opened in a real headless browser.

Debian's chromium (``apt-get install -y chromium``; ``.ci/run`` installs it) driven by
Playwright: the page loads from ``file://`` with no console error and no request leaving the
folder; every video card loads its video's metadata with the probe's duration; the filters
show the expected numbers of cards; the Clever-Hans view lists exactly the couples the
metric counts right on the original and wrong on the intervened probe. Expected values are
recomputed here from the predictions files and the dataset, not read from the report.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from thud_cli.main import main as thud_main
from thud_dataset.media import probe as probe_media
from thud_metrics import parse_answers
from thud_metrics.predictions import read_predictions
from thud_metrics.report import load_probes

BROWSER_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
N_RESAMPLES = "200"


def _chromium() -> str | None:
    for candidate in (os.environ.get("THUD_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):  # fmt: skip
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory, media_cache):
    """The demo build (quiet), its predictions files (one per baseline), and `thud report` of them."""
    root = tmp_path_factory.mktemp("demo")
    out = root / "thud"
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        code = thud_main(["demo", "--out", str(out), "--num-clips", "6", "--n-resamples", N_RESAMPLES,
                          "--cache-dir", str(media_cache), "--quiet"])  # fmt: skip
    assert code == 0, errors.getvalue()
    preds = [out / "predictions" / f"{m}.jsonl" for m in ("prior", "signal", "silence_cue")]
    report = root / "report"
    code = thud_main(["report", str(out), *map(str, preds), "--out", str(report), "--n-resamples", N_RESAMPLES, "--quiet"])
    assert code == 0
    QUIET_DEMO["out"], QUIET_DEMO["err"] = printed.getvalue(), errors.getvalue()
    return out, preds, report


#: what `thud demo --quiet` printed in the fixture
QUIET_DEMO: dict[str, str] = {}


@pytest.fixture(scope="module")
def expected(demo):
    """What the page must show, computed from the predictions and the dataset by hand."""
    out, preds, report = demo
    probes = load_probes(out, columns=["duration_s"])
    ids = probes["probe_id"]
    gold = np.array(probes["label"])
    by_pair: dict[str, dict[str, list[int]]] = {}
    for i, (pair, cond) in enumerate(zip(probes["pair_id"], probes["condition"], strict=True)):
        by_pair.setdefault(pair, {}).setdefault("original" if cond == "original" else "intervened", []).append(i)
    couples = [(o, i) for g in by_pair.values() for o in g.get("original", []) for i in g.get("intervened", [])]
    models = {}
    for path in preds:
        pset = read_predictions(path)
        labels, _ = parse_answers([pset.answers[pid] for pid in ids], probes["dimension"])
        models[pset.name] = {"labels": labels, "right": labels == gold}
    return {"probes": probes, "couples": couples, "models": models}


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    if path is None:
        pytest.skip("no chromium on this machine (apt-get install -y chromium; CI installs it)")
    from playwright.sync_api import sync_playwright  # the `test` extra installs it

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, demo):
    """The report page, with every console error, page error, failed request and request that
    leaves the report folder recorded in ``page.problems``."""
    _, _, report = demo
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    problems: list[str] = []
    root = report.resolve().as_uri()

    def route(r):
        if not r.request.url.startswith(root + "/"):
            problems.append(f"request outside the report: {r.request.url}")
            r.abort()
        else:
            r.continue_()

    pg.route("**/*", route)
    pg.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    pg.goto((report / "index.html").resolve().as_uri())
    pg.wait_for_selector("article.pair")
    pg.problems = problems
    yield pg
    context.close()


def _visible_cards(pg) -> int:
    return pg.locator("article.pair").filter(visible=True).count()


def _set_filters(pg, **values) -> None:
    for name in ("model", "dimension", "condition", "outcome", "reading"):
        pg.select_option(f"#f-{name}", values.get(name, "all"))


def test_the_page_loads_without_errors_or_network(page, demo):
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(300)
    assert page.problems == []
    assert page.locator("h1").inner_text() == "Thud report"
    _, _, report = demo
    for path in report.rglob("*"):  # nothing outside the folder is linked
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text().replace('"http://www.w3.org/2000/svg"', "")  # a namespace, not a link
            assert "http://" not in text and "https://" not in text, path
    assert (report / "thud_report.json").is_file()


def test_every_video_loads_its_metadata_with_the_probes_duration(page, demo, expected):
    _, _, report = demo
    probes = expected["probes"]
    duration_of = dict(zip(probes["probe_id"], probes["duration_s"], strict=True))
    videos = page.locator("article.pair video")
    n = videos.count()
    assert n == 2 * len(expected["couples"])
    for k in range(n):
        video = videos.nth(k)
        video.scroll_into_view_if_needed()
        video.evaluate("v => new Promise((ok, bad) => v.readyState >= 1 ? ok() : "
                       "(v.addEventListener('loadedmetadata', ok), v.addEventListener('error', () => bad(v.error))))")  # fmt: skip
        state, duration, src, pid = video.evaluate("v => [v.readyState, v.duration, v.getAttribute('src'), v.dataset.probe]")
        assert state >= 1
        # the file's own duration as PyAV reads it (its longest stream), and the probe's
        # duration up to the last audio frame (an AAC frame: 1024 samples)
        info = probe_media(report / src)
        streams = [d for d in (info.video.duration, *(a.duration for a in info.audio_streams)) if d]
        assert duration == pytest.approx(max(streams), abs=1e-3), src
        assert duration == pytest.approx(duration_of[pid], abs=1024 / info.audio.sample_rate + 1e-3), pid
    assert page.problems == []


def test_videos_load_only_near_the_viewport(page):
    page.evaluate("window.scrollTo(0, 0)")
    last = page.locator("article.pair video").last
    assert last.get_attribute("src") is None and last.get_attribute("preload") == "none"


def test_filters_show_the_expected_cards(page, expected):
    couples, probes, models = expected["couples"], expected["probes"], expected["models"]
    dims, conds = probes["dimension"], probes["condition"]
    assert _visible_cards(page) == len(couples)
    for d in ("sync", "existence", "consistency"):
        _set_filters(page, dimension=d)
        assert _visible_cards(page) == sum(dims[o] == d for o, _ in couples)
    _set_filters(page, condition="mute")
    assert _visible_cards(page) == sum(conds[i] == "mute" for _, i in couples)
    names = list(models)
    for m, name in enumerate(names):
        right = models[name]["right"]
        labels = models[name]["labels"]
        outcomes = {
            "clever-hans": [right[o] and not right[i] for o, i in couples],
            "pair-right": [right[o] and right[i] for o, i in couples],
            "pair-wrong": [not (right[o] and right[i]) for o, i in couples],
            "original-wrong": [not right[o] for o, _ in couples],
        }
        for outcome, hits in outcomes.items():
            _set_filters(page, model=str(m), outcome=outcome)
            assert _visible_cards(page) == sum(hits), (name, outcome)
            assert page.locator("#match-count").inner_text() == f"{sum(hits)} of {len(couples)} pairs"
            assert page.locator("article.pair tbody tr").count() == sum(hits)  # only the chosen model's rows
        for reading in ("silent", "synced"):
            _set_filters(page, model=str(m), reading=reading)
            assert _visible_cards(page) == sum(labels[o] == reading or labels[i] == reading for o, i in couples)
        _set_filters(page, model=str(m), dimension="consistency", outcome="clever-hans")
        assert _visible_cards(page) == sum(dims[o] == "consistency" and right[o] and not right[i] for o, i in couples)
    # any model: a card shows when one of them matches
    _set_filters(page, outcome="pair-right")
    assert _visible_cards(page) == sum(any(models[n]["right"][o] and models[n]["right"][i] for n in names) for o, i in couples)
    assert _visible_cards(page) > 0
    _set_filters(page)
    assert _visible_cards(page) == len(couples)


def test_the_clever_hans_view_lists_the_metrics_right_then_wrong_pairs(page, demo, expected):
    out, _, report = demo
    ids = expected["probes"]["probe_id"]
    results = json.loads((report / "results.json").read_text())["models"]
    for name, model in expected["models"].items():
        right = model["right"]
        want = {(ids[o], ids[i]) for o, i in expected["couples"] if right[o] and not right[i]}
        rows = page.locator(f'.ch-row[data-model="{name}"]')
        shown = {(rows.nth(k).get_attribute("data-original"), rows.nth(k).get_attribute("data-intervened"))
                 for k in range(rows.count())}  # fmt: skip
        assert shown == want, name
        # the metric's own numbers say the same: right on the original = both right + right-then-wrong
        r = results[name]
        from_metric = sum(
            round(r["accuracy"][d]["original"] * r["counts"]["pairs"][d] - r["pair_accuracy"][d] * r["counts"]["pairs"][d])
            for d in ("sync", "existence", "consistency")
        )
        assert len(shown) == from_metric
    assert page.locator('.ch-row[data-model="prior"]').count() == len(expected["couples"])  # never listens
    # "show" opens the pair's card in the explorer, with the filters set to it
    first = page.locator('.ch-row[data-model="signal"] a').first
    if first.count():
        first.click()
        assert page.locator("#f-outcome").input_value() == "clever-hans"
        assert page.locator("article.pair").filter(visible=True).count() >= 1


def test_the_summary_verdicts_strip_and_provenance(page, demo, expected):
    out, _, report = demo
    results = json.loads((report / "results.json").read_text())["models"]
    cell = page.locator('table.scores tr[data-model="prior"] td[data-key="avg_gap"]')
    lo, hi = results["prior"]["ci"]["avg_gap"]
    assert cell.locator(".v").inner_text() == f"{100 * results['prior']['avg_gap']:.1f}"
    assert cell.locator(".ci").inner_text() == f"[{100 * lo:.1f}, {100 * hi:.1f}]"
    prior = page.locator('.model-check[data-model="prior"]')
    assert "does_not_reach" in prior.inner_text()
    assert "WARNING: the audio never reached the model; these scores measure the serving path" in prior.inner_text()
    assert "refusal rate" in prior.inner_text()
    assert page.locator('.model-check[data-model="signal"] .warning').count() == 0
    build = json.loads((out / "build_report.json").read_text())
    provenance = page.locator("table.provenance").inner_text()
    for needle in (f"seed\t{build['settings']['seed']}", f"gap fill\t{build['settings']['gap_fill']}",
                   f"audio codec\t{build['settings']['audio_codec']}",
                   f"Thud version of the build\t{build.get('thud_version') or 'not recorded in build_report.json'}",
                   "report written by Thud"):  # fmt: skip
        assert needle in provenance
    # the strip of a shifted pair: the sound moved by tau, the seen time unmoved
    data = json.loads((report / "data.js").read_text().removeprefix("window.THUD_REPORT = ").rstrip(";\n"))
    k = next(k for k, (o, i) in enumerate(data["couples"]) if data["probes"][i]["condition"] == "shift")
    _set_filters(page)
    card = page.locator(f"#pair-{k}")
    card.scroll_into_view_if_needed()
    o, i = (data["probes"][j] for j in data["couples"][k])
    clip = data["clips"][o["clip"]]
    heard = [float(x) for x in card.locator("svg.strip line.heard").evaluate_all("ls => ls.map(l => l.getAttribute('x1'))")]
    seen = {float(x) for x in card.locator("svg.strip line.seen").evaluate_all("ls => ls.map(l => l.getAttribute('x1'))")}
    scale = (heard[1] - heard[0]) / (i["edited_audio_time"] - clip["audio_time"])
    assert i["edited_audio_time"] - clip["audio_time"] == pytest.approx(i["offset_s"], abs=1e-3)
    assert len(seen) == 1 and scale > 0
    # the envelope's loudest bin of the shifted sound sits tau after the original's
    env_o, env_i = (data["files"][p["file"]]["envelope"] for p in (o, i))
    bin_s = o["duration_s"] / len(env_o)
    lag = (int(np.argmax(env_i)) - int(np.argmax(env_o))) * bin_s
    assert lag == pytest.approx(i["offset_s"], abs=2 * bin_s)
    mute = next(data["probes"][i] for _, i in data["couples"] if data["probes"][i]["condition"] == "mute")
    assert max(data["files"][mute["file"]]["envelope"]) == 0  # digital silence, as decoded


def test_report_folder_rules(demo, tmp_path, capsys):
    out, preds, report = demo
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    code = thud_main(["report", str(out), str(preds[0]), "--out", str(foreign), "--n-resamples", "0", "--quiet"])
    assert code == 2
    assert "holds files Thud did not write" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me" and len(list(foreign.iterdir())) == 1
    # the demo wrote the same report: same pipeline, same numbers, byte for byte
    demo_report = out / "report"
    files = sorted(p.relative_to(report) for p in report.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(demo_report) for p in demo_report.rglob("*") if p.is_file())
    for rel in files:
        assert (report / rel).read_bytes() == (demo_report / rel).read_bytes(), rel
    # an earlier report is replaced, with nothing left of the work folders
    code = thud_main(["report", str(out), str(preds[1]), "--out", str(report), "--n-resamples", "0", "--quiet"])
    assert code == 0
    assert json.loads((report / "thud_report.json").read_text())["models"] == ["signal"]
    assert [p.name for p in report.parent.iterdir() if p.name.startswith(f".{report.name}.")] == []


def test_a_quiet_demo_prints_the_table_warnings_and_paths_only(demo):
    out, err = QUIET_DEMO["out"], QUIET_DEMO["err"]
    assert err == ""  # no progress bars: neither Thud's nor datasets'
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["model", "Orig", "Shift"]
    assert [line.split()[0] for line in lines[2:5]] == ["prior", "signal", "silence_cue"]
    assert lines[5] == "prior: WARNING: the audio never reached the model; these scores measure the serving path"
    assert lines[6].startswith(f"metric:      {demo[0].parent / 'thud_gap'}")  # where the files went
    assert lines[7:] == [
        f"results:     {demo[0] / 'scores' / 'results.json'}",
        f"report:      {demo[0] / 'report' / 'index.html'}  (open it in a browser)",
    ]


NASTY = [
    None,  # a failed call
    "<img src=x onerror=\"window.__hit = 1\">",
    "</script><script>window.__hit = 2</script>",
    "line\u2028separator & {{SUMMARY}} \"quotes\"",
    "I am sorry, I cannot process audio. I can only see the video frames.",  # a refusal
]


def test_answers_are_shown_as_text_never_run(browser, demo, tmp_path):
    out, preds, _ = demo
    ids = load_probes(out)["probe_id"]
    path = tmp_path / "nasty.jsonl"
    rows = [{"_meta": {"model": "<b>nasty</b>"}}]
    rows += [{"probe_id": pid, "answer": NASTY[k % len(NASTY)], "error": None if NASTY[k % len(NASTY)] else "timeout"}
             for k, pid in enumerate(ids)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = tmp_path / "report"
    assert thud_main(["report", str(out), str(path), "--out", str(report), "--n-resamples", "0", "--quiet"]) == 0
    pg = browser.new_page()
    problems = []
    pg.on("console", lambda m: m.type == "error" and problems.append(m.text))
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on("dialog", lambda d: (problems.append(f"dialog {d.message}"), d.dismiss()))
    pg.goto((report / "index.html").resolve().as_uri())
    pg.wait_for_selector("article.pair")
    pg.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    pg.wait_for_timeout(200)
    assert problems == [] and pg.evaluate("window.__hit") is None
    shown = pg.locator("td.raw").all_inner_texts()
    for text in NASTY[1:3]:
        assert text in shown
    assert "(no answer: failed call)" in shown
    assert pg.locator('.model-check[data-model="<b>nasty</b>"]').count() == 1  # the name, as text
    assert pg.locator("#f-reading option").all_inner_texts()[0] == "any"
    readings = pg.locator("#f-reading option").all_inner_texts()
    assert "unknown" in readings and "refused" in readings  # a refusal is its own reading
    refused = pg.locator("td.reading-refused")
    assert refused.count() > 0
    pg.select_option("#f-reading", "refused")
    assert pg.locator("article.pair").filter(visible=True).count() > 0
    assert "refusal rate: 2" in pg.locator('.model-check[data-model="<b>nasty</b>"]').inner_text()  # 1 in 5 answers
    pg.close()
