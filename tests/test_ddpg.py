"""f2p.rl.ddpg: soft updates, OU noise, the deterministic policy gradient, bounds, a short run."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from f2p import checks
from f2p.rl import ddpg

SPACE = gym.spaces.Box(
    np.array([-2.0, 0.0], dtype=np.float32), np.array([2.0, 1.0], dtype=np.float32)
)


def test_soft_update_is_exact():
    target, source = torch.randn(50, dtype=torch.float64), torch.randn(50, dtype=torch.float64)
    expected = 0.01 * source + 0.99 * target
    ddpg.soft_update(target, source, 0.01)
    torch.testing.assert_close(target, expected, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="tau"):
        ddpg.soft_update(target, source, 0.0)


def test_ou_noise_mean_reversion_matches_its_autocorrelation():
    theta = 0.15
    noise = ddpg.OUNoise(1, theta=theta, sigma=0.2, seed=0)
    x = np.array([noise()[0] for _ in range(200_000)])
    for lag in (1, 5, 10):
        empirical = np.corrcoef(x[:-lag], x[lag:])[0, 1]
        assert empirical == pytest.approx((1 - theta) ** lag, abs=0.02)
    stationary_std = 0.2 / np.sqrt(1 - (1 - theta) ** 2)  # AR(1) with coefficient 1 - theta
    assert x.std() == pytest.approx(stationary_std, rel=0.05)
    # the function chapter 09's noise-scale control uses; sigma alone (0.2) would fail here
    assert noise.stationary_std() == pytest.approx(stationary_std, rel=1e-12)
    assert x.std() == pytest.approx(ddpg.ou_stationary_std(theta, 0.2), rel=0.05)
    assert ddpg.ou_stationary_std(0.3, 0.2, dt=0.5) == pytest.approx(0.2 * np.sqrt(0.5 / 0.2775))
    with pytest.raises(ValueError, match="theta"):
        ddpg.OUNoise(1, theta=0.0)


@pytest.mark.parametrize("action_layer", [1, 2])
def test_actor_gradient_is_the_chain_rule_through_the_critic(action_layer):
    """grad_theta [-Q(s, mu(s))] = -grad_a Q(s, a)|_{a=mu(s)} . grad_theta mu(s)."""
    torch.manual_seed(0)
    config = ddpg.DDPGConfig(hidden=(5, 4), action_layer=action_layer)
    agent = ddpg.DDPG(3, SPACE, config).double()
    s = torch.randn(1, 3, dtype=torch.float64)
    weight = agent.actor.net[0].weight
    (by_autograd,) = torch.autograd.grad(ddpg.actor_loss(agent, s), weight)
    a = agent.actor(s).detach().requires_grad_(True)
    (dq_da,) = torch.autograd.grad(agent.critic(s, a).sum(), a)  # (1, 2)
    dmu_dw = torch.autograd.functional.jacobian(
        lambda w: _actor_with_weight(agent, s, w), weight.detach()
    )
    by_hand = -torch.einsum("ba,bahi->hi", dq_da, dmu_dw)
    torch.testing.assert_close(by_autograd, by_hand)


def _actor_with_weight(agent, s, w):
    original = agent.actor.net[0].weight
    try:
        del agent.actor.net[0].weight
        agent.actor.net[0].weight = w
        return agent.actor(s)
    finally:
        agent.actor.net[0].weight = original


def test_critic_takes_the_action_at_the_chosen_layer():
    second = ddpg.DDPGCritic(3, 2, (8, 6), action_layer=2)
    first = ddpg.DDPGCritic(3, 2, (8, 6), action_layer=1)
    assert second.first[0].in_features == 3 and second.rest[0].in_features == 8 + 2
    assert first.rest[0].in_features == 3 + 2
    with pytest.raises(ValueError, match="action_layer"):
        ddpg.DDPGCritic(3, 2, (8,), action_layer=3)


@pytest.mark.parametrize("action_layer", [1, 2])
def test_every_layer_is_initialised_orthogonally(action_layer):
    """The chapter's "Where we differ" says so: hidden layers orthogonal with gain sqrt(2), the
    critic's last with gain 1, the actor's last with 0.01, every bias 0. With action_layer=2 the
    critic's first layer is built outside mlp; it had PyTorch's default (uniform) init."""
    torch.manual_seed(0)
    agent = ddpg.DDPG(3, SPACE, ddpg.DDPGConfig(hidden=(16, 12), action_layer=action_layer))
    for net, last_gain in ((agent.actor, 0.01), (agent.critic, 1.0)):
        layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        assert len(layers) == 3
        for i, layer in enumerate(layers):
            gain = last_gain if i == len(layers) - 1 else np.sqrt(2)
            w = layer.weight.detach().double() / gain
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            torch.testing.assert_close(
                gram, torch.eye(len(gram), dtype=torch.float64), rtol=0, atol=1e-5
            )
            assert torch.all(layer.bias == 0)


def test_soft_update_checker_refuses_in_place_updates(capsys):
    checks.soft_update(lambda target, source, tau: torch.lerp(target, source, tau))
    assert "PASS soft_update" in capsys.readouterr().out

    def in_place(target, source, tau):  # right value, but the exercise says: inputs unchanged
        return target.lerp_(source, tau)

    def in_place_by_hand(target, source, tau):
        return target.mul_(1 - tau).add_(tau * source)

    for wrong in (in_place, in_place_by_hand):
        with pytest.raises(checks.CheckFailed, match="in place"):
            checks.soft_update(wrong)
    with pytest.raises(checks.CheckFailed):  # tau on the wrong side
        checks.soft_update(lambda target, source, tau: tau * target + (1 - tau) * source)


def _smoothing_wrong_answers():
    def scale_after_clip(mu, z, sigma, c, low, high):
        return torch.maximum(torch.minimum(mu + sigma * z.clamp(-c, c), high), low)

    def no_noise_clip(mu, z, sigma, c, low, high):
        return torch.maximum(torch.minimum(mu + sigma * z, high), low)

    def no_action_clip(mu, z, sigma, c, low, high):
        return mu + (sigma * z).clamp(-c, c)

    def unit_bounds(mu, z, sigma, c, low, high):
        return (mu + (sigma * z).clamp(-c, c)).clamp(-1.0, 1.0)

    def clip_the_sum_to_c(mu, z, sigma, c, low, high):
        return (mu + sigma * z).clamp(-c, c)

    def clip_noise_to_bounds(mu, z, sigma, c, low, high):
        return mu + torch.maximum(torch.minimum(sigma * z, high), low)

    def unscaled_noise(mu, z, sigma, c, low, high):
        return torch.maximum(torch.minimum(mu + z.clamp(-c, c), high), low)

    return [
        scale_after_clip,
        no_noise_clip,
        no_action_clip,
        unit_bounds,
        clip_the_sum_to_c,
        clip_noise_to_bounds,
        unscaled_noise,
    ]


def test_td3_smoothing_checker(capsys):
    checks.td3_smoothing(ddpg.td3_smoothed_action)
    assert "PASS td3_smoothing" in capsys.readouterr().out

    def with_clamp(mu, z, sigma, c, low, high):  # another right answer
        return torch.clamp(mu + torch.clamp(sigma * z, -c, c), low, high)

    checks.td3_smoothing(with_clamp)
    for wrong in _smoothing_wrong_answers():
        with pytest.raises(checks.CheckFailed):
            checks.td3_smoothing(wrong)


def test_actions_stay_within_bounds():
    actor = ddpg.DDPGActor(3, torch.tensor([-2.0, 0.0]), torch.tensor([2.0, 1.0]), (8,))
    with torch.no_grad():
        actor.net[-1].weight.mul_(1e4)
        actions = actor(torch.randn(1000, 3) * 10)
    assert torch.all(actions >= torch.tensor([-2.0, 0.0])) and torch.all(
        actions <= torch.tensor([2.0, 1.0])
    )


def test_without_target_networks_the_targets_are_the_learned_networks():
    agent = ddpg.DDPG(3, SPACE, ddpg.DDPGConfig(hidden=(4, 4), target_networks=False))
    assert agent.actor_target is agent.actor and agent.critic_target is agent.critic
    assert set(agent.flatten()) == {"actor", "critic"}


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="noise must be one of"):
        ddpg.DDPGConfig(noise="pink")
    with pytest.raises(ValueError, match="tau"):
        ddpg.DDPGConfig(tau=1.5)
    with pytest.raises(ValueError, match="DDPG needs a Box action space"):
        ddpg.train_ddpg(ddpg.DDPGConfig(env_id="CartPole-v1"), progress=False)


def test_td3_target_checker(capsys):
    checks.td3_target(ddpg.td3_target)
    assert "PASS td3_target" in capsys.readouterr().out

    def max_instead_of_min(r, d, q1, q2, gamma):
        return r + gamma * (1.0 - d.float()) * torch.maximum(q1, q2)

    with pytest.raises(checks.CheckFailed):
        checks.td3_target(max_instead_of_min)


def test_a_short_run_improves_pendulum_well_above_random():
    config = ddpg.DDPGConfig(
        total_steps=5_000,
        learning_starts=1_000,
        hidden=(64, 64),
        batch_size=128,
        eval_every=1_000,
        eval_episodes=3,
    )
    _, history = ddpg.train_ddpg(config, seed=0, progress=False)
    assert history.eval_returns[0] < -800  # the untrained actor
    assert max(history.eval_returns) > -400


def test_tau_one_is_the_same_algorithm_as_no_target_networks():
    """Chapter 09 runs only one of the two: with tau = 1 the targets are copied after every update,
    so each critic target is computed with the learned networks, as without target networks."""
    common = dict(total_steps=300, learning_starts=100, hidden=(8, 8), batch_size=16)
    common.update(eval_every=100, eval_episodes=1)
    runs = [
        ddpg.train_ddpg(ddpg.DDPGConfig(**common, **change), seed=3, progress=False)
        for change in ({"tau": 1.0}, {"target_networks": False})
    ]
    (copied, history_copied), (none, history_none) = runs
    torch.testing.assert_close(
        torch.nn.utils.parameters_to_vector(copied.actor.parameters()),
        torch.nn.utils.parameters_to_vector(none.actor.parameters()),
        rtol=0,
        atol=0,
    )
    assert history_copied.eval_returns == history_none.eval_returns
