"""f2p.utils: device choice, seeding, profiles, threads, timer, plot style."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from f2p import utils


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("F2P_PROFILE", "F2P_DEVICE", "F2P_THREADS"):
        monkeypatch.delenv(var, raising=False)


def test_device_defaults_to_cuda_only_when_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert utils.device().type == expected


def test_device_override(monkeypatch):
    monkeypatch.setenv("F2P_DEVICE", "cpu")
    assert utils.device() == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu0", "tpu", "meta"])
def test_unknown_device_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("F2P_DEVICE", bad)
    with pytest.raises(ValueError, match="F2P_DEVICE"):
        utils.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_request_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("F2P_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        utils.device()


def test_seed_everything_reproduces_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3).tolist()

    gen = utils.seed_everything(123)
    first = draw(), torch.rand(2, generator=gen).tolist()
    gen = utils.seed_everything(123)
    assert (draw(), torch.rand(2, generator=gen).tolist()) == first
    utils.seed_everything(124)
    assert draw() != first[0]
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match="seed"):
        utils.seed_everything(bad)


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("F2P_PROFILE", "full")
    prof = utils.profile()
    assert prof.name == "full" and prof.pick(fast=1, full=2) == 2
    monkeypatch.setenv("F2P_PROFILE", " FAST ")
    prof = utils.profile()
    assert prof.name == "fast" and prof.pick(fast=1, full=2) == 1 and prof.threads == 1


def test_profile_default_follows_hardware():
    assert utils.profile().name == ("full" if torch.cuda.is_available() else "fast")


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("F2P_PROFILE", "medium")
    with pytest.raises(ValueError, match="unknown profile 'medium'.*fast, full"):
        utils.profile()
    with pytest.raises(ValueError, match="unknown profile"):
        utils.profile("turbo")


def test_thread_override(monkeypatch):
    monkeypatch.setenv("F2P_THREADS", "3")
    assert utils.profile("fast").threads == 3
    monkeypatch.setenv("F2P_THREADS", "zero")
    with pytest.raises(ValueError, match="F2P_THREADS"):
        utils.profile("fast")


def test_set_threads():
    before = torch.get_num_threads()
    try:
        utils.set_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="positive int"):
        utils.set_threads(0)


def test_timer_measures_and_guards():
    with utils.Timer() as t:
        torch.ones(1000).sum()
    assert t.seconds > 0
    with pytest.raises(RuntimeError, match="before Timer.start"):
        utils.Timer().stop()


def test_timer_waits_for_cuda_only_when_cuda_is_in_use(monkeypatch):
    """GPU kernels run asynchronously: the timer synchronises at start and stop when CUDA is
    initialised, and never touches CUDA otherwise."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: calls.append("sync"))
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    with utils.Timer():
        pass
    assert calls == []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert len(utils.warm_timings(lambda: None, repeats=2, warmup=0)) == 2
    assert calls == ["sync"] * 4


def test_plot_style_has_white_background():
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    with utils.plot_style():
        fig = plt.figure()
        assert mpl.colors.to_hex(fig.get_facecolor()) == "#ffffff"
        plt.close(fig)


def test_setup_returns_profile_and_device(monkeypatch):
    monkeypatch.setenv("F2P_PROFILE", "fast")
    monkeypatch.setenv("F2P_DEVICE", "cpu")
    before = torch.get_num_threads()
    try:
        prof, dev = utils.setup(seed=0)
        assert prof.name == "fast" and dev.type == "cpu" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_show_source_is_the_code_that_runs_as_a_python_block():
    import inspect

    from f2p.rl import trpo

    shown = utils.show_source("f2p.rl.trpo.conjugate_gradient")
    assert repr(shown) == inspect.getsource(trpo.conjugate_gradient).rstrip()
    block = shown._repr_markdown_()
    assert block.startswith("```python\ndef conjugate_gradient(") and block.endswith("\n```")
    method = utils.show_source("f2p.oad.models.IDUCell.forward", first_lines=2)
    assert repr(method).splitlines()[0].startswith("def forward(self")  # dedented
    assert repr(method).splitlines()[1].startswith("    ") and len(repr(method).splitlines()) == 2


@pytest.mark.parametrize(
    "name",
    [
        "f2p.rl.trpo.conjugate_gradient",
        "f2p.oad.models.IDUCell.forward",
        "f2p.utils.Source",  # a decorated class: the decorator is part of its source
    ],
)
def test_show_source_without_importing_reads_the_same_code(name):
    assert repr(utils.show_source(name, import_module=False)) == repr(utils.show_source(name))


def test_show_source_without_importing_leaves_the_module_and_its_dependencies_unloaded():
    code = (
        "import sys; from f2p import utils; "
        "shown = utils.show_source('f2p.llm.trl_bridge.K15Trainer._compute_loss', "
        "import_module=False); "
        "assert repr(shown).startswith('def _compute_loss(self, model, inputs):'), repr(shown); "
        "assert 'f2p.llm.trl_bridge' not in sys.modules and 'trl' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_show_source_fences_code_that_contains_backticks():
    fenced = utils.Source("x", 'doc = """```python\nx\n```"""\n')._repr_markdown_()
    assert fenced.startswith("````python\n") and fenced.endswith("\n````")


@pytest.mark.parametrize("name", ["nothing", "f2p.rl.trpo.no_such_name", "f2p.utils.PROFILES"])
@pytest.mark.parametrize("import_module", [True, False])
def test_show_source_rejects_what_is_not_a_function_or_class(name, import_module):
    with pytest.raises(ValueError, match="show_source"):
        utils.show_source(name, import_module=import_module)


def test_learning_curve_legends_name_the_seeds_and_figures_fit_the_column():
    import matplotlib

    matplotlib.use("Agg")
    from f2p.rl.plots import learning_curves

    one = [([0, 10], [1.0, 2.0])]
    three = one * 3
    ax = learning_curves({"A2C": one, "SB3": three})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["A2C (1 seed)", "SB3 (mean of 3 seeds, min to max shaded)"]
    assert ax.figure.get_figwidth() <= utils.FIGURE_WIDTH


def test_empty_f2p_and_omp_variables_count_as_unset(tmp_path):
    """An empty OMP_NUM_THREADS in a build's environment put "libgomp: Invalid value for
    environment variable OMP_NUM_THREADS" on three pages (issue 39): importing f2p drops empty
    F2P_* and OMP_* variables before torch loads, for itself and every process it starts."""
    code = (
        "import pathlib, subprocess, sys, f2p\n"
        "PREFIXES = ('F2P_', 'OMP_')\n"
        "from f2p.generative.mnist import cache_dir\n"
        "prof = f2p.utils.profile()\n"
        "print(prof.name, prof.threads, prof.processes, cache_dir() != pathlib.Path())\n"
        "child = 'import os; print(sorted(k for k in os.environ if k[:4] in %r))' % (PREFIXES,)\n"
        "subprocess.run([sys.executable, '-c', child], check=True)\n"
    )
    empty = dict.fromkeys(
        ["OMP_NUM_THREADS", "OMP_PROC_BIND", "F2P_PROFILE", "F2P_THREADS", "F2P_PROCESSES",
         "F2P_DEVICE", "F2P_BF16", "F2P_DATA"], "",
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("F2P_", "OMP_"))}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, **empty, "CUDA_VISIBLE_DEVICES": "", "F2P_THREADS": " "},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "libgomp" not in done.stderr and "Invalid value" not in done.stderr, done.stderr
    assert done.stdout.split("\n")[:2] == ["fast 1 1 True", "[]"], done.stdout
