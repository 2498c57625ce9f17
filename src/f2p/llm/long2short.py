"""Kimi k1.5's long2short methods (Kimi Team, 2025, section 2.4), chapter 11: make a long
chain-of-thought model answer with fewer tokens.

- shortest rejection sampling: sample k responses per problem and fine-tune on the shortest
  correct one, for every problem that has one;
- DPO (Rafailov et al., 2023) on pairs: the shortest correct response is chosen; every wrong
  response longer than it, and every correct one at least 1.5 times as long, is rejected;
- model merging: average the weights of the long model and a short one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from f2p.llm.losses import dpo_loss
from f2p.llm.model import GPT, response_logprobs
from f2p.llm.tasks import PAD, Problem, decode, encode
from f2p.llm.train import rollout, sft_step


def merge(long: GPT, short: GPT, weight: float = 0.5) -> GPT:
    """A new model with parameters weight * long + (1 - weight) * short."""
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must lie in [0, 1], got {weight}")
    merged = copy.deepcopy(long)
    with torch.no_grad():
        for p, p_long, p_short in zip(
            merged.parameters(), long.parameters(), short.parameters(), strict=True
        ):
            p.copy_(weight * p_long + (1 - weight) * p_short)
    return merged


@dataclass
class Long2ShortData:
    """What k1.5's long2short methods train on, from one round of k samples per problem."""

    shortest: list[tuple[str, str]]
    """(prompt, shortest correct response) for every problem with a correct sample: the
    fine-tuning set of shortest rejection sampling"""
    pairs: list[tuple[str, str, str]]
    """(prompt, chosen, rejected) for DPO: chosen is the shortest correct response; rejected is
    each wrong response longer than it and each correct one at least ``ratio`` times as long"""


def long2short_data(
    model: GPT,
    problems: list[Problem],
    k: int,
    temperature: float,
    gen,
    device="cpu",
    ratio: float = 1.5,
) -> Long2ShortData:
    """Sample ``k`` responses per problem (one difficulty level) and build both training sets as
    k1.5 describes them (section 2.4); lengths are in tokens (one character = one token)."""
    if ratio < 1:
        raise ValueError(f"the length ratio of a correct negative must be >= 1, got {ratio}")
    r = rollout(model, problems, k, temperature, gen, device)
    texts, correct = decode(r.responses.cpu()), (r.rewards.view(-1) > 0).tolist()
    data = Long2ShortData([], [])
    for i, problem in enumerate(problems):
        group = [(texts[j], correct[j]) for j in range(i * k, (i + 1) * k)]
        right = [text for text, ok in group if ok]
        if not right:
            continue
        chosen = min(right, key=len)
        data.shortest.append((problem.prompt, chosen))
        data.pairs += [
            (problem.prompt, chosen, text)
            for text, ok in group
            if (len(text) >= ratio * len(chosen) if ok else len(text) > len(chosen))
        ]
    return data


def shortest_rejection_sft(
    model: GPT, shortest: list[tuple[str, str]], epochs: int = 1, lr: float = 1e-4, device="cpu"
) -> None:
    """Fine-tune ``model`` in place on the (prompt, shortest correct response) pairs, one batch
    per epoch (all prompts of a batch must have the same length: one difficulty level)."""
    if not shortest:
        raise ValueError("no problem had a correct sample: nothing to fine-tune on")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for _ in range(epochs):
        sft_step(model, optimizer, [p for p, _ in shortest], [c for _, c in shortest], device)


def dpo_train(
    model: GPT,
    pairs: list[tuple[str, str, str]],
    steps: int = 20,
    beta: float = 0.1,
    lr: float = 3e-5,
    nll_weight: float = 0.0,
    device="cpu",
) -> list[float]:
    """DPO on the pairs, with the model's starting point as the frozen reference; returns the
    losses. ``nll_weight`` > 0 adds the per-token negative log-likelihood of the chosen responses
    (not in k1.5; a common guard against DPO lowering the likelihood of both responses)."""
    if not pairs:
        raise ValueError("no preference pairs: DPO needs at least one (chosen, rejected) pair")
    reference = copy.deepcopy(model).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    prompts = encode([p for p, _, _ in pairs]).to(device)
    chosen = encode([c for _, c, _ in pairs]).to(device)
    rejected = encode([r for _, _, r in pairs]).to(device)
    with torch.no_grad():
        ref_c = response_logprobs(reference, prompts, chosen).sum(-1)
        ref_r = response_logprobs(reference, prompts, rejected).sum(-1)
    history = []
    model.train()
    for _ in range(steps):
        token_logp_chosen = response_logprobs(model, prompts, chosen)
        loss = dpo_loss(
            token_logp_chosen.sum(-1),
            response_logprobs(model, prompts, rejected).sum(-1),
            ref_c,
            ref_r,
            beta,
        )
        if nll_weight:
            loss = loss - nll_weight * token_logp_chosen.sum() / (chosen != PAD).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history
