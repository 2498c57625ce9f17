"""f2p.rl: score functions, GAE, importance ratios, the grid world, replay, and a learning run."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from f2p import rl
from f2p.rl.gridworld import GridWorld, softmax_policy, tabular_actor_critic, td0_evaluation
from f2p.rl.networks import CategoricalPolicy, DeterministicPolicy, GaussianPolicy, policy_for


def finite_difference(f, params: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    grad = torch.zeros_like(params)
    flat = params.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("kind", ["softmax", "gaussian"])
def test_score_function_gradient_matches_finite_differences(kind):
    """grad_theta E_pi[f(a)] = E_pi[f(a) grad log pi(a)]: exactly for a softmax (sum over actions),
    and grad log pi itself against finite differences for a Gaussian."""
    torch.manual_seed(0)
    obs = torch.randn(1, 3, dtype=torch.float64)
    if kind == "softmax":
        policy = CategoricalPolicy(3, 4, hidden=(5,)).double()
        f = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
        weight = policy.logits[-1].weight

        def expected_f():
            with torch.no_grad():
                return (policy.dist(obs).probs[0] * f).sum().item()

        dist = policy.dist(obs)
        actions = torch.arange(4)
        score_estimate = (dist.probs[0].detach() * f * dist.log_prob(actions)).sum()
        (grad,) = torch.autograd.grad(score_estimate, weight)
        torch.testing.assert_close(
            grad, finite_difference(expected_f, weight.data), atol=1e-7, rtol=1e-5
        )
    else:
        policy = GaussianPolicy(3, 2, hidden=(5,)).double()
        with torch.no_grad():
            policy.log_std.copy_(torch.tensor([-0.3, 0.4]))
        action = torch.tensor([[0.2, -0.7]], dtype=torch.float64)
        for param in (policy.mean[0].weight, policy.log_std):

            def log_pi():
                with torch.no_grad():
                    return policy.dist(obs).log_prob(action).item()

            (grad,) = torch.autograd.grad(policy.dist(obs).log_prob(action).sum(), param)
            torch.testing.assert_close(
                grad, finite_difference(log_pi, param.data), atol=1e-7, rtol=1e-5
            )


def test_gae_lambda_zero_is_td_and_one_is_monte_carlo():
    gamma = 0.9
    rewards = torch.tensor([[1.0], [0.0], [2.0], [1.0]])
    values = torch.tensor([[0.5], [1.0], [-1.0], [2.0]])
    next_values = torch.tensor([[1.0], [-1.0], [2.0], [7.0]])  # V(s_{t+1}); the last is ignored
    terminated = torch.tensor([[0], [0], [0], [1]])
    td = rl.gae(rewards, values, next_values, terminated, terminated, gamma, lam=0.0)
    expected_td = rewards + gamma * next_values * (1 - terminated) - values
    torch.testing.assert_close(td, expected_td)
    mc = rl.gae(rewards, values, next_values, terminated, terminated, gamma, lam=1.0)
    torch.testing.assert_close(mc, rl.discounted_returns(rewards, gamma) - values)
    by_hand = torch.tensor([[1 + 0.9 * 0 + 0.81 * 2 + 0.729 * 1 - 0.5]])  # G_0 - V(s_0)
    torch.testing.assert_close(mc[:1], by_hand)


def test_gae_bootstraps_truncation_but_not_termination_and_stops_at_episode_ends():
    rewards = torch.ones(2, 1)
    values = torch.zeros(2, 1)
    next_values = torch.full((2, 1), 10.0)
    ended = torch.tensor([[1], [0]])
    truncated = rl.gae(rewards, values, next_values, torch.zeros(2, 1), ended, 0.5, 1.0)
    terminated = rl.gae(rewards, values, next_values, ended, ended, 0.5, 1.0)
    assert truncated[0].item() == pytest.approx(1 + 0.5 * 10)  # bootstrapped, not 1 + 0.5 * A_1
    assert terminated[0].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one shape"):
        rl.gae(rewards, values, next_values[:1], ended, ended, 0.5, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        rl.gae(rewards, values, next_values, ended, ended, 1.5, 1.0)


def test_gae_in_float64_matches_an_explicit_float64_sum():
    """A_t = sum_l (gamma lambda)^l delta_{t+l} within an episode, computed in the inputs' dtype."""
    gen = torch.Generator().manual_seed(0)
    steps, gamma, lam = 200, 0.999, 0.97
    rewards = torch.randn(steps, 1, generator=gen, dtype=torch.float64)
    values = torch.randn(steps, 1, generator=gen, dtype=torch.float64)
    next_values = torch.randn(steps, 1, generator=gen, dtype=torch.float64)
    never = torch.zeros(steps, 1, dtype=torch.bool)
    advantages = rl.gae(rewards, values, next_values, never, never, gamma, lam)
    deltas = (rewards + gamma * next_values - values)[:, 0].tolist()
    expected = [
        sum((gamma * lam) ** (k - t) * deltas[k] for k in range(t, steps)) for t in range(steps)
    ]
    assert advantages.dtype == torch.float64
    torch.testing.assert_close(
        advantages[:, 0], torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=1e-12
    )


