"""The benchmark scripts run and write valid results files (tiny sizes; figures not checked)."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from f2p import results

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script, args",
    [
        (
            "ch02_tsn.py",
            ["--seeds", "0", "--train", "24", "--test", "12", "--long", "16", "--size", "16"]
            + ["--epochs", "1", "--pretrain", "1", "--transfer", "1"],
        ),
        # one launch: two processes under torchrun are test_distributed's torchrun run
        ("ch02_ddp.py", ["--processes", "1", "--clips", "16", "--epochs", "1"]),
        ("ch08_vector_envs.py", ["--envs", "2", "--steps", "40", "--a2c-steps", "80"]),
        (
            "ch00_threads.py",
            [
                "--a2c-steps",
                "40",
                "--updates",
                "2",
                "--batch",
                "4",
                "--tokens",
                "2",
                "--repeats",
                "1",
            ],
        ),
        ("ch07_nade_speed.py", ["--dim", "16", "--hidden", "8", "--batch", "4", "--samples", "2"]),
        ("ch07_nade_mnist.py", ["--dataset", "digits", "--hidden", "8", "--epochs", "2"]),
        (
            "ch07_real_mnist.py",
            ["--seeds", "0", "--epochs", "1", "--models", "FVSBN", "--sizes", "100"],
        ),
        ("ch08_a2c_vs_sb3.py", ["--seeds", "0", "--steps", "800", "--eval-every", "400"]),
        ("ch08_pendulum_replay.py", ["--seeds", "0", "--steps", "400"]),
        ("ch08_qac_baseline.py", ["--seeds", "0", "1", "--steps", "400"]),
        (
            "ch09_ddpg_vs_sb3.py",
            [
                "--seeds",
                "0",
                "--steps",
                "600",
                "--warmup",
                "400",
                "--eval-every",
                "200",
                "--eval-episodes",
                "1",
            ],
        ),
        *(
            (
                "video_models.py",
                ["--chapter", chapter, "--seeds", "0", "--train", "24", "--test", "12"]
                + ["--epochs", "1", "--size", "16", "--timing-batch", "8", "--timing-repeats", "1"],
            )
            for chapter in ("04", "05")  # 03: test_video_benchmark_retrains_only_the_named_models
        ),
        (
            "ch06_online_detection.py",
            [
                "--seeds",
                "0",
                "--train-streams",
                "2",
                "--test-streams",
                "2",
                "--epochs",
                "1",
                "--encoder-clips",
                "40",
            ],
        ),
        (
            "ch06_idn_tuning.py",
            ["--seeds", "0", "--train-streams", "3", "--validation-streams", "1"]
            + ["--epochs", "1", "--encoder-clips", "40"],
        ),
        (
            "ch11_rollout_speed.py",
            ["--batch", "8", "--tokens", "6", "--iterations", "1", "--warmup-steps", "2"],
        ),
        (
            "ch11_trl.py",
            ["--seeds", "0", "--warmup-steps", "2", "--iterations", "1", "--test", "4"],
        ),
        (
            "ch10_step_size.py",
            ["--seeds", "0", "--steps", "2048", "--eval-every", "1024", "--eval-episodes", "1"],
        ),
        ("ch10_cg_trained.py", ["--seeds", "0", "--steps", "1024", "--hidden", "8"]),
        (
            "ch10_trpo_vs_sb3.py",
            ["--seeds", "0", "--steps", "2048", "--eval-every", "1024", "--eval-episodes", "1"],
        ),
    ],
)
def test_benchmark_writes_results(tmp_path, script, args):
    if "sb3" in script:
        pytest.importorskip("stable_baselines3", reason="needs the bench extra")
    if "trpo" in script:
        pytest.importorskip("sb3_contrib", reason="needs the bench extra")
    if "trl" in script:
        pytest.importorskip("trl", reason="needs the scale extra")
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--out", str(out)],
        check=True,
        capture_output=True,
        env={"F2P_PROFILE": "fast", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
        | {"HF_HUB_OFFLINE": "1"},  # TRL's libraries: nothing from the Hub
    )
    (loaded,) = results.load(tmp_path)
    chapter = args[args.index("--chapter") + 1] if "--chapter" in args else script[2:4]
    assert loaded["chapter"] == chapter and loaded["rows"]


@pytest.fixture(scope="module")
def harness():
    with pytest.MonkeyPatch.context() as patch:  # the benchmarks' folder, for this module only
        patch.syspath_prepend(str(BENCHMARKS))
        import sb3_harness

        yield sb3_harness


GOOD_HEADER = dict(chapter="10", benchmark="b", command="c", profile="full", device="cpu")


def test_censored_median_counts_seeds_that_never_reached_the_target(harness):
    # 3 seeds, one never sustained: the median is the larger of the other two, not their mean
    assert harness.censored_median([10.0, None, 30.0], [100, 100, 100]) == (30.0, False)
    # two of three never did: the median is censored, a lower bound at the budget
    assert harness.censored_median([None, 20.0, None], [100, 100, 90]) == (90.0, True)
    assert harness.censored_median([4.0, 2.0], [9, 9]) == (3.0, False)  # even count: the mean
    assert harness.censored_median([4.0, None], [9, 9]) == (6.5, True)  # bounded below
    row = harness.sustained_row(
        "steps",
        "steps_to_sustained",
        [{"steps_to_sustained": None, "budget_steps": 50, "evaluations_sustained": 0}] * 2,
        [{"steps_to_sustained": 7, "budget_steps": 50, "evaluations_sustained": 4}],
        "ref",
    )
    assert row["ours"] == 50 and row["reference"] == 7 and row["censored"] == ["ours"]
    assert row["quantity"] == "steps"  # no median rests on a final evaluation alone
    results.validate({**GOOD_HEADER, "rows": [row]})


def test_a_median_resting_on_the_final_evaluation_alone_is_marked(harness):
    """Seed 1 sustains only at its last evaluation, so its 'steps to sustained' is its whole
    budget; when it sits at the median, the row says so."""
    returns = {0: [10, 500, 500, 500], 1: [10, 20, 30, 500], 2: [10, 20, 30, 40]}
    ours = [harness.summarise([0, 1, 2, 3], r, [0, 1, 2, 3], {"all": 3.0}, 3, 475) for r in
            returns.values()]  # fmt: skip
    assert [r["evaluations_sustained"] for r in ours] == [3, 1, 0]
    assert harness.censored_middle([r["steps_to_sustained"] for r in ours], [3, 3, 3]) == [1]
    row = harness.sustained_row("steps", "steps_to_sustained", ours, ours[:1], "ref")
    assert row["ours"] == 3 and row["reference"] == 1
    assert row["quantity"].endswith("only at its final evaluation: ours)")


def test_sb3_is_evaluated_at_the_same_step_counts_as_our_trainer(harness):
    """Both sides evaluate the policy trained on exactly the same number of steps."""
    pytest.importorskip("sb3_contrib", reason="needs the bench extra")
    from sb3_contrib import TRPO
    from stable_baselines3.common.env_util import make_vec_env

    from f2p.rl.trpo import TRPOConfig, train_trpo

    config = TRPOConfig.zoo("CartPole-v1", total_steps=5120, eval_every=1500, eval_episodes=1)
    _, ours, _ = train_trpo(config, seed=0, progress=False)
    envs = make_vec_env("CartPole-v1", n_envs=config.num_envs, seed=0)
    model = TRPO("MlpPolicy", envs, n_steps=config.n_steps, seed=0, device="cpu")
    steps, *_ = harness.learn_with_evaluation(model, 5120, "CartPole-v1", 1500, 1, 0)
    assert ours.eval_steps == steps == [0, 2048, 3072, 5120]


def test_video_benchmark_retrains_only_the_named_models(tmp_path):
    out = tmp_path / "result.json"
    tiny = ["--chapter", "03", "--seeds", "0", "--train", "24", "--test", "12", "--epochs", "1"]
    tiny += ["--size", "16", "--timing-batch", "8", "--timing-repeats", "1", "--out", str(out)]
    env = {"F2P_PROFILE": "fast", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    script = [sys.executable, str(BENCHMARKS / "video_models.py")]
    subprocess.run(script + tiny, check=True, capture_output=True, env=env)
    (first,) = results.load(tmp_path)
    assert first["chapter"] == "03" and first["rows"]  # the chapter-03 run of the smoke tests
    before = {r["quantity"]: r["ours"] for r in first["rows"]}
    (tmp_path / "result.json").rename(tmp_path / "kept.json")
    kept = tmp_path / "kept.json"
    tiny[tiny.index(str(out))] = str(kept)
    subprocess.run(script + tiny + ["--retrain", "TSM"], check=True, capture_output=True, env=env)
    (after,) = results.load(tmp_path)
    after_rows = {r["quantity"]: r["ours"] for r in after["rows"]}
    assert "accuracy of TSM from this run" in after["benchmark"]
    kept_rows = [q for q in before if "accuracy" in q and not q.startswith("TSM")]
    assert kept_rows and all(after_rows[q] == before[q] for q in kept_rows)
    assert set(after_rows) == set(before)
    subprocess.run(script + tiny + ["--retrain"], check=True, capture_output=True, env=env)
    (costs_only,) = results.load(tmp_path)
    rows = {r["quantity"]: r["ours"] for r in costs_only["rows"]}
    assert "accuracy from earlier runs" in costs_only["benchmark"]
    accuracies = [q for q in before if "accuracy" in q]
    assert all(rows[q] == after_rows[q] for q in accuracies)  # nothing retrained
    failed = subprocess.run(script + tiny + ["--retrain", "nope"], capture_output=True, env=env)
    assert failed.returncode != 0 and b"unknown models" in failed.stderr


TINY_CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter in one cell

```{code-cell} ipython3
from IPython.display import Markdown

import f2p

prof, dev = f2p.utils.setup()
Markdown(f"**Reading**: {6 * 7} in the {prof.name} profile on {dev}")
```
"""


