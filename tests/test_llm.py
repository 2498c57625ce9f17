"""f2p.llm: the task and reward, the tiny GPT and its cache, k1.5's loss and its comparisons."""

from __future__ import annotations

import math

import pytest
import torch

from f2p.llm import losses
from f2p.llm.long2short import merge
from f2p.llm.model import GPT, GPTConfig, generate, response_logprobs
from f2p.llm.sampling import PrioritizedSampler, curriculum_level
from f2p.llm.tasks import (
    PAD,
    VOCAB,
    Problem,
    decode,
    encode,
    parse_answer,
    reward,
    sample_problems,
    trace,
)


def test_traces_are_correct_and_rewarded():
    gen = torch.Generator().manual_seed(0)
    for digits in (1, 3, 5):
        for p in sample_problems(50, digits, gen):
            for check in (False, True):
                t = trace(p, check)
                assert parse_answer(t) == p.a + p.b and reward(t, p) == 1.0
    assert trace(Problem(47, 385, 3)) == "7+5+0=12;4+8+1=13;0+3+1=04;A0432."
    assert trace(Problem(47, 385, 3), check=True).endswith("c047+385=0432;A0432.")


@pytest.mark.parametrize(
    "response",
    ["", "A", "A.", "A0432", "0432.", "A04x32.", "A0432.A0433", "A0431.", "A-432.", None, 432],
)
def test_malformed_or_wrong_responses_get_zero_and_never_raise(response):
    assert reward(response, Problem(47, 385, 3)) == 0.0


def test_the_last_answer_line_counts():
    assert reward("A0001.", Problem(47, 385, 3)) == 0.0
    assert parse_answer("7+5+0=12;A9;A0432.") == 432


def test_encode_decode_round_trip_and_errors():
    texts = ["047+385:", "7+5+0=12;A0432."]
    ids = encode(texts)
    assert ids.shape == (2, 15) and decode(ids) == texts
    with pytest.raises(ValueError, match="vocabulary"):
        encode(["12*3"])
    with pytest.raises(ValueError, match="longer"):
        encode(["12345"], length=3)


def tiny_gpt(dtype=torch.float64) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(layers=2, heads=2, width=16, context=40)).to(dtype).eval()


def test_kv_cache_samples_the_same_tokens_as_recomputing():
    model = tiny_gpt()
    prompts = encode(["047+385:"] * 6)
    with_cache = generate(model, prompts, 20, 1.0, torch.Generator().manual_seed(3))
    without = generate(model, prompts, 20, 1.0, torch.Generator().manual_seed(3), use_cache=False)
    assert torch.equal(with_cache, without)
    assert (with_cache != 0).any()


def test_the_model_is_causal():
    model = tiny_gpt()
    x = encode(["047+385:7+5"])
    y = x.clone()
    y[0, -1] = (y[0, -1] + 1) % 18
    a, _ = model(x)
    b, _ = model(y)
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_response_logprobs_match_step_by_step_scoring():
    model = tiny_gpt()
    prompts, responses = encode(["12+34:"]), encode(["2+4+0=06;"])
    logp = response_logprobs(model, prompts, responses)
    seq = torch.cat([prompts, responses], 1)
    for t in range(responses.shape[1]):
        logits, _ = model(seq[:, : prompts.shape[1] + t])
        step = logits[0, -1].clone()
        step[PAD] = -torch.inf  # the sampler never emits padding
        expected = torch.log_softmax(step, -1)[responses[0, t]]
        torch.testing.assert_close(logp[0, t], expected)
    with pytest.raises(ValueError, match="context"):
        model(encode(["1" * 41]))


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_response_logprobs_are_the_samplers_distribution(temperature):
    """pi_i in the k1.5 ratio is what generate() samples from: PAD excluded, at its temperature."""
    model = tiny_gpt()
    prompts = encode(["12+34:"])
    candidates = torch.tensor([[v] for v in range(len(VOCAB)) if v != PAD])
    logp = response_logprobs(model, prompts.expand(len(candidates), -1), candidates, temperature)
    assert torch.logsumexp(logp[:, 0], 0).item() == pytest.approx(0.0, abs=1e-9)
    n = 20_000
    first = generate(model, prompts.expand(n, -1), 1, temperature, torch.Generator().manual_seed(0))
    frequency = torch.bincount(first[:, 0], minlength=len(VOCAB)).double() / n
    assert frequency[PAD] == 0
    torch.testing.assert_close(frequency[candidates[:, 0]], logp[:, 0].exp(), atol=0.01, rtol=0)