def test_importance_ratio_is_pi_over_beta_and_unbiased():
    pi = torch.tensor([0.1, 0.6, 0.3])
    beta = torch.tensor([0.5, 0.25, 0.25])
    rho = rl.importance_ratio(pi.log(), beta.log())
    torch.testing.assert_close(rho, pi / beta)
    f = torch.tensor([3.0, -1.0, 2.0])
    assert (beta * rho * f).sum().item() == pytest.approx((pi * f).sum().item())


def test_grid_world_values_solve_the_bellman_equation():
    world = GridWorld()
    pi = softmax_policy(np.random.default_rng(0).normal(size=(world.n_states, world.n_actions)))
    v, q = world.values(pi)
    np.testing.assert_allclose(v, (pi * (world.R + world.gamma * v[world.P])).sum(1), atol=1e-10)
    np.testing.assert_allclose((pi * q).sum(1), v, atol=1e-10)
    v_star = world.optimal_values()
    greedy = np.eye(world.n_actions)[(world.R + world.gamma * v_star[world.P]).argmax(1)]
    np.testing.assert_allclose(world.values(greedy)[0], v_star, atol=1e-8)


def test_td0_critic_converges_to_the_exact_values():
    world = GridWorld()
    uniform = np.full((world.n_states, world.n_actions), 1 / world.n_actions)
    v_true, _ = world.values(uniform)
    v_td = td0_evaluation(world, uniform, steps=100_000, lr=0.5)
    assert np.abs(v_td - v_true).max() < 0.2


@pytest.mark.parametrize("algorithm", ["QAC", "A2C", "off-policy A2C"])
def test_tabular_actor_critics_improve_the_policy(algorithm):
    world = GridWorld()
    run = tabular_actor_critic(world, algorithm, steps=10_000, seed=0)
    assert run.mean_value[-1] > run.mean_value[0] + 5  # from about -3.9 (uniform) towards 8.0


def test_replay_buffer_wraps_and_samples_uniformly():
    buffer = rl.ReplayBuffer(capacity=5, obs_dim=1, act_dim=1)
    for i in range(7):  # 7 single transitions into 5 slots: 0 and 1 are overwritten
        buffer.add(
            torch.tensor([[i]]),
            torch.tensor([[i]]),
            torch.tensor([i]),
            torch.tensor([[i]]),
            torch.tensor([0]),
        )
    assert buffer.size == 5 and sorted(buffer.rewards.tolist()) == [2, 3, 4, 5, 6]
    obs, *_ = buffer.sample(50_000, torch.Generator().manual_seed(0))
    counts = torch.bincount(obs.long().view(-1), minlength=7)[2:].float()
    assert (counts / counts.sum() - 0.2).abs().max() < 0.01
    with pytest.raises(ValueError, match="batch of shape"):
        buffer.add(
            torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2), torch.zeros(2, 1), torch.zeros(2)
        )
    with pytest.raises(ValueError, match="empty"):
        rl.ReplayBuffer(3, 1, 1).sample(1)


def test_deterministic_policy_stays_within_bounds():
    policy = DeterministicPolicy(
        3, torch.tensor([-2.0, 0.0]), torch.tensor([2.0, 1.0]), hidden=(8,)
    )
    with torch.no_grad():
        policy.net[-1].weight.mul_(1e4)  # saturate the tanh
        actions = policy(torch.randn(1000, 3) * 10)
    assert torch.all(actions >= torch.tensor([-2.0, 0.0])) and torch.all(
        actions <= torch.tensor([2.0, 1.0])
    )