STUCK_CHAPTER = TINY_CHAPTER.replace("Markdown(f", "import time\n\ntime.sleep(20)\nMarkdown(f")


def test_the_suite_runs_a_chapter_and_records_what_it_used(tmp_path):
    """The suite's whole path (a child process per job, the run report written at exit, the
    headline, the kept notebook, the summary) on a one-cell chapter; and a run cut short (as by a
    time limit on a lent GPU machine) leaves the summary of the jobs that finished."""
    chapters = tmp_path / "chapters"
    for name, text in (("00_tiny", TINY_CHAPTER), ("01_stuck", STUCK_CHAPTER)):
        (chapters / name).mkdir(parents=True)
        (chapters / name / f"{name}.md").write_text(text)
    out, summary_path = tmp_path / "out", tmp_path / "s.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(BENCHMARKS / "suite.py"), "--profile", "fast", "--device"]
    command += ["cpu", "--jobs", "1", "--chapters", str(chapters), "--summary", str(summary_path)]
    command += ["--out", "out"]  # relative: the kernel, in the chapter's folder, still reports
    run = subprocess.Popen(command, env=env, cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not summary_path.is_file() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the stuck chapter's job with it
        run.wait()
    summary = json.loads(summary_path.read_text())
    tiny, stuck = summary["jobs"]
    assert tiny["name"] == "00_tiny" and tiny["status"] == "passed" and tiny["seconds"] > 0
    assert tiny["device"] == "cpu" and tiny["peak_gpu_bytes"] is None
    assert tiny["headline"] == ["**Reading**: 42 in the fast profile on cpu"]
    assert stuck["name"] == "01_stuck" and stuck["status"] == "not run"
    assert summary["threads_per_job"] == 1
    assert (out / "00_tiny.ipynb").is_file()  # the executed notebook is kept


def test_the_suite_refuses_unknown_jobs_by_name(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import suite

    with pytest.raises(SystemExit, match=r"unknown jobs \['nope'\]; known: \['00_getting"):
        suite.plan("fast", ["00_getting_started", "nope"])


def test_the_suite_reports_a_job_whose_data_is_missing_as_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("F2P_DATA", str(tmp_path))
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import suite

    importlib.reload(suite)  # its data paths follow F2P_DATA
    jobs = {job.name: job for job in suite.plan("full", ["07_autoregressive", "ch02_tsn"])}
    assert jobs["07_autoregressive"].status == "skipped"
    assert str(tmp_path / "mnist") in jobs["07_autoregressive"].error
    assert jobs["ch02_tsn"].status == "not run"
    assert [job.kind for job in suite.plan("fast", None)] == ["notebook"] * 12


def test_the_suite_starts_its_longest_jobs_first(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import suite

    recorded = json.loads((results.SUITE_DIR / "fast.json").read_text())["jobs"]
    seconds = {job["name"]: job["seconds"] for job in recorded}
    ordered = suite.longest_first(suite.plan("fast", None), "fast")
    assert [seconds[job.name] for job in ordered] == sorted(seconds.values(), reverse=True)
    unknown = suite.Job("a job never timed", "benchmark")
    assert suite.longest_first([*ordered, unknown], "fast")[0] is unknown


def test_the_gpu_wheels_are_what_the_image_lacks_for_python_3_12(monkeypatch):
    """The wheels for an offline GPU machine: the requirements of the suite's packages, walked
    for Python 3.12, without what the machine's image already holds."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import gpu_wheels

    wanted = gpu_wheels.needed(gpu_wheels.ROOTS)
    assert {"gymnasium", "nbclient", "jupyter-client", "pyzmq", "ipykernel", "myst-nb"} <= set(
        wanted
    )
    assert not set(wanted) & gpu_wheels.ON_THE_IMAGE  # torch, numpy, ... are not carried
    assert wanted["nbclient"] == importlib.metadata.version("nbclient")  # the versions tested here
    without_image = gpu_wheels.needed(["nbclient"], present=set())
    assert {"jupyter-core", "traitlets"} <= set(without_image)
    # a requirement for older Pythons only is left out: exceptiongroup is for Python < 3.11
    assert "exceptiongroup" not in gpu_wheels.needed(["pytest"], present=set())
    with pytest.raises(SystemExit, match="not-a-package is needed on the GPU machine"):
        gpu_wheels.needed(["not-a-package"])