def test_k15_loss_gradient_is_the_closed_form_direction():
    """A policy over K whole responses, pi = softmax(theta): grad log pi(y) = e_y - pi."""
    g = torch.Generator().manual_seed(0)
    K, k, tau = 6, 5, 0.3
    theta = torch.randn(K, dtype=torch.float64, generator=g, requires_grad=True)
    theta_old = theta.detach() + 0.1 * torch.randn(K, dtype=torch.float64, generator=g)
    samples = torch.randint(0, K, (2, k), generator=g)
    rewards = torch.randint(0, 2, (2, k), generator=g).double()
    logp = torch.log_softmax(theta, 0)[samples]
    logp_old = torch.log_softmax(theta_old, 0)[samples]
    (grad_loss,) = torch.autograd.grad(losses.k15_loss(logp, logp_old, rewards, tau), theta)

    pi = torch.softmax(theta.detach(), 0)
    closed = torch.zeros(K, dtype=torch.float64)
    for i in range(2):
        r_bar = rewards[i].mean()
        for j in range(k):
            score = torch.nn.functional.one_hot(samples[i, j], K).double() - pi
            log_ratio = logp[i, j].detach() - logp_old[i, j]
            # (r - r_bar) grad log pi - (tau / 2) grad (log ratio)^2
            closed += (rewards[i, j] - r_bar) * score - tau * log_ratio * score
    closed /= 2 * k
    torch.testing.assert_close(grad_loss, -2 * tau * closed)
    (grad_direction,) = torch.autograd.grad(
        losses.k15_direction(torch.log_softmax(theta, 0)[samples], logp_old, rewards, tau), theta
    )
    torch.testing.assert_close(grad_direction, closed)


def test_tau_log_z_tends_to_the_mean_reward():
    rewards = torch.tensor([[0.0, 1.0, 1.0, 0.0, 1.0, 0.5]], dtype=torch.float64)
    mean, var = rewards.mean(), rewards.var(unbiased=False)
    errors = [abs(losses.tau_log_z(rewards, tau).item() - mean.item()) for tau in (1, 10, 100)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 2e-3
    tau = 100.0  # the cumulant expansion: tau log Z = mean + var / (2 tau) + O(1/tau^2)
    expected = (mean + var / (2 * tau)).item()
    assert losses.tau_log_z(rewards, tau).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="tau"):
        losses.tau_log_z(rewards, 0.0)