def test_bad_input_is_a_clear_error():
    with pytest.raises(
        ValueError, match="unknown environment id 'CartPole-v9'; did you mean CartPole-v"
    ):
        rl.make_vec_env("CartPole-v9", 2, 0)
    with pytest.raises(ValueError, match="QAC .* needs a Discrete action space"):
        rl.train_actor_critic(
            rl.ActorCriticConfig(env_id="Pendulum-v1", critic="action"), progress=False
        )
    with pytest.raises(ValueError, match="deterministic actor-critic needs a Box action space"):
        rl.train_deterministic_ac(rl.DeterministicConfig(env_id="CartPole-v1"), progress=False)
    with pytest.raises(ValueError, match="critic must be one of"):
        rl.ActorCriticConfig(critic="q")
    with pytest.raises(ValueError, match="no stochastic policy"):
        policy_for(gym.spaces.MultiBinary(3), 4)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        tabular_actor_critic(GridWorld(), "SAC")


def test_largest_fall_and_collapse_by_hand():
    curve = [10, 200, 150, 500, 120, 400]
    assert rl.largest_fall(curve) == 380  # 500 down to 120
    assert rl.largest_fall([1, 2, 3]) == 0
    assert rl.largest_fall([float("nan"), 100, float("nan"), 40]) == 60
    assert not rl.collapsed(curve)  # ends at 400, above half of 500
    assert rl.collapsed([10, 500, 249]) and not rl.collapsed([10, 500, 250])
    assert rl.largest_fall([]) == 0 and not rl.collapsed([float("nan")])


def test_step_zero_evaluation_is_left_out_of_best_and_fall():
    """An untrained greedy CartPole policy can score 500 at step 0; that is not a fall."""
    curve, steps = [500, 20, 300, 100], [0, 10, 20, 30]
    assert rl.largest_fall(curve) == 480  # counted from the untrained policy
    assert rl.largest_fall(curve, steps) == 200  # 300 down to 100
    assert rl.collapsed(curve) and rl.collapsed(curve, steps)
    assert rl.collapsed([500, 20, 300, 240]) and not rl.collapsed([500, 20, 300, 240], steps)
    assert rl.after_start(curve, steps) == [20, 300, 100]
    with pytest.raises(ValueError, match="steps"):
        rl.largest_fall(curve, steps[1:])


def test_sustained_index():
    assert rl.sustained_index([500, 20, 480, 500, 476], 475) == 2
    assert rl.sustained_index([500, 20], 475) is None


def test_a2c_learns_cartpole_quickly():
    config = rl.ActorCriticConfig(total_steps=20_000, eval_every=5_000, eval_episodes=5)
    _, history = rl.train_actor_critic(config, seed=0, progress=False)
    assert max(history.eval_returns[1:]) >= 150  # a random policy scores about 22
    assert history.episode_returns and set(history.seconds) == {"env", "network", "rest"}


@pytest.mark.parametrize("baseline", [None, False, True])
def test_qac_actor_weight_is_q_or_q_minus_its_policy_average(baseline):
    """QAC's actor loss weights the score by Q_w(s, a), or with ``baseline=True`` by
    Q_w(s, a) - sum_a' pi(a'|s) Q_w(s, a'): the actor's gradient against one computed by hand."""
    from f2p.rl.actor_critic import _loss
    from f2p.rl.networks import ActorCritic

    torch.manual_seed(0)
    envs = rl.make_vec_env("CartPole-v1", 2, 0)
    config = rl.ActorCriticConfig(critic="action", baseline=baseline, vf_coef=0.0)
    agent = ActorCritic(
        envs.single_observation_space, envs.single_action_space, config.hidden, config.critic
    )
    envs.close()
    batch = {
        "obs": torch.randn(3, 2, 4),
        "actions": torch.randint(0, 2, (3, 2)),
        "rewards": torch.ones(3, 2),
        "terminated": torch.zeros(3, 2, dtype=torch.bool),
        "ended": torch.zeros(3, 2, dtype=torch.bool),
        "next_obs": torch.randn(3, 2, 4),
    }
    actor = list(agent.actor.parameters())
    got = torch.autograd.grad(_loss(agent, batch, config), actor)
    with torch.no_grad():
        q = agent.critic(batch["obs"])
        psi = q.gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)
        if baseline:
            psi = psi - (agent.actor.dist(batch["obs"]).probs * q).sum(-1)
    log_prob, _ = agent.actor.log_prob_entropy(batch["obs"], batch["actions"])
    want = torch.autograd.grad(-(log_prob * psi).mean(), actor)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


