"""f2p.rl.trpo: conjugate gradient, Fisher-vector products, and the trust-region step."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Categorical, kl_divergence

from f2p.rl.networks import CategoricalPolicy, flatten_parameters
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


def test_a_vanishing_gradient_takes_no_step():
    """A policy that has become deterministic has a zero policy gradient, so x = 0 and
    x^T F x = 0: the step's scale sqrt(2 delta / x^T F x) is undefined, and no step is taken
    (chapter 10's full profile reached this with delta = 0.5)."""
    policy, flat, surrogate, mean_kl = trpo_problem()
    before = flat.detach().clone()
    params = list(policy.parameters())
    result = trust_region_step(flat, lambda: 0.0 * surrogate(), mean_kl, params, 0.5)
    assert not result.accepted and result.step_fraction == 0.0
    torch.testing.assert_close(flat.detach(), before, rtol=0, atol=0)
    with pytest.raises(ValueError, match="curvature x\\^T F x is nan"):
        trust_region_step(flat, lambda: surrogate() * torch.nan, mean_kl, params, 0.5)


@pytest.mark.parametrize("scale", [1e-6, 1e-4, 1e-2, 1.0, 1e3])
def test_the_trust_region_step_is_invariant_to_the_scale_of_the_advantages(scale):
    """Chapter 10, exercise on reward scale: g and x scale by c, alpha by 1/c, the step not at
    all. With CG's old absolute tolerance (||r||^2 <= 1e-10) the step was rejected once ||g||
    fell below about 1e-5, here at c = 1e-6."""
    policy, flat, surrogate, mean_kl = trpo_problem()
    params = list(policy.parameters())
    start = flat.detach().clone()
    reference = trust_region_step(flat, surrogate, mean_kl, params, 0.01)
    step_at_1 = flat.detach() - start
    flat.data.copy_(start)
    result = trust_region_step(flat, lambda: scale * surrogate(), mean_kl, params, 0.01)
    assert result.accepted and result.step_fraction == reference.step_fraction
    torch.testing.assert_close(flat.detach() - start, step_at_1, rtol=1e-6, atol=1e-10)
    assert result.full_kl == pytest.approx(reference.full_kl, rel=1e-6)


def test_conjugate_gradient_tolerance_is_relative_and_stops_at_an_exact_solution():
    a = random_spd(6)
    b = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    for c in (1e-8, 1.0, 1e6):
        torch.testing.assert_close(
            conjugate_gradient(lambda v: a @ v, c * b, 3),
            c * conjugate_gradient(lambda v: a @ v, b, 3),
        )
    torch.testing.assert_close(conjugate_gradient(lambda v: a @ v, 0 * b, 3), 0 * b)
    calls = []
    eye = torch.eye(6, dtype=torch.float64)
    x = conjugate_gradient(lambda v: calls.append(1) or 2 * eye @ v, b, 6)  # exact after one
    torch.testing.assert_close(x, b / 2)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="tolerance"):
        conjugate_gradient(lambda v: v, b, 3, tolerance=-1.0)


def test_the_full_step_is_recorded_on_the_damped_model_boundary():
    """full_kl is the measured KL of alpha x; the damped model KL of alpha x is delta, so its
    undamped model KL is delta - damping_kl, with damping_kl = 1/2 xi ||alpha x||^2."""
    policy, flat, surrogate, mean_kl = trpo_problem()
    params = list(policy.parameters())
    start = flat.detach().clone()
    result = trust_region_step(flat, surrogate, mean_kl, params, 1e-4, damping=0.1, backtracks=1)
    full = flat.detach() - start
    assert result.accepted and result.step_fraction == 1.0
    assert result.full_kl == pytest.approx(result.kl)
    assert result.damping_kl == pytest.approx(0.05 * (full @ full).item())
    # at a small delta the measured KL is close to the undamped quadratic model
    assert result.full_kl == pytest.approx(1e-4 - result.damping_kl, rel=0.05)


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


