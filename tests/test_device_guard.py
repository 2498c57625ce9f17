"""The wrong-device guard (f2p.device_guard): it catches a trainer that leaves a tensor on the
host, and every trainer of the package runs under it without a violation (on the CPU, where a
misplaced tensor would otherwise go unseen until a GPU run)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from f2p.device_guard import DeviceGuard, WrongDevice, on_device


def toy_trainer(device, forget_labels=False, host_noise=False, numpy_on_device=False) -> float:
    """A small classifier's training loop, with three ways to get the device wrong."""
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(32, 4, generator=gen), torch.randint(3, (32,), generator=gen)
    for idx in torch.randperm(32, generator=gen).split(8):
        logits = model(x[idx].to(device))
        noise = torch.randn(logits.shape) if host_noise else torch.randn_like(logits)
        labels = y[idx] if forget_labels else y[idx].to(device)
        loss = F.cross_entropy(logits + 0.01 * noise, labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    predicted = model(x.to(device)).argmax(1)
    predicted = predicted.numpy() if numpy_on_device else predicted.cpu().numpy()
    return float((torch.as_tensor(predicted) == y).float().mean())


def test_the_guard_passes_a_correct_trainer_and_catches_each_misplaced_tensor():
    with DeviceGuard() as guard:
        toy_trainer("cpu")
    guard.check()  # nothing misplaced
    for mistake, op in [
        ("forget_labels", "cross_entropy"),
        ("host_noise", "add"),
        ("numpy_on_device", "numpy"),
    ]:
        with DeviceGuard() as guard:
            toy_trainer("cpu", **{mistake: True})
        with pytest.raises(WrongDevice, match=rf"{op} at .*test_device_guard.py:\d+"):
            guard.check()
        assert {v.op for v in guard.violations} == {op}, (mistake, guard.report())


def test_the_guard_follows_moves_and_allows_what_cuda_allows():
    host = torch.ones(3)
    with DeviceGuard() as guard:
        moved = host.to("cpu")
        assert on_device(moved) and not on_device(host)  # the input keeps its place
        assert on_device(moved.to(torch.float64))  # a dtype alone does not move it
        assert not on_device(moved.cpu()) and on_device(host.to(moved))
        assert on_device(torch.zeros(2, device="cpu")) and not on_device(torch.zeros(2))
        layer = torch.nn.Linear(3, 2).to("cpu")
        assert all(on_device(p) for p in layer.parameters())
        moved * torch.tensor(2.0)  # a 0-dimensional host tensor is a scalar to CUDA too
        assert on_device(moved + 1)
    guard.check()
    with DeviceGuard() as guard:
        moved[torch.tensor([0, 2])]  # a host index into a device tensor: a copy every step
    assert [v.op for v in guard.violations] == ["__getitem__"]


def video_trainer(device: str) -> None:
    from f2p.video import data, zoo
    from f2p.video.train import train_classifier

    train = data.VideoClips(8, "temporal", seed=0, size=16)
    test = data.VideoClips(4, "temporal", seed=1, size=16)
    for name in zoo.ZOO:
        recipe = zoo.recipe(name)
        model = recipe.build(len(train.classes), (4, 8, 8), 8)
        train_classifier(
            model, train, test, 1, 4, transform=recipe.transform, device=device, progress=False
        )


def detection_trainer(device: str) -> None:
    from f2p.oad import data, models, train

    d, k, t = 6, len(data.CLASSES), 5
    gen = torch.Generator().manual_seed(0)
    labels = [torch.randint(k, (20,), generator=gen) for _ in range(2)]
    features = [torch.randn(20, d, generator=gen) for _ in labels]
    windows = data.ChunkStreams(features, labels).windows(t, future=3)
    for model in [
        models.ChunkClassifier(d, k),
        models.RNNDetector(d, k, 8, kind="lstm"),
        models.TemporalRecurrentNet(d, k, 8, future=3),
        models.IDN(d, k, 8, 8),
        models.OadTR(d, k, t, d_model=16, heads=2, future=3),
    ]:
        train.fit(model, windows, epochs=1, batch=16, device=device)
        train.evaluate(model, windows, device=device)


def generative_trainer(device: str) -> None:
    from f2p import generative as g

    data = g.load_digits_binary()
    small = data.train[:64]
    models = [g.FVSBN(64), g.NADE(64, 8), g.MADE(64, [16]), g.PixelCNN(8, 8, 4, blocks=1)]
    for model in models:
        model.to(device)  # fit trains where the model is
        g.fit(model, small, data.valid[:32], g.FitConfig(epochs=1, batch_size=32), progress=False)
        model.sample(2, generator=torch.Generator(device).manual_seed(0))


def rl_trainers(device: str) -> None:
    from f2p import rl
    from f2p.rl import ddpg, deterministic, trpo

    tiny = {"total_steps": 400, "eval_every": 200, "eval_episodes": 1}
    rl.train_actor_critic(rl.ActorCriticConfig(**tiny), device=device, progress=False)
    config = rl.ActorCriticConfig(critic="action", **tiny)
    rl.train_actor_critic(config, device=device, progress=False)
    config = ddpg.DDPGConfig(hidden=(8, 8), learning_starts=100, batch_size=16, **tiny)
    ddpg.train_ddpg(config, device=device, progress=False)
    deterministic.train_deterministic_ac(
        deterministic.DeterministicConfig(learning_starts=100, batch_size=16, **tiny),
        device=device,
        progress=False,
    )
    config = trpo.TRPOConfig(total_steps=1024, eval_every=1024, eval_episodes=1)
    trpo.train_trpo(config, device=device, progress=False)


def llm_trainers(device: str) -> None:
    from f2p.llm import long2short
    from f2p.llm.model import GPT, GPTConfig
    from f2p.llm.tasks import sample_problems
    from f2p.llm.train import RLConfig, WarmupConfig, evaluate, train_rl, warmup

    torch.manual_seed(0)
    model = GPT(GPTConfig(layers=1, heads=2, width=16, context=40)).to(device)
    warmup(model, WarmupConfig(digits=(1,), steps=2, batch=4), device=device, progress=False)
    config = RLConfig(iterations=1, problems=2, k=2, digits=(1,), pool=4)
    train_rl(model, config, device=device, progress=False)
    evaluate(model, sample_problems(2, 1, torch.Generator().manual_seed(0)), k=2, device=device)
    long2short.shortest_rejection_sft(model, [("3+4:", "7.")], device=device)
    long2short.dpo_train(model, [("3+4:", "7.", "8.")], steps=1, device=device)


TRAINERS: dict[str, Callable[[str], None]] = {
    "video": video_trainer,
    "online detection": detection_trainer,
    "generative": generative_trainer,
    "rl": rl_trainers,
    "llm": llm_trainers,
}


@pytest.mark.parametrize("part", TRAINERS)
def test_every_trainer_keeps_its_tensors_on_the_device_it_was_given(part):
    with DeviceGuard() as guard:
        TRAINERS[part]("cpu")
    guard.check()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (make gpu)")
@pytest.mark.parametrize("part", TRAINERS)
def test_every_trainer_runs_on_a_gpu(part):
    """What the guard cannot see: random generators, which are not tensors, must be on the
    device that samples."""
    TRAINERS[part]("cuda")