def test_rmsprop_moves_a_coordinate_at_most_lr_over_root_one_minus_alpha_clipped_or_not():
    """Chapter 08's clipping sentence: with v >= (1 - alpha) g_i^2, RMSprop's step on a coordinate
    is at most lr / sqrt(1 - alpha), whatever the gradient's norm; clipping a gradient by c shrinks
    its step by a factor between c (earlier gradients dominate v) and 1 (this one does)."""
    lr, alpha = 7e-4, 0.99

    def steps(grads, clip):
        x = torch.nn.Parameter(torch.zeros(3))
        opt = torch.optim.RMSprop([x], lr=lr, alpha=alpha, eps=1e-5)
        moves = []
        for g in grads:
            before = x.detach().clone()
            x.grad = g.clone()
            if clip:
                torch.nn.utils.clip_grad_norm_([x], 0.5)
            opt.step()
            moves.append((x.detach() - before).abs())
        return moves

    big = torch.tensor([3.0, -6.0, 1.5])
    c = 0.5 / big.norm()  # the clipping factor
    history = [torch.full((3,), 0.2)] * 200 + [big]  # earlier gradients of norm 0.35, unclipped
    for grads in ([big], history):
        for clip in (False, True):
            assert max(m.max() for m in steps(grads, clip)) <= lr / (1 - alpha) ** 0.5 + 1e-12
    # a first gradient dominates v: clipped or not, about the same step
    torch.testing.assert_close(steps([big], True)[0], steps([big], False)[0], rtol=1e-3, atol=0)
    # after a history that dominates v: the clipped step is a factor between c and 1 smaller
    ratio = steps(history, True)[-1] / steps(history, False)[-1]
    assert (ratio >= c - 1e-6).all() and (ratio < 0.5).all()


def test_categorical_sampling_follows_the_softmax():
    torch.manual_seed(0)
    policy = CategoricalPolicy(2, 3, hidden=(4,))
    with torch.no_grad():
        policy.logits[-1].bias.copy_(torch.tensor([1.0, 0.0, -1.0]))
        policy.logits[-1].weight.zero_()
        obs = torch.zeros(100_000, 2)
        freq = torch.bincount(policy.act(obs), minlength=3).float() / len(obs)
        expected = policy.dist(obs[:1]).probs[0]
    assert (freq - expected).abs().max() < 0.01


def test_flattened_parameters_share_storage_with_the_module():
    from f2p.rl.networks import ValueCritic, flatten_parameters

    torch.manual_seed(0)
    model, reference = ValueCritic(4, (8,)), ValueCritic(4, (8,))
    reference.load_state_dict(model.state_dict())
    flat, grad = flatten_parameters(model)
    x = torch.randn(5, 4)
    model(x).sum().backward()
    reference(x).sum().backward()
    torch.testing.assert_close(
        grad, torch.cat([p.grad.reshape(-1) for p in reference.parameters()])
    )
    with torch.no_grad():
        flat.add_(1.0)
    torch.testing.assert_close(model.net[0].weight, reference.net[0].weight + 1)


def test_deterministic_ac_trains_the_returned_actor_reproducibly():
    """The optimisers step flat copies of the parameters: the returned actor must be the trained
    one (its parameters views of the flat tensor), and a seed must fix the whole run."""
    config = rl.DeterministicConfig(
        num_envs=1, replay_size=500, learning_starts=100, total_steps=300, eval_every=0
    )
    runs = [rl.train_deterministic_ac(config, seed=3, progress=False)[0] for _ in range(2)]
    torch.manual_seed(3)
    space = gym.make("Pendulum-v1").action_space
    fresh = DeterministicPolicy(3, torch.as_tensor(space.low), torch.as_tensor(space.high))
    trained, again = (torch.cat([p.reshape(-1) for p in a.parameters()]) for a in runs)
    initial = torch.cat([p.detach().reshape(-1) for p in fresh.parameters()])
    assert torch.equal(trained, again)
    assert trained.shape == initial.shape and not torch.allclose(trained, initial)


def test_environments_step_alike_in_one_process_and_in_one_process_each():
    sync = rl.make_vec_env("CartPole-v1", 2, seed=3)
    parallel = rl.make_vec_env("CartPole-v1", 2, seed=3, vectorization="async")
    try:
        actions = np.array([0, 1])
        for _ in range(30):  # past the first episode's end: both reset in the same step
            a, b = sync.step(actions), parallel.step(actions)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
    finally:
        sync.close(), parallel.close()
    with pytest.raises(ValueError, match="vectorization"):
        rl.make_vec_env("CartPole-v1", 2, 0, vectorization="threads")


