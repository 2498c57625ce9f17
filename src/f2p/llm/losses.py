"""Policy-optimisation losses for RL on reasoning (chapter 11): Kimi k1.5's (Kimi Team, 2025,
section 2.3.2) and its comparisons, REINFORCE with a mean baseline and GRPO (Shao et al., 2024),
plus k1.5's length penalty and DPO (Rafailov et al., 2023) for long2short.

Shapes: rewards and sequence log-probabilities are (G, k): G problems, k sampled responses each.

k1.5 maximises E[r] - tau KL(pi_theta || pi_i) against the current policy pi_i, whose optimum is
pi*(y, z | x) = pi_i(y, z | x) exp(r / tau) / Z. Taking logs, r - tau log Z = tau log(pi* / pi_i),
so k1.5 fits pi_theta to pi* with the squared loss

    L(theta) = mean over samples of ( r - tau log Z - tau log(pi_theta / pi_i) )^2 ,

with tau log Z approximated by the mean reward r_bar of the k samples of the same problem.
"""

from __future__ import annotations

import math

import torch


def _check_groups(first: torch.Tensor, *others: torch.Tensor, name: str = "rewards") -> None:
    """``first`` (called ``name`` in messages) is (problems, k) with k >= 2; ``others`` match it."""
    if first.dim() != 2 or first.shape[1] < 2:
        raise ValueError(
            f"expected {name} of shape (problems, k) with k >= 2, got {tuple(first.shape)}"
        )
    for other in others:
        if other.shape != first.shape:
            raise ValueError(f"shape {tuple(other.shape)} != {name}' {tuple(first.shape)}")


def tau_log_z(rewards: torch.Tensor, tau: float) -> torch.Tensor:
    """The sample estimate tau log( mean_j exp(r_j / tau) ) of tau log Z, per problem (G,).

    Z = E_{pi_i}[exp(r / tau)]; as tau -> infinity, tau log Z -> E[r] (a cumulant expansion:
    tau log E[exp(r/tau)] = E[r] + Var[r] / (2 tau) + O(1/tau^2)), which justifies k1.5's mean-
    reward approximation.
    """
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    k = rewards.shape[-1]
    return tau * (torch.logsumexp(rewards / tau, dim=-1) - math.log(k))


def k15_loss(
    logp: torch.Tensor, logp_old: torch.Tensor, rewards: torch.Tensor, tau: float
) -> torch.Tensor:
    """Kimi k1.5's surrogate: mean of (r - r_bar - tau (log pi_theta - log pi_i))^2 over all
    samples, r_bar the mean reward of each problem's k samples; ``logp`` are sequence log-probs
    under the policy being trained, ``logp_old`` under pi_i (the sampler, no gradient)."""
    _check_groups(rewards, logp, logp_old)
    advantages = rewards - rewards.mean(dim=1, keepdim=True)
    return k15_loss_from_advantages(logp, logp_old, advantages, tau)


def k15_loss_from_advantages(
    logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, tau: float
) -> torch.Tensor:
    """k1.5's loss with A = r - r_bar already computed (as TRL does when ``scale_rewards="none"``):
    mean of (A - tau (log pi_theta - log pi_i))^2 over all entries, any shape."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return (advantages - tau * (logp - logp_old.detach())).pow(2).mean()


def k15_direction(
    logp: torch.Tensor, logp_old: torch.Tensor, rewards: torch.Tensor, tau: float
) -> torch.Tensor:
    """A scalar whose gradient is the paper's update direction,

        (1/k) sum_j [ grad log pi(y_j) (r_j - r_bar) - (tau/2) grad (log pi(y_j)/pi_i(y_j))^2 ],

    averaged over problems. It equals -grad(k15_loss) / (2 tau): a policy gradient with the mean
    reward as baseline, plus a regulariser pulling pi_theta back to pi_i."""
    _check_groups(rewards, logp, logp_old)
    advantage = rewards - rewards.mean(dim=1, keepdim=True)
    log_ratio = logp - logp_old.detach()
    return (logp * advantage - tau / 2 * log_ratio.pow(2)).mean()


def reinforce_loss(logp: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """REINFORCE with each problem's mean reward as baseline: -mean[(r - r_bar) log pi]."""
    _check_groups(rewards, logp)
    return -(logp * (rewards - rewards.mean(dim=1, keepdim=True))).mean()


def grpo_loss(
    token_logp: torch.Tensor,
    token_logp_old: torch.Tensor,
    token_logp_ref: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    clip: float = 0.2,
    beta: float = 0.04,
) -> torch.Tensor:
    """GRPO: group-normalised advantages A = (r - mean) / (std + 1e-4) shared by every token of
    a response, PPO's clipped ratio per token, and the KL to a reference policy by the unbiased
    estimator exp(ref - logp) - (ref - logp) - 1; per-token terms averaged over each response,
    then over responses. Token tensors are (G, k, T) with ``mask`` 1 on response tokens."""
    _check_groups(rewards)
    std, mean = torch.std_mean(rewards, dim=1, keepdim=True)
    advantage = ((rewards - mean) / (std + 1e-4))[..., None]
    ratio = torch.exp(token_logp - token_logp_old.detach())
    surrogate = torch.minimum(ratio * advantage, ratio.clamp(1 - clip, 1 + clip) * advantage)
    log_ref_ratio = token_logp_ref.detach() - token_logp
    kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    per_token = (surrogate - beta * kl) * mask
    return -(per_token.sum(-1) / mask.sum(-1).clamp_min(1)).mean()


def length_penalty(lengths: torch.Tensor, correct: torch.Tensor) -> torch.Tensor:
    """k1.5's length reward over each problem's k responses (G, k):
    lambda = 0.5 - (len - min_len) / (max_len - min_len); lambda if correct, min(0, lambda) if
    not. When all k responses have the same length there is no length signal: 0 for all."""
    _check_groups(lengths, correct, name="lengths")
    lengths = lengths.float()
    shortest = lengths.min(dim=1, keepdim=True).values
    span = lengths.max(dim=1, keepdim=True).values - shortest
    lam = torch.where(span > 0, 0.5 - (lengths - shortest) / span.clamp_min(1e-12), 0.0)
    return torch.where(correct.bool(), lam, lam.clamp(max=0.0))


def dpo_loss(
    logp_chosen: torch.Tensor,
    logp_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float = 0.1,
) -> torch.Tensor:
    """DPO: -log sigmoid(beta [(log pi - log pi_ref)(chosen) - (log pi - log pi_ref)(rejected)])."""
    margin = (logp_chosen - ref_chosen.detach()) - (logp_rejected - ref_rejected.detach())
    return -torch.nn.functional.logsigmoid(beta * margin).mean()
