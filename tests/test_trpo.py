"""f2p.rl.trpo: conjugate gradient, Fisher-vector products, and the trust-region step."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from f2p.rl.actor_critic import flatten_parameters
from f2p.rl.networks import CategoricalPolicy
from f2p.rl.trpo import (
    conjugate_gradient,
    fisher_vector_product,
    policy_objectives,
    trust_region_step,
)


def random_spd(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, n, generator=g, dtype=torch.float64)
    return m @ m.T + 0.1 * torch.eye(n, dtype=torch.float64)


def test_conjugate_gradient_solves_spd_systems_in_at_most_n_iterations():
    n = 12
    a = random_spd(n)
    b = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    calls = []

    def matvec(v):
        calls.append(1)
        return a @ v

    x = conjugate_gradient(matvec, b, iterations=n, tolerance=1e-20)
    torch.testing.assert_close(x, torch.linalg.solve(a, b), rtol=1e-6, atol=1e-8)
    assert len(calls) <= n


def test_conjugate_gradient_rejects_a_matrix_that_is_not_positive_definite():
    a = torch.diag(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="not positive definite"):
        conjugate_gradient(lambda v: a @ v, torch.ones(3, dtype=torch.float64), iterations=3)
    with pytest.raises(ValueError, match="iterations"):
        conjugate_gradient(lambda v: v, torch.ones(3), iterations=0)


def tiny_policy():
    torch.manual_seed(0)
    policy = CategoricalPolicy(3, 4, hidden=(5,)).double()
    for p in policy.parameters():
        torch.nn.init.normal_(p, std=0.5)
    obs = torch.randn(16, 3, dtype=torch.float64)
    return policy, obs


def test_fisher_vector_product_equals_the_hessian_of_the_mean_kl():
    policy, obs = tiny_policy()
    flat, _ = flatten_parameters(policy)
    params = list(policy.parameters())
    with torch.no_grad():
        old_logits = policy.logits(obs)

    def mean_kl():
        return kl_divergence(Categorical(logits=old_logits), policy.dist(obs)).mean()

    def kl_of_flat(theta):
        chunks, offset = [], 0
        for p in params:
            chunks.append(theta[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        w1, b1, w2, b2 = chunks
        logits = torch.tanh(obs @ w1.T + b1) @ w2.T + b2
        return kl_divergence(Categorical(logits=old_logits), Categorical(logits=logits)).mean()

    hessian = torch.autograd.functional.hessian(kl_of_flat, flat.detach().clone())
    v = torch.randn(flat.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    fvp = fisher_vector_product(mean_kl, params, damping=0.1)
    torch.testing.assert_close(fvp(v), hessian @ v + 0.1 * v)
    with pytest.raises(ValueError, match="damping"):
        fisher_vector_product(mean_kl, params, damping=-1.0)


def trpo_problem():
    policy, obs = tiny_policy()
    flat, _ = flatten_parameters(policy)
    actions = torch.randint(0, 4, (16,), generator=torch.Generator().manual_seed(3))
    advantages = torch.randn(16, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        old_dist = policy.dist(obs)
        old_log_prob = old_dist.log_prob(actions)
    surrogate, mean_kl = policy_objectives(policy, obs, actions, advantages, old_dist, old_log_prob)
    return policy, flat, surrogate, mean_kl


@pytest.mark.parametrize("max_kl", [0.001, 0.01, 0.05])
def test_an_accepted_step_respects_the_trust_region_and_improves(max_kl):
    policy, flat, surrogate, mean_kl = trpo_problem()
    before = surrogate().item()
    result = trust_region_step(flat, surrogate, mean_kl, list(policy.parameters()), max_kl)
    assert result.accepted
    assert mean_kl().item() == pytest.approx(result.kl) and result.kl <= max_kl * (1 + 1e-6)
    assert surrogate().item() > before


def test_a_rejected_line_search_leaves_the_parameters_unchanged():
    policy, flat, surrogate, mean_kl = trpo_problem()
    before = flat.detach().clone()

    def kl_always_too_large():  # same curvature, but no step can satisfy KL <= delta
        return mean_kl() + 1.0

    params = list(policy.parameters())
    result = trust_region_step(flat, surrogate, kl_always_too_large, params, 0.01)
    assert not result.accepted and result.step_fraction == 0.0
    torch.testing.assert_close(flat.detach(), before, rtol=0, atol=0)


def test_bad_trust_region_settings_are_clear_errors():
    policy, flat, surrogate, mean_kl = trpo_problem()
    with pytest.raises(ValueError, match="max_kl"):
        trust_region_step(flat, surrogate, mean_kl, list(policy.parameters()), 0.0)
    with pytest.raises(ValueError, match="damping"):
        trust_region_step(flat, surrogate, mean_kl, list(policy.parameters()), 0.01, damping=-0.1)


def test_a_short_trpo_run_learns_cartpole_within_the_trust_region():
    from f2p.rl.trpo import TRPOConfig, train_trpo

    config = TRPOConfig(total_steps=12_000, eval_every=4_000, eval_episodes=5)
    _, history, steps = train_trpo(config, seed=0, progress=False)
    assert max(history.eval_returns[1:]) >= 200  # a random policy scores about 22
    assert all(s.kl <= config.max_kl * (1 + 1e-6) for s in steps if s.accepted)
    with pytest.raises(ValueError, match="max_kl"):
        TRPOConfig(max_kl=0.0)