def test_length_penalty_by_hand():
    lengths = torch.tensor([[10, 20, 30], [10, 30, 30], [7, 7, 7]])
    correct = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    expected = torch.tensor([[0.5, 0.0, -0.5], [0.0, -0.5, -0.5], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(losses.length_penalty(lengths, correct), expected)
    with pytest.raises(ValueError, match=r"expected lengths of shape \(problems, k\) with k >= 2"):
        losses.length_penalty(torch.tensor([[3]]), torch.tensor([[1]]))
    with pytest.raises(ValueError, match=r"shape \(1, 3\) != lengths' \(1, 2\)"):
        losses.length_penalty(torch.tensor([[3, 4]]), torch.tensor([[1, 0, 1]]))


def test_grpo_and_reinforce_losses_on_known_inputs():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    logp = torch.zeros(1, 4, 3, requires_grad=True)
    mask = torch.ones(1, 4, 3)
    loss = losses.grpo_loss(logp, logp.detach(), logp.detach(), mask, rewards, beta=0.1)
    assert loss.item() == pytest.approx(0.0, abs=1e-7)  # ratio 1, KL 0, advantages sum to 0
    loss.backward()
    # d loss / d logp = -A / T / (number of responses), A = +-0.5 / (std + 1e-4), std = 0.577
    a = 0.5 / (rewards.std() + 1e-4)
    torch.testing.assert_close(logp.grad[0, 0], torch.full((3,), -a.item() / 3 / 4))
    assert losses.reinforce_loss(torch.zeros(1, 4), rewards).item() == 0.0
    assert losses.dpo_loss(*[torch.zeros(3)] * 4).item() == pytest.approx(math.log(2))


def test_prioritized_sampling_frequencies_follow_failure_rates():
    """Each slot of a batch is a draw with p_i = (1 - s_i) / sum_j (1 - s_j): over whole batches
    of 16 from 20 problems, problem i is expected 16 p_i times per batch."""
    gen = torch.Generator().manual_seed(0)
    success = torch.linspace(0, 0.95, 20, dtype=torch.float64)
    sampler = PrioritizedSampler(20, gen)
    sampler.update(torch.arange(20), success)
    batches = 5_000
    counts = torch.bincount(torch.cat([sampler.sample(16) for _ in range(batches)]), minlength=20)
    expected = 16 * (1 - success) / (1 - success).sum()
    torch.testing.assert_close(counts.double() / batches, expected, atol=0.07, rtol=0)  # 4.5 sd
    sampler.update(torch.arange(20), torch.ones(20, dtype=torch.float64))  # all solved: uniform
    torch.testing.assert_close(
        sampler.probabilities(), torch.full((20,), 0.05, dtype=torch.float64)
    )
    with pytest.raises(ValueError, match="success"):
        sampler.update(torch.arange(1), torch.tensor([1.5]))


def test_prioritized_sampler_keeps_success_rates_current():
    gen = torch.Generator().manual_seed(0)
    strict, floored = PrioritizedSampler(3, gen), PrioritizedSampler(3, gen, floor=0.1)
    for sampler in (strict, floored):
        sampler.update(torch.tensor([0, 1, 2]), torch.tensor([1.0, 0.0, 0.0]))
    assert 0 not in torch.cat([strict.sample(16) for _ in range(100)])  # the report's rule
    drawn = torch.cat([floored.sample(16) for _ in range(100)])
    assert (drawn == 0).sum() > 0  # a solved problem still comes back with a floor
    floored.update(torch.tensor([0, 0, 1]), torch.tensor([0.5, 0.25, 1.0]))  # drawn twice: mean
    assert floored.success.tolist() == [0.375, 1.0, 0.0]


def test_curriculum_goes_from_easy_to_hard():
    assert [curriculum_level(i, 9, 3) for i in range(9)] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError):
        curriculum_level(9, 9, 3)


def test_merge_averages_weights():
    a, b = tiny_gpt(), tiny_gpt()
    with torch.no_grad():
        for p in b.parameters():
            p.add_(1.0)
    merged = merge(a, b, 0.25)
    for pm, pa in zip(merged.parameters(), a.parameters(), strict=True):
        torch.testing.assert_close(pm, pa + 0.75)
    with pytest.raises(ValueError, match="weight"):
        merge(a, b, 1.5)


def test_a_short_rl_run_and_bad_settings():
    from f2p.llm.train import RLConfig, train_rl

    model = tiny_gpt(torch.float32).train()
    config = RLConfig(iterations=2, problems=2, k=2, digits=(1,), pool=4)
    history = train_rl(model, config, progress=False)
    assert len(history.accuracy) == 2 and all(0 <= a <= 1 for a in history.accuracy)
    assert [level for level, _ in history.drawn] == [1, 1]
    assert all(len(set(i)) == 2 and 0 <= min(i) and max(i) < 4 for _, i in history.drawn)
    with pytest.raises(ValueError, match="method"):
        RLConfig(method="ppo")
    with pytest.raises(ValueError, match="k must"):
        RLConfig(k=1)
    with pytest.raises(ValueError, match="4 problems per level"):
        train_rl(model, config, progress=False, pools={1: [Problem(1, 2, 1)]})


def test_rl_trains_on_the_given_pool_only(monkeypatch):
    """With ``pools``, every problem RL samples comes from them (the pass@k experiment relies on
    measuring the same problems before and after)."""
    from f2p.llm import train

    pool = [Problem(1, 2, 1), Problem(3, 4, 1), Problem(5, 1, 1), Problem(2, 2, 1)]
    seen = []
    real_rollout = train.rollout

    def spy(model, problems, *args):
        seen.extend(problems)
        return real_rollout(model, problems, *args)

    monkeypatch.setattr(train, "rollout", spy)
    config = train.RLConfig(iterations=3, problems=3, k=2, digits=(1,), pool=4)
    train.train_rl(tiny_gpt(torch.float32).train(), config, progress=False, pools={1: pool})
    assert len(seen) == 9 and set(seen) <= set(pool)
    rates = train.pass_rates(tiny_gpt(torch.float32), pool, k=4)
    assert rates.shape == (4,) and ((rates >= 0) & (rates <= 1)).all()


def test_long2short_data_follows_k15(monkeypatch):
    """k1.5, section 2.4: SFT on the shortest correct of n samples for every problem that has
    one; DPO pairs (shortest correct, r) for every wrong r longer than it and every correct r at
    least 1.5 times as long."""
    from f2p.llm import long2short
    from f2p.llm.train import Rollouts

    problems = [Problem(1, 2, 1), Problem(2, 2, 1), Problem(3, 3, 1), Problem(4, 4, 1)]
    texts = [
        "1+2+0=03;c1+2=03;A03.",  # correct, 21 tokens >= 1.5 x 13: rejected
        "1+2+0=03;A03.",  # the shortest correct: chosen
        "A05.",  # wrong but shorter than the chosen: not a negative
        "A05.",  # nothing correct: no pair, nothing to fine-tune on
        "A01.",
        "2+2+0=04;A05.",
        "A06.",  # the shortest correct (4 tokens)
        "3+3+0=06;A06.",  # correct, 13 >= 1.5 x 4: rejected
        "3+3+0=06;c3+3=07;A07.",  # wrong and longer: rejected
        "4+4+0=08;c4+4=08;A08.",  # correct, 21 >= 1.5 x 12: rejected
        "4+4+0=08;A08.",  # correct, 13 < 1.5 x 12: neither chosen nor rejected
        "4+4+0=8;A08.",  # the shortest correct (12 tokens): chosen
    ]
    rewards = torch.tensor(
        [reward(t, p) for t, p in zip(texts, [q for q in problems for _ in range(3)], strict=True)]
    )

    def fake_rollout(model, probs, k, temperature, gen, device):
        return Rollouts(None, encode(texts), rewards.view(4, 3), None)

    monkeypatch.setattr(long2short, "rollout", fake_rollout)
    data = long2short.long2short_data(None, problems, 3, 1.0, None)
    assert data.shortest == [
        ("1+2:", "1+2+0=03;A03."),
        ("3+3:", "A06."),
        ("4+4:", "4+4+0=8;A08."),
    ]
    assert data.pairs == [
        ("1+2:", "1+2+0=03;A03.", "1+2+0=03;c1+2=03;A03."),
        ("3+3:", "A06.", "3+3+0=06;A06."),
        ("3+3:", "A06.", "3+3+0=06;c3+3=07;A07."),
        ("4+4:", "4+4+0=8;A08.", "4+4+0=08;c4+4=08;A08."),
    ]
    with pytest.raises(ValueError, match="ratio"):
        long2short.long2short_data(None, problems, 3, 1.0, None, ratio=0.5)


def test_evaluate_counts_greedy_and_sampled_successes(monkeypatch):
    """A scripted 'model': greedy decoding answers the first problem only; sampling answers the
    second problem in one of its k samples. pass@1 = 1/2, pass@k = 1/2, and with ``k=None``
    nothing is sampled."""
    from f2p.llm import train

    problems = [Problem(12, 34, 2), Problem(56, 7, 2)]
    wrong = "0+0+0=00;A0."
    calls = []

    def scripted(model, prompts, max_new, temperature, gen=None):
        calls.append(temperature)
        if temperature == 0:
            texts = [trace(problems[0]), wrong]
        else:
            k = len(prompts) // len(problems)
            texts = [wrong] * k + [trace(problems[1])] + [wrong] * (k - 1)
        return encode(texts, max_new)

    monkeypatch.setattr(train, "generate", scripted)
    result = train.evaluate(torch.nn.Identity(), problems, k=3)
    assert result == pytest.approx(
        {"pass@1": 0.5, "pass@3": 0.5, "length": (len(trace(problems[0])) + len(wrong)) / 2}
    )
    assert calls == [0.0, 1.0]
    calls.clear()
    assert set(train.evaluate(torch.nn.Identity(), problems, k=None)) == {"pass@1", "length"}
    assert calls == [0.0]


def test_tokens_are_drawn_with_a_generator_on_the_prompts_device():
    from f2p.utils import generator_on

    gen = torch.Generator().manual_seed(0)
    assert generator_on("cpu", gen) is gen  # a CPU run draws the numbers it always drew

    class GeneratorOnAGPU:
        device = torch.device("cuda", 0)

    with pytest.raises(ValueError, match="generator_on"):
        generate(tiny_gpt(), encode(["1+2:"]), 3, 1.0, GeneratorOnAGPU())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (make gpu)")
def test_sampling_on_a_gpu_is_reproducible_and_stays_there():
    from f2p.utils import generator_on

    model, prompts = tiny_gpt(torch.float32).cuda(), encode(["12+34:"] * 4).cuda()
    draws = [
        generate(model, prompts, 8, 1.0, generator_on("cuda", torch.Generator().manual_seed(1)))
        for _ in range(2)
    ]
    assert draws[0].device.type == "cuda" and torch.equal(*draws)
