"""The profile's GPU settings (issue 20): bf16 autocast in the video, generative and LLM
trainers, and cuDNN's kernel timing in the full profile. Autocast runs on the CPU too, so the
trainers are checked here: their training steps compute in bfloat16 when asked (and only then),
their evaluations stay float32, and their losses stay close to float32 training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from f2p import utils


def test_bf16_is_off_in_the_fast_profile_and_follows_cuda_in_the_full_one(monkeypatch):
    monkeypatch.delenv("F2P_BF16", raising=False)
    assert not utils.profile("fast").bf16 and utils.profile("fast").reproducible
    assert utils.profile("full").bf16 == torch.cuda.is_available()
    assert not utils.profile("full").reproducible
    monkeypatch.setenv("F2P_BF16", "1")
    assert utils.profile("fast").bf16
    monkeypatch.setenv("F2P_BF16", "yes")
    with pytest.raises(ValueError, match="F2P_BF16='yes': expected 0 or 1"):
        utils.profile("fast")


@pytest.mark.parametrize("name, benchmark", [("fast", False), ("full", True)])
def test_setup_lets_cudnn_time_its_kernels_only_in_the_full_profile(monkeypatch, name, benchmark):
    before = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    monkeypatch.setenv("F2P_PROFILE", name)
    monkeypatch.setenv("F2P_THREADS", str(torch.get_num_threads()))
    try:
        utils.setup()
        assert torch.backends.cudnn.benchmark is benchmark
        assert torch.backends.cudnn.deterministic is not benchmark
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = before


def dtypes_seen(model: nn.Module) -> dict[bool, set[torch.dtype]]:
    """The output dtypes of the model's linear and convolution layers, in training mode (True)
    and in evaluation mode (False), recorded as the trainer runs."""
    seen: dict[bool, set[torch.dtype]] = {True: set(), False: set()}
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv2d | nn.Conv3d):
            module.register_forward_hook(
                lambda m, _, out: seen[m.training].add(out.dtype)  # type: ignore[union-attr]
            )
    return seen


def video(bf16: bool) -> tuple[float, dict]:
    from f2p.video import data, zoo
    from f2p.video.train import train_classifier

    train = data.VideoClips(16, "temporal", seed=0, size=16)
    test = data.VideoClips(8, "temporal", seed=1, size=16)
    recipe = zoo.recipe("TSM")
    torch.manual_seed(0)
    model = recipe.build(len(train.classes), (4, 8, 8), 8)
    seen = dtypes_seen(model)
    history = train_classifier(
        model, train, test, 1, 8, transform=recipe.transform, progress=False, bf16=bf16
    )
    return history.loss[0], seen


def generative(bf16: bool) -> tuple[float, dict]:
    from f2p import generative as g

    data = g.load_digits_binary()
    torch.manual_seed(0)
    model = g.MADE(64, [32])
    seen = dtypes_seen(model)
    config = g.FitConfig(epochs=1, batch_size=32, bf16=bf16)
    history = g.fit(model, data.train[:128], data.valid[:32], config, progress=False)
    return history.train_nll[0], seen


def llm(bf16: bool) -> tuple[float, dict]:
    from f2p.llm.model import GPT, GPTConfig
    from f2p.llm.tasks import sample_problems
    from f2p.llm.train import WarmupConfig, evaluate, warmup

    torch.manual_seed(0)
    model = GPT(GPTConfig(layers=1, heads=2, width=32, context=40))
    seen = dtypes_seen(model)
    losses = warmup(model, WarmupConfig(digits=(1,), steps=3, batch=8, bf16=bf16), progress=False)
    model.eval()
    evaluate(model, sample_problems(2, 1, torch.Generator().manual_seed(0)), k=1)
    return losses[0], seen


@pytest.mark.parametrize("trainer", [video, generative, llm], ids=lambda t: t.__name__)
def test_bf16_trains_in_bfloat16_evaluates_in_float32_and_stays_near_float32(trainer):
    full_loss, full_seen = trainer(bf16=False)
    half_loss, half_seen = trainer(bf16=True)
    assert full_seen[True] == {torch.float32}
    assert half_seen[True] == {torch.bfloat16}  # every layer of the training step
    assert half_seen[False] <= {torch.float32}  # evaluation is not under autocast
    assert half_loss == pytest.approx(full_loss, rel=0.05)  # the first losses, same seed
