"""Supervised warm-up, RL with Kimi k1.5's loss (or REINFORCE, GRPO), and evaluation (chapter 11).

One RL iteration (Kimi Team, 2025, section 2.3): pick problems (uniformly, by a curriculum, or
prioritized by failure rate), sample k responses to each from the current policy pi_i, score
them with the verifier (plus the length reward if on), and take a few gradient steps on the loss,
with pi_i frozen as the reference of the k1.5 and GRPO losses.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from f2p import distributed
from f2p.llm import losses
from f2p.llm.model import GPT, generate, response_lengths, response_logprobs
from f2p.llm.sampling import PrioritizedSampler, curriculum_level
from f2p.llm.tasks import PAD, Problem, decode, encode, reward, sample_problems, trace
from f2p.utils import autocast, generator_on

METHODS = ("k15", "grpo", "reinforce")
SAMPLINGS = ("uniform", "curriculum", "prioritized")


def max_response(digits: int) -> int:
    """A token budget for responses to ``digits``-digit problems: a full trace with the check
    step, plus slack."""
    return 9 * digits + (2 * digits + 5) + (digits + 3) + 4


def sft_step(
    model: GPT,
    optimizer,
    prompts: list[str],
    responses: list[str],
    device,
    here: distributed.World | None = None,
    bf16: bool | None = False,
) -> float:
    """One cross-entropy step on the response tokens of (prompt, response) pairs; prompts must
    have equal lengths within the batch. Returns the loss: the mean over response tokens.

    With several processes (``here``, ``model`` wrapped by :func:`f2p.distributed.wrap`), each
    holds a share of the pairs; its loss is scaled by ``size / tokens in all shares``, so that
    DDP's average of the processes' gradients is the gradient of the mean over all tokens.
    ``bf16``: the forward pass under bf16 autocast (:func:`f2p.utils.autocast`)."""
    here = here or distributed.World()
    x = encode(prompts).to(device)
    y = encode(responses)
    tokens = distributed.total(float((y != PAD).sum()), here, device)  # counted on the host
    y = y.to(device)
    with autocast(device, bf16):
        logp = response_logprobs(model, x, y)
    loss = -logp.sum() * here.size / tokens
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return distributed.total(loss.item(), here, device) / here.size


@dataclass
class WarmupConfig:
    """Supervised warm-up on step-by-step traces."""

    digits: tuple[int, ...] = (1, 2, 3)
    """difficulty levels of the traces (each batch is one level)"""
    steps: int = 600
    batch: int = 64
    lr: float = 1e-3
    check_fraction: float = 0.5
    """share of traces carrying the redundant check step"""
    bf16: bool | None = None
    """the steps under bf16 autocast (:func:`f2p.utils.autocast`; ``None``: as the profile
    says)"""


def warmup(
    model: GPT, config: WarmupConfig, seed: int = 0, device="cpu", progress: bool = True
) -> list[float]:
    """Train ``model`` (on ``device``) to imitate traces; returns the loss of every step. Under
    ``torchrun`` each process imitates its share of every batch (:func:`sft_step`)."""
    here, device, net = distributed.prepare(model, device)
    gen = torch.Generator().manual_seed(seed)  # the same batches in every process
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    history = []
    for step in tqdm(range(config.steps), desc="warm-up", disable=not progress or not here.main):
        digits = config.digits[step % len(config.digits)]
        problems = sample_problems(config.batch, digits, gen)
        checks = torch.rand(config.batch, generator=gen) < config.check_fraction
        responses = [trace(p, bool(c)) for p, c in zip(problems, checks, strict=True)]
        mine = distributed.shard(torch.arange(config.batch), here).tolist()
        prompts, targets = [problems[i].prompt for i in mine], [responses[i] for i in mine]
        history.append(sft_step(net, optimizer, prompts, targets, device, here, config.bf16))
    return history


@dataclass
class Rollouts:
    """k responses to each of G problems."""

    prompts: torch.Tensor  # (G*k, P)
    responses: torch.Tensor  # (G*k, R)
    rewards: torch.Tensor  # (G, k), correctness only
    lengths: torch.Tensor  # (G, k)


def rollout(
    model: GPT, problems: list[Problem], k: int, temperature: float, gen, device
) -> Rollouts:
    """Sample k responses per problem (problems of one difficulty) and score them."""
    prompts = encode([p.prompt for p in problems for _ in range(k)]).to(device)
    responses = generate(
        model, prompts, max_response(problems[0].digits), temperature, generator_on(device, gen)
    )
    texts = decode(responses.cpu())
    rewards = torch.tensor(
        [reward(t, p) for t, p in zip(texts, (p for p in problems for _ in range(k)), strict=True)]
    ).view(len(problems), k)
    lengths = response_lengths(responses).cpu().view(len(problems), k)
    return Rollouts(prompts, responses, rewards, lengths)


@dataclass
class RLConfig:
    """Settings of :func:`train_rl`."""

    method: str = "k15"
    """the loss: "k15" (Kimi k1.5's), "grpo" or "reinforce" (a mean baseline)"""
    iterations: int = 120
    problems: int = 16
    """problems per iteration"""
    k: int = 8
    """responses sampled per problem"""
    temperature: float = 1.0
    lr: float = 1e-4
    updates: int = 2
    """gradient steps on each iteration's samples"""
    tau: float = 0.5
    """k1.5's KL weight tau"""
    clip: float = 0.2
    """GRPO's ratio clipping"""
    beta: float = 0.04
    """GRPO's KL weight, towards the warm-up model"""
    digits: tuple[int, ...] = (3,)
    """difficulty levels trained on, easiest first"""
    sampling: str = "uniform"
    """how problems are picked: "uniform" over levels, "curriculum" (levels in turn, easiest
    first) or "prioritized" (by 1 - success rate)"""
    pool: int = 256
    """problems per level in the fixed training pool"""
    priority_floor: float = 0.05
    """prioritized sampling draws problem i with p_i proportional to 1 - s_i + this floor (0 is
    the report's rule, which never redraws a solved problem, so its s_i goes stale)"""
    length_weight: float = 0.0
    """weight of k1.5's length reward (0: off)"""
    length_warmup: int = 0
    """iterations before the length reward is switched on"""
    reset_optimizer: bool = False
    """a fresh optimizer every iteration (as k1.5 does at scale)"""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {self.sampling!r}")
        if self.k < 2:
            raise ValueError(
                f"k must be >= 2 (the baseline is the mean of k rewards), got {self.k}"
            )
        if self.tau <= 0 or self.lr <= 0 or self.temperature <= 0:
            raise ValueError("tau, lr and temperature must be > 0")


@dataclass
class RLHistory:
    accuracy: list[float] = field(default_factory=list)
    """mean correctness of the sampled responses at each iteration"""
    length: list[float] = field(default_factory=list)
    """mean response length (tokens) at each iteration"""
    zero_signal: list[float] = field(default_factory=list)
    """share of problems whose k rewards were all equal (no learning signal)"""
    drawn: list[tuple[int, list[int]]] = field(default_factory=list)
    """at each iteration, the level and the pool indices of the problems drawn (so that a probe
    can tell the pool's trained-on problems from those never drawn)"""
    seconds: dict[str, float] = field(default_factory=lambda: {"rollout": 0.0, "update": 0.0})


def policy_loss(model, reference, rollouts: Rollouts, rewards, logp_old, config) -> torch.Tensor:
    token_logp = response_logprobs(model, rollouts.prompts, rollouts.responses, config.temperature)
    g, k = rewards.shape
    logp = token_logp.sum(-1).view(g, k)
    if config.method == "k15":
        return losses.k15_loss(logp, logp_old.sum(-1).view(g, k), rewards, config.tau)
    if config.method == "reinforce":
        return losses.reinforce_loss(logp, rewards)
    with torch.no_grad():
        ref = response_logprobs(reference, rollouts.prompts, rollouts.responses, config.temperature)
    mask = (rollouts.responses != PAD).float()
    shape = (g, k, -1)
    return losses.grpo_loss(
        token_logp.view(shape),
        logp_old.view(shape),
        ref.view(shape),
        mask.view(shape),
        rewards,
        config.clip,
        config.beta,
    )


def train_rl(
    model: GPT,
    config: RLConfig,
    seed: int = 0,
    device="cpu",
    progress: bool = True,
    pools: dict[int, list[Problem]] | None = None,
) -> RLHistory:
    """Improve ``model`` in place by RL on verifiable rewards; returns the history. The training
    problems are ``pools[d]`` for each level d of ``config.digits`` when given (each of
    ``config.pool`` problems), else a fresh pool of ``config.pool`` problems per level."""
    gen = torch.Generator().manual_seed(seed)
    if pools is None:
        pools = {d: sample_problems(config.pool, d, gen) for d in config.digits}
    wrong = {
        d: len(pools.get(d, [])) for d in config.digits if len(pools.get(d, [])) != config.pool
    }
    if wrong:
        raise ValueError(f"need {config.pool} problems per level {config.digits}, got {wrong}")
    samplers = {
        d: PrioritizedSampler(config.pool, gen, config.priority_floor) for d in config.digits
    }
    reference = copy.deepcopy(model).eval() if config.method == "grpo" else None

    def make_optimizer():
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)

    optimizer, history = make_optimizer(), RLHistory()
    bar = tqdm(range(config.iterations), desc=f"RL ({config.method})", disable=not progress)
    for it in bar:
        tick = time.perf_counter()
        if config.sampling == "curriculum":
            level = config.digits[curriculum_level(it, config.iterations, len(config.digits))]
        else:
            level = config.digits[int(torch.randint(len(config.digits), (1,), generator=gen))]
        if config.sampling == "prioritized":
            indices = samplers[level].sample(config.problems)
        else:
            indices = torch.randperm(config.pool, generator=gen)[: config.problems]
        problems = [pools[level][i] for i in indices.tolist()]
        model.eval()
        rollouts = rollout(model, problems, config.k, config.temperature, gen, device)
        samplers[level].update(indices, rollouts.rewards.mean(1))
        rewards = rollouts.rewards.clone()
        if config.length_weight and it >= config.length_warmup:
            rewards += config.length_weight * losses.length_penalty(
                rollouts.lengths, rollouts.rewards
            )
        rewards = rewards.to(device)
        with torch.no_grad():
            logp_old = response_logprobs(
                model, rollouts.prompts, rollouts.responses, config.temperature
            )
        tock = time.perf_counter()
        history.seconds["rollout"] += tock - tick
        if config.reset_optimizer:
            optimizer = make_optimizer()
        model.train()
        for _ in range(config.updates):
            loss = policy_loss(model, reference, rollouts, rewards, logp_old, config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        history.seconds["update"] += time.perf_counter() - tock
        history.accuracy.append(rollouts.rewards.mean().item())
        history.length.append(rollouts.lengths.float().mean().item())
        history.zero_signal.append((rollouts.rewards.std(1) == 0).float().mean().item())
        history.drawn.append((level, indices.tolist()))
        bar.set_postfix(acc=f"{history.accuracy[-1]:.2f}", len=f"{history.length[-1]:.0f}")
    return history


@torch.no_grad()
def pass_rates(
    model: GPT,
    problems: list[Problem],
    k: int,
    temperature: float = 1.0,
    seed: int = 0,
    device="cpu",
) -> torch.Tensor:
    """The share of ``k`` sampled responses that are correct, for each problem (one level)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    return rollout(model, problems, k, temperature, gen, device).rewards.mean(1)


@torch.no_grad()
def evaluate(
    model: GPT,
    problems: list[Problem],
    k: int | None = 8,
    temperature: float = 1.0,
    seed: int = 0,
    device="cpu",
) -> dict[str, float]:
    """Greedy pass@1, pass@k (any of k samples correct) and the mean greedy response length on
    ``problems`` (one difficulty level); ``k=None`` skips the sampling and pass@k."""
    model.eval()
    prompts = encode([p.prompt for p in problems]).to(device)
    greedy = generate(model, prompts, max_response(problems[0].digits), 0.0)
    texts = decode(greedy.cpu())
    pass1 = np.mean([reward(t, p) for t, p in zip(texts, problems, strict=True)])
    result = {
        "pass@1": float(pass1),
        "length": float(response_lengths(greedy).float().mean()),
    }
    if k is not None:
        gen = torch.Generator().manual_seed(seed)
        sampled = rollout(model, problems, k, temperature, gen, device)
        result[f"pass@{k}"] = float((sampled.rewards.max(1).values > 0).float().mean())
    return result
