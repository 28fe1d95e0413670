"""Push to the Hub, exercised up to the network boundary (create_repo / create_commit)."""

from __future__ import annotations

import time

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi

import thud_dataset.hub.push as push
import thud_metrics.hub_space as hub_space
from tests.helpers.media import MP3, make_hub_folder
from thud_cli.main import main
from thud_dataset.hub.push import plan_dataset_upload, push_dataset
from thud_dataset.hub.upload import HubOfflineError, PushError, write_plan
from thud_metrics.hub_space import plan_metric_space, push_metric_space


class FakeHub:
    """Stands in for HfApi at the network boundary and records what it was asked."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.fail_on = fail_on

    def create_repo(self, **kw):
        self.calls.append(("create_repo", kw))
        if self.fail_on == "create_repo":
            raise ConnectionError("no route to host")
        return f"https://huggingface.co/{kw['repo_id']}"

    def create_commit(self, **kw):
        self.calls.append(("create_commit", kw))
        if self.fail_on == "create_commit":
            raise RuntimeError("403 Forbidden")
        return {"commit": len(self.calls)}


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)


@pytest.fixture
def no_network(monkeypatch):
    """Any real Hub call fails the test."""

    def boom(*a, **k):
        raise AssertionError("a network call was made")

    for name in ("create_repo", "create_commit", "upload_folder", "whoami", "repo_info"):
        monkeypatch.setattr(HfApi, name, boom)


def test_plan_lists_what_would_be_sent(hub_folder):
    (hub_folder / "notes.txt").write_text("local scribbles\n")
    plan = plan_dataset_upload(hub_folder)
    paths = [op.path_in_repo for op in plan.operations]
    assert paths == [
        "data/clips/test-00000-of-00001.parquet",
        "data/probes/original-00000-of-00001.parquet",
        "data/probes/shift-00000-of-00001.parquet",
        "build_report.json",
        "README.md",  # the card last: it never advertises files not yet uploaded
    ]
    assert all(isinstance(op, CommitOperationAdd) for op in plan.operations)
    assert plan.excluded == ["notes.txt"]
    assert plan.configs == {
        "probes": {
            "original": ["data/probes/original-00000-of-00001.parquet"],
            "shift": ["data/probes/shift-00000-of-00001.parquet"],
        },
        "clips": {"test": ["data/clips/test-00000-of-00001.parquet"]},
    }
    assert plan.warnings == [] and len(plan.commits) == 1
    text = plan.describe()
    assert "5 file(s)" in text and "not sent (1): notes.txt" in text


def test_plan_warnings_and_commit_batches(hub_folder, monkeypatch):
    (hub_folder / "build_report.json").unlink()
    monkeypatch.setattr(push, "SHARD_WARN_BYTES", 1000)
    monkeypatch.setattr(push, "HUB_COMMIT_MAX_FILES", 2)
    plan = plan_dataset_upload(hub_folder)
    assert any(
        "above the 500 MB shards" in w and "more, smaller shards" in w for w in plan.warnings
    )
    assert any("no build_report.json" in w for w in plan.warnings)
    assert [len(c) for c in plan.commits] == [2, 2]
    assert plan.commits[-1][-1].path_in_repo == "README.md"


def test_plan_refuses_broken_folders(tmp_path, real_clips_dir):
    video = (real_clips_dir / MP3).read_bytes()
    with pytest.raises(PushError, match="no dataset card"):
        plan_dataset_upload(tmp_path)
    folder = make_hub_folder(tmp_path / "paths", video, path_only=True)
    with pytest.raises(
        PushError,
        match=r"data/clips/test-00000-of-00001.parquet: column .video. has 2 row\(s\) whose media is a path, not embedded bytes",
    ):
        plan_dataset_upload(folder)
    folder = make_hub_folder(tmp_path / "gap", video)
    (folder / "data/probes/shift-00000-of-00001.parquet").unlink()
    with pytest.raises(
        PushError,
        match=r"config 'probes' split 'shift' names data/probes/shift-\*.parquet, which matches no file",
    ):
        plan_dataset_upload(folder)
    (folder / "README.md").write_text("# no front matter\n")
    with pytest.raises(PushError, match="no YAML front matter"):
        plan_dataset_upload(folder)


def test_push_goes_to_the_network_boundary(hub_folder, online):
    hub = FakeHub()
    result = push_dataset(hub_folder, "thud-org/thud", api=hub, private=True)
    assert result.counts == {"probes": {"original": 3, "shift": 2}, "clips": {"test": 2}}
    assert [c[0] for c in hub.calls] == ["create_repo", "create_commit"]
    assert hub.calls[0][1] == {
        "repo_id": "thud-org/thud",
        "repo_type": "dataset",
        "exist_ok": True,
        "private": True,
    }
    commit = hub.calls[1][1]
    assert commit["repo_type"] == "dataset" and commit["repo_id"] == "thud-org/thud"
    assert [op.path_in_repo for op in commit["operations"]] == [
        op.path_in_repo for op in result.plan.operations
    ]
    assert result.url == "https://huggingface.co/datasets/thud-org/thud"


def test_hub_errors_name_the_step(hub_folder, online):
    with pytest.raises(
        PushError, match="creating dataset repository 'thud-org/thud' failed: ConnectionError"
    ):
        push_dataset(hub_folder, "thud-org/thud", api=FakeHub("create_repo"), verify=False)
    with pytest.raises(
        PushError, match=r"commit 1/1 to 'thud-org/thud' failed: RuntimeError: 403 Forbidden"
    ):
        push_dataset(hub_folder, "thud-org/thud", api=FakeHub("create_commit"), verify=False)


def test_offline_fails_fast_before_any_work(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    # even a folder that does not exist: the offline check comes first
    with pytest.raises(HubOfflineError, match="HF_HUB_OFFLINE is set"):
        push_dataset(tmp_path / "nowhere", "thud-org/thud")
    with pytest.raises(HubOfflineError, match="--dry-run"):
        push_metric_space("thud-org/thud_gap", tmp_path / "nowhere")
    assert time.monotonic() - start < 1.0


def test_offline_mode_read_at_import_counts(hub_folder, monkeypatch, no_network):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(HubOfflineError):
        push_dataset(hub_folder, "thud-org/thud")


def test_dry_run_works_offline(hub_folder, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = push_dataset(hub_folder, "thud-org/thud", dry_run=True)
    assert result.commits == [] and result.counts["probes"]["shift"] == 2


def test_no_token_and_bad_repo_id(hub_folder, online, monkeypatch):
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(PushError, match="no Hugging Face token"):
        push_dataset(hub_folder, "thud-org/thud", verify=False)
    for bad in ("thud", "a/b/c", "org/na me"):
        with pytest.raises(PushError, match="repo id"):
            push_dataset(hub_folder, bad, dry_run=True)


def test_cli_push(hub_folder, monkeypatch, capsys, no_network):
    rc = main(["push", str(hub_folder), "--repo-id", "thud-org/thud", "--dry-run"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "data/probes/shift-00000-of-00001.parquet" in out
    assert "round-trip ok (load_dataset): probes: original=3, shift=2; clips: test=2" in out
    assert "dry run: nothing sent" in out
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rc = main(["push", str(hub_folder), "--repo-id", "thud-org/thud"])
    assert rc == 1
    assert (
        "thud push: pushing to the Hub needs the network, but HF_HUB_OFFLINE is set"
        in capsys.readouterr().err
    )


# ------------------------------------------------------------------ metric Space


@pytest.fixture
def metric_dir(tmp_path):
    d = tmp_path / "thud_gap"
    d.mkdir()
    (d / "thud_gap.py").write_text(
        '"""The metric."""\nimport json\n\nimport datasets\nimport evaluate\nimport numpy as np\n'
        "from thud_metrics.scores import score\n\n"
        "class ThudGap(evaluate.Metric):\n    pass\n"
    )
    (d / "README.md").write_text(
        "---\ntitle: thud_gap\ntags:\n- evaluate\n- metric\n- audio\n---\n\n# thud_gap\n\nCard.\n"
    )
    (d / "notes.bin").write_bytes(b"\x00")
    return d


def test_metric_space_layout(metric_dir, tmp_path):
    plan = plan_metric_space(
        metric_dir, "thud-org/thud_gap", requirements=["thud @ git+https://example.org/thud"]
    )
    files = {op.path_in_repo: op for op in plan.operations}
    assert list(files) == ["thud_gap.py", "app.py", "requirements.txt", "README.md"]
    assert plan.repo_type == "space" and plan.excluded == ["notes.bin"]
    written = write_plan(plan, tmp_path / "space")
    app = (written / "app.py").read_text()
    assert "from evaluate.utils import launch_gradio_widget" in app
    assert 'evaluate.load("thud-org/thud_gap")' in app and "launch_gradio_widget(module)" in app
    reqs = (written / "requirements.txt").read_text().splitlines()
    assert reqs[:2] == ["evaluate>=0.4.6", f"gradio=={hub_space.DEFAULT_GRADIO_VERSION}"]
    assert {"datasets", "numpy", "thud @ git+https://example.org/thud"} <= set(reqs)
    assert "json" not in reqs and not any(r.startswith("thud_metrics") for r in reqs)
    readme = (written / "README.md").read_text()
    meta = yaml.safe_load(readme.split("---", 2)[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["tags"] == ["evaluate", "metric", "audio"] and meta["title"] == "thud_gap"
    assert readme.rstrip().endswith("Card.")
    assert plan.warnings == []


def test_metric_space_warns_about_missing_thud_and_renames(metric_dir):
    plan = plan_metric_space(metric_dir, "thud-org/thud-metric")
    names = [op.path_in_repo for op in plan.operations]
    assert names[0] == "thud-metric.py"  # evaluate loads the script named after the repo
    assert any("uploaded as thud-metric.py" in w for w in plan.warnings)
    assert any("imports thud_metrics, which is not on PyPI" in w for w in plan.warnings)


def test_push_metric_space_to_the_boundary(metric_dir, online):
    hub = FakeHub()
    push_metric_space("thud-org/thud_gap", metric_dir, api=hub, requirements=["thud"])
    assert hub.calls[0] == (
        "create_repo",
        {
            "repo_id": "thud-org/thud_gap",
            "repo_type": "space",
            "exist_ok": True,
            "private": False,
            "space_sdk": "gradio",
        },
    )
    assert hub.calls[1][1]["repo_type"] == "space"


def test_cli_push_metric_dry_run(metric_dir, tmp_path, capsys):
    rc = main(
        [
            "push-metric",
            "--repo-id",
            "thud-org/thud_gap",
            "--metric-dir",
            str(metric_dir),
            "--dry-run",
            "--write",
            str(tmp_path / "space"),
        ]
    )
    assert rc == 0
    assert (tmp_path / "space" / "app.py").is_file()
    assert (
        "would push to https://huggingface.co/spaces/thud-org/thud_gap" in capsys.readouterr().out
    )


def test_the_real_metric_folder_makes_a_loadable_space(tmp_path):
    """The Space built from thud_metrics.THUD_GAP loads with evaluate (Thud installed here)."""
    import evaluate

    from thud_metrics import THUD_GAP

    plan = plan_metric_space(
        None, "thud-org/thud_gap", requirements=["thud @ git+https://example.org/thud"]
    )
    names = [op.path_in_repo for op in plan.operations]
    assert names[0] == "thud_gap.py" and {"app.py", "requirements.txt", "README.md"} <= set(names)
    assert plan.folder == THUD_GAP or str(plan.folder) == str(THUD_GAP)
    space = write_plan(plan, tmp_path / "thud_gap")
    module = evaluate.load(str(space))
    assert module.name == "thud_gap"