def test_rollout_batch_keeps_box_actions_as_vectors_so_log_probs_are_per_sample():
    """A squeezed (n,) action against an (n, 1) Gaussian mean broadcasts to (n, n): guard it."""
    import gymnasium as gym

    from f2p.rl.envs import make_vec_env
    from f2p.rl.networks import ActorCritic
    from f2p.rl.trpo import TRPOConfig, rollout_batch

    envs = make_vec_env("Pendulum-v1", 2, seed=0)
    agent = ActorCritic(envs.single_observation_space, envs.single_action_space)
    t, n = 5, 2
    b = {
        "obs": torch.randn(t, n, 3),
        "next_obs": torch.randn(t, n, 3),
        "actions": torch.randn(t, n, 1),
        "rewards": torch.randn(t, n),
        "terminated": torch.zeros(t, n, dtype=torch.bool),
        "ended": torch.zeros(t, n, dtype=torch.bool),
    }
    s, a, adv, returns, old_dist, old_log_prob = rollout_batch(
        agent, b, envs.single_action_space, TRPOConfig(env_id="Pendulum-v1")
    )
    assert isinstance(envs.single_action_space, gym.spaces.Box)
    assert s.shape == (10, 3) and a.shape == (10, 1)
    assert adv.shape == returns.shape == old_log_prob.shape == (10,)
    torch.testing.assert_close(agent.actor.log_prob_entropy(s, a)[0], old_log_prob)
    envs.close()


@pytest.mark.parametrize("update", ["vpg", "ppo"])
def test_first_order_updates_improve_the_surrogate_and_report_their_kl(update):
    from f2p.rl.trpo import TRPOConfig, first_order_step

    policy, obs = tiny_policy()
    flat, flat_grad = flatten_parameters(policy)
    actions = torch.randint(0, 4, (16,), generator=torch.Generator().manual_seed(3))
    adv = torch.randn(16, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        old_dist = policy.dist(obs)
        old_log_prob = old_dist.log_prob(actions)
    config = TRPOConfig(update=update, policy_lr=1e-2, ppo_batch=8)
    optimizer = torch.optim.Adam([flat], lr=config.policy_lr)
    before = flat.detach().clone()
    gen = torch.Generator().manual_seed(0)
    step = first_order_step(
        policy, optimizer, flat_grad, obs, actions, adv, old_dist, old_log_prob, config, gen
    )
    assert not torch.equal(flat.detach(), before)
    assert step.improvement > 0 and step.kl > 0
    with torch.no_grad():
        assert step.kl == pytest.approx(kl_divergence(old_dist, policy.dist(obs)).mean().item())


def test_ppo_clip_objective_is_flat_outside_the_clip_range():
    from f2p.rl.trpo import ppo_clip_objective

    policy, obs = tiny_policy()
    actions = torch.zeros(16, dtype=torch.long)
    with torch.no_grad():
        log_prob = policy.log_prob_entropy(obs, actions)[0]
    adv = torch.ones(16, dtype=torch.float64)
    # the old policy made these actions far less likely: ratio >> 1 + eps, positive advantage
    objective = ppo_clip_objective(policy, obs, actions, adv, log_prob - 1.0, clip=0.2)
    objective.backward()
    assert objective.item() == pytest.approx(1.2)
    assert all(p.grad is not None and p.grad.abs().max() == 0 for p in policy.parameters())


def test_zoo_settings_and_bad_configs():
    from f2p.rl.trpo import TRPOConfig

    c = TRPOConfig.zoo("Pendulum-v1", total_steps=10)
    assert (c.n_steps, c.gamma, c.critic_epochs, c.total_steps) == (1024, 0.9, 15, 10)
    with pytest.raises(ValueError, match="RL Zoo"):
        TRPOConfig.zoo("Acrobot-v1")
    with pytest.raises(ValueError, match="update"):
        TRPOConfig(update="sgd")
    with pytest.raises(ValueError, match="n_steps"):
        TRPOConfig(n_steps=0)
