"""Kimi k1.5's long2short methods (Kimi Team, 2025, section 2.4), chapter 11: make a long
chain-of-thought model answer with fewer tokens.

- shortest rejection sampling: sample k responses per problem and fine-tune on the shortest
  correct one;
- DPO (Rafailov et al., 2023) on pairs (shortest correct, a wrong or a longer response);
- model merging: average the weights of the long model and a short one.
"""

from __future__ import annotations

import copy

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


def preference_pairs(
    model: GPT, problems: list[Problem], k: int, temperature: float, gen, device="cpu"
) -> list[tuple[str, str, str]]:
    """(prompt, shortest correct response, a longer response) for every problem with a correct
    sample and a longer one: as in k1.5, the negative is longer than the chosen one, correct or
    wrong (the longest such correct response if there is one, else the longest wrong one)."""
    r = rollout(model, problems, k, temperature, gen, device)
    texts, correct = decode(r.responses.cpu()), r.rewards.view(-1) > 0
    pairs = []
    for i, problem in enumerate(problems):
        group = range(i * k, (i + 1) * k)
        right = sorted((texts[j] for j in group if correct[j]), key=len)
        if not right:
            continue
        chosen = right[0]
        wrong = sorted((texts[j] for j in group if not correct[j]), key=len)
        longer = [t for t in right if len(t) > len(chosen)] or [
            t for t in wrong if len(t) > len(chosen)
        ]
        if longer:
            pairs.append((problem.prompt, chosen, longer[-1]))
    return pairs


def shortest_rejection_sft(
    model: GPT, pairs: list[tuple[str, str, str]], epochs: int = 1, lr: float = 1e-4, device="cpu"
) -> None:
    """Fine-tune ``model`` in place on the chosen (shortest correct) responses, one batch per
    epoch (all prompts of a batch must have the same length: one difficulty level)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for _ in range(epochs):
        sft_step(model, optimizer, [p for p, _, _ in pairs], [c for _, c, _ in pairs], device)


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