def test_running_statistics_equal_the_mean_and_variance_of_every_row_seen():
    """Chan's parallel update, batch by batch, against numpy on all rows at once (the prior
    count of 1e-4 at mean 0, variance 1 moves them by about 1e-4 / n)."""
    from f2p.rl.normalize import RunningMeanStd

    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 4)) for n in (1, 7, 50, 200)]
    stats = RunningMeanStd((4,))
    for batch in batches:
        stats.update(torch.as_tensor(batch))
    rows = np.concatenate(batches)
    np.testing.assert_allclose(stats.mean.numpy(), rows.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats.var.numpy(), rows.var(0), rtol=1e-5)
    assert float(stats.count) == pytest.approx(len(rows), abs=1e-3)


def test_observation_normaliser_is_clipped_standardisation_saved_with_the_agent():
    from f2p.rl.networks import ActorCritic

    space = gym.spaces.Box(-np.inf, np.inf, (3,))
    actions = gym.spaces.Box(-1.0, 1.0, (1,))
    agent = ActorCritic(space, actions, (8,), normalize=True)
    obs = torch.tensor([[1.0, 2.0, 300.0], [3.0, -2.0, 100.0], [2.0, 0.0, 200.0]])
    agent.obs_norm.update(obs)
    mean, var = agent.obs_norm.stats.mean, agent.obs_norm.stats.var
    probe = torch.tensor([[2.0, 1.0, 100_000.0]])
    expected = ((probe.double() - mean) / torch.sqrt(var + 1e-8)).clamp(-10, 10).float()
    torch.testing.assert_close(agent.obs_norm(probe), expected)
    assert agent.obs_norm(probe)[0, 2] == 10.0  # clipped
    copy = ActorCritic(space, actions, (8,), normalize=True)
    copy.load_state_dict(agent.state_dict())  # the statistics travel with the policy
    torch.testing.assert_close(copy.greedy(probe), agent.greedy(probe))
    plain = ActorCritic(space, actions, (8,))
    plain.obs_norm.update(obs)
    assert torch.equal(plain.obs_norm(probe), probe)  # disabled: the identity, never updated


def test_reward_scaler_divides_by_the_std_of_the_running_discounted_return():
    from f2p.rl.normalize import RewardScaler

    rng = np.random.default_rng(1)
    gamma, scaler = 0.9, RewardScaler(2, 0.9)
    returns, seen = np.zeros(2), []
    for t in range(30):
        rewards = rng.normal(1.0, 3.0, size=2)
        ended = np.array([t % 7 == 6, t % 11 == 10])
        got = scaler(rewards, ended)
        returns = returns * gamma + rewards
        seen.extend(returns)
        # the same prior as RunningMeanStd: count 1e-4 at mean 0, variance 1
        n, m = 1e-4, len(seen)
        mean = np.mean(seen) * m / (n + m)
        var = (n * 1.0 + m * np.var(seen) + n * m / (n + m) * np.mean(seen) ** 2) / (n + m)
        expected = np.clip(rewards / np.sqrt(var + 1e-8), -10, 10)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
        assert mean == pytest.approx(float(scaler.stats.mean), rel=1e-6, abs=1e-9)
        returns[ended] = 0.0


def test_rollouts_clip_box_actions_for_the_environment_and_store_them_unclipped():
    from f2p.rl.networks import GaussianPolicy
    from f2p.rl.rollout import RunHistory, collect_rollout

    envs = rl.make_vec_env("Pendulum-v1", 2, 0)
    sent = []
    step = envs.step

    def spy(action):
        sent.append(np.array(action))
        return step(action)

    envs.step = spy
    policy = GaussianPolicy(3, 1, (8,))
    with torch.no_grad():
        policy.log_std.fill_(3.0)  # sigma = 20 against bounds of +-2
    obs, _ = envs.reset(seed=0)
    batch = collect_rollout(envs, policy, obs, 20, "cpu", RunHistory(), 0)
    envs.close()
    stored, sent = batch["actions"].numpy(), np.stack(sent)
    assert np.abs(stored).max() > 2.0
    np.testing.assert_array_equal(sent, np.clip(stored, -2.0, 2.0))


