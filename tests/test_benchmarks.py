"""The benchmark scripts run and write valid results files (tiny sizes; figures not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from f2p import results

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script, args",
    [
        ("ch07_nade_speed.py", ["--dim", "16", "--hidden", "8", "--batch", "4", "--samples", "2"]),
        ("ch07_nade_mnist.py", ["--dataset", "digits", "--hidden", "8", "--epochs", "2"]),
        ("ch08_a2c_vs_sb3.py", ["--seeds", "0", "--steps", "800", "--eval-every", "400"]),
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
                + ["--epochs", "1", "--size", "16"],
            )
            for chapter in ("03", "04", "05")
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
            "ch11_rollout_speed.py",
            ["--batch", "8", "--tokens", "6", "--iterations", "1", "--warmup-steps", "2"],
        ),
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
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--out", str(out)],
        check=True,
        capture_output=True,
        env={"F2P_PROFILE": "fast", "PATH": "/usr/bin:/bin"},
    )
    (loaded,) = results.load(tmp_path)
    chapter = args[args.index("--chapter") + 1] if "--chapter" in args else script[2:4]
    assert loaded["chapter"] == chapter and loaded["rows"]