def test_a_mujoco_task_without_mujoco_names_the_extra(monkeypatch):
    import importlib.util

    from f2p.rl import envs

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mujoco" else real(name, *a)
    )
    assert envs.is_mujoco("Hopper-v5") and not envs.is_mujoco("Pendulum-v1")
    with pytest.raises(ModuleNotFoundError, match=r"frames-to-policies\[mujoco\]"):
        envs.check_env_id("Hopper-v5")
    assert envs.check_env_id("Pendulum-v1") == "Pendulum-v1"


def test_trpo_normalises_on_mujoco_and_evaluation_leaves_the_statistics_frozen():
    """RL Zoo's Hopper settings: every training observation (the resets' included) enters the
    running statistics once; evaluations read them and add nothing."""
    from f2p.rl import trpo

    config = trpo.TRPOConfig.zoo(
        "Hopper-v5", n_steps=64, total_steps=256, eval_every=128, eval_episodes=1
    )
    assert config.normalize and config.cg_iterations == 25 and config.critic_batch == 128
    agent, history, _ = trpo.train_trpo(config, seed=0, progress=False)
    assert float(agent.obs_norm.stats.count) == pytest.approx(256 + config.num_envs, abs=1e-3)
    assert history.eval_steps == [0, 128, 256]
    before = agent.obs_norm.stats.mean.clone()
    rl.evaluate(agent.greedy, "Hopper-v5", 1, seed=5)
    assert torch.equal(agent.obs_norm.stats.mean, before)


def _egl_missing() -> str | None:
    """Why MuJoCo cannot render off-screen here, or None when it can."""
    try:
        from mujoco.egl import GLContext

        GLContext(8, 8).free()
    except Exception as error:  # no EGL library or no device: the reason goes into the skip
        return f"MuJoCo's EGL backend is unavailable here ({type(error).__name__}: {error})"
    return None


def test_policy_frames_render_a_moving_hopper():
    from f2p.rl.render import frame_strip, policy_frames

    reason = _egl_missing()
    if reason:
        pytest.skip(reason)
    rng = np.random.default_rng(0)

    def act(obs):
        return torch.as_tensor(rng.uniform(-1, 1, size=(len(obs), 3)), dtype=torch.float32)

    frames = policy_frames("Hopper-v5", act, steps=40, every=10, size=(64, 48))
    assert frames.shape[1:] == (48, 64, 3) and frames.dtype == np.uint8
    assert 2 <= len(frames) <= 5
    assert frames[0].std() > 10  # not a blank image
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 0.5  # it moved
    fig = frame_strip(frames, "random actions", columns=5, dt=0.08)
    assert fig.get_size_inches()[0] <= 6.7
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_on_hopper_a_time_limit_bootstraps_from_the_final_state_and_a_fall_does_not():
    """Hopper-v5 with a 25-step limit: standing still (zero torques) is cut by the limit at step
    25, a fixed push falls (terminates) at step 10. One-step advantages (GAE with lambda = 0)
    must be r + gamma V(final state) - V(s) at the cut, with the final state the one a single,
    never-reset environment reaches, and r - V(s) at the fall."""
    from f2p.rl.rollout import RunHistory, collect_rollout

    class Scripted:
        def act(self, obs):
            return torch.tensor([[0.0, 0.0, 0.0], [1.0, -1.0, 1.0]])

    envs = rl.make_vec_env("Hopper-v5", 2, 0, max_episode_steps=25)
    obs, _ = envs.reset(seed=0)
    b = collect_rollout(envs, Scripted(), obs, 30, "cpu", RunHistory(), 0)
    envs.close()
    cut, fall = (24, 0), (9, 1)
    assert b["ended"][cut] and not b["terminated"][cut]
    assert b["terminated"][fall]
    single = gym.make("Hopper-v5", max_episode_steps=25)
    single.reset(seed=0)
    for _ in range(25):
        final, *_ = single.step(np.zeros(3))
    single.close()
    torch.testing.assert_close(b["next_obs"][cut], torch.as_tensor(final, dtype=torch.float32))
    assert not torch.allclose(b["next_obs"][cut], b["obs"][cut[0] + 1, 0])  # not the reset state
    w = torch.linspace(-1, 1, 11)
    values, next_values = b["obs"] @ w, b["next_obs"] @ w
    gamma = 0.99
    adv = rl.gae(b["rewards"], values, next_values, b["terminated"], b["ended"], gamma, 0.0)
    expected_cut = b["rewards"][cut] + gamma * next_values[cut] - values[cut]
    torch.testing.assert_close(adv[cut], expected_cut)
    torch.testing.assert_close(adv[fall], b["rewards"][fall] - values[fall])
