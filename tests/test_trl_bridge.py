"""Chapter 11 on TRL (``f2p.llm.trl_bridge``): the tokenizer, the reward functions and the k1.5
loss against the package's own, and short TRL runs offline. Needs the ``scale`` extra, which
``make test`` installs."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest
import torch

pytest.importorskip("trl", reason="the scale extra (trl, transformers, datasets)")

from f2p.llm import losses, tasks  # noqa: E402
from f2p.llm import trl_bridge as tb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails, as in the notebook guard: nothing may be downloaded."""

    def refuse(*args, **kwargs):
        raise OSError("network access blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def task_strings() -> list[str]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for digits in (1, 2, 3, 4):
        for p in tasks.sample_problems(25, digits, gen):
            out += [p.prompt, tasks.trace(p), tasks.trace(p, check=True), p.prompt + tasks.trace(p)]
    return out + [tasks.VOCAB]


def test_tokenizer_round_trips_every_task_string_with_the_package_ids():
    tok = tb.task_tokenizer()
    for text in task_strings():
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert ids == tasks.encode([text])[0].tolist()
        assert tok.decode(ids) == text
    assert (tok.pad_token_id, tok.eos_token_id) == (tasks.PAD, tasks.EOS)


def completion_batch():
    """Two prompts with four responses each: right, wrong, malformed (no end token, garbage,
    empty) and a longer right one with the check step."""
    problems = [tasks.Problem(47, 85, 2), tasks.Problem(3, 9, 1)]
    texts = []
    for p in problems:
        texts += [tasks.trace(p), "A999.", "7+5+0=12;", tasks.trace(p, check=True)]
    texts[2], texts[5] = "", "::Ac"  # an empty response and garbage
    ids = [tasks.encode([t], len(t))[0].tolist() if t else [] for t in texts]
    columns = {
        "prompts": [p.prompt for p in problems for _ in range(4)],
        "completion_ids": ids,
        "a": [p.a for p in problems for _ in range(4)],
        "b": [p.b for p in problems for _ in range(4)],
        "digits": [p.digits for p in problems for _ in range(4)],
    }
    return problems, texts, columns


def test_rewards_agree_with_the_verifier_and_the_length_penalty_malformed_included():
    problems, texts, columns = completion_batch()
    correct = tb.correctness_reward(**columns)
    expected = [tasks.reward(t, problems[i // 4]) for i, t in enumerate(texts)]
    assert correct == expected and correct[0] == 1.0 and correct[1:3] == [0.0, 0.0]
    length = tb.length_reward(**columns)
    reference = losses.length_penalty(
        torch.tensor([len(t) for t in texts]).view(2, 4), torch.tensor(expected).view(2, 4)
    )
    torch.testing.assert_close(torch.tensor(length), reference.flatten().float())


def fixed_batch():
    """Two 2-digit prompts (same length: no left padding) with three sampled responses each, the
    rewards, and pi_i's token log-probabilities from a perturbed copy of the model."""
    gen = torch.Generator().manual_seed(1)
    problems = tasks.sample_problems(2, 2, gen)
    prompts = tasks.encode([p.prompt for p in problems for _ in range(3)])
    completion = torch.randint(2, len(tasks.VOCAB), (6, 7), generator=gen)
    mask = torch.ones_like(completion)
    mask[1, 4:], mask[4, 2:] = 0, 0  # two shorter responses
    completion[mask == 0] = tasks.PAD
    rewards = torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, 1.0]])
    old_model = tb.task_model(seed=0)
    with torch.no_grad():
        for p in old_model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
        old = token_logprobs(old_model, prompts, completion)
    inputs = {
        "prompt_ids": prompts,
        "prompt_mask": torch.ones_like(prompts),
        "completion_ids": completion,
        "completion_mask": mask,
        "advantages": (rewards - rewards.mean(1, keepdim=True)).flatten(),
        "old_per_token_logps": old,
    }
    return inputs, rewards, old


def token_logprobs(model, prompts, completion) -> torch.Tensor:
    """log pi(o_t | x, o_<t) of each response token, by a plain forward pass."""
    ids = torch.cat([prompts, completion], 1)
    logits = model(ids, attention_mask=torch.ones_like(ids)).logits[:, prompts.shape[1] - 1 : -1]
    return torch.log_softmax(logits.float(), -1).gather(-1, completion[..., None])[..., 0]


def trainer(cls, config_cls, tmp_path, model, **overrides):
    gen = torch.Generator().manual_seed(0)
    args = config_cls(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=16,
        learning_rate=1e-3,
        report_to="none",
        use_cpu=True,
        bf16=False,  # TRL autocasts to bfloat16 by default, on CPU too
        save_strategy="no",
        **overrides,
    )
    return cls(
        model=model,
        processing_class=tb.task_tokenizer(),
        reward_funcs=[tb.correctness_reward, tb.length_reward],
        args=args,
        train_dataset=tb.task_dataset(tasks.sample_problems(16, 2, gen)),
    )


def test_k15_trainer_loss_and_gradient_equal_the_package_loss(tmp_path, no_network):
    model, tau = tb.task_model(seed=0), 0.5
    k15 = trainer(tb.K15Trainer, tb.K15Config, tmp_path, model, tau=tau)
    inputs, rewards, old = fixed_batch()
    k15.current_gradient_accumulation_steps = 1  # set by TRL's training step
    model.zero_grad()
    ours = k15._compute_loss(model, inputs)
    ours.backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    mask = inputs["completion_mask"]
    logp = (token_logprobs(model, inputs["prompt_ids"], inputs["completion_ids"]) * mask).sum(-1)
    reference = losses.k15_loss(logp.view(2, 3), (old * mask).sum(-1).view(2, 3), rewards, tau)
    reference.backward()
    assert abs(ours.item() - reference.item()) < 1e-6 and reference.item() > 0.01
    for g, p in zip(got, model.parameters(), strict=True):
        torch.testing.assert_close(g, p.grad, atol=1e-6, rtol=1e-5)


def test_k15_config_refuses_settings_that_change_the_objective(tmp_path):
    with pytest.raises(ValueError, match="tau must be > 0"):
        tb.K15Config(output_dir=str(tmp_path), tau=0.0, report_to="none", use_cpu=True)
    with pytest.raises(ValueError, match="scale_rewards='none' and beta=0"):
        tb.K15Config(
            output_dir=str(tmp_path), scale_rewards="group", report_to="none", use_cpu=True
        )


@pytest.mark.parametrize("method", ["grpo", "k15"])
def test_two_trl_steps_run_offline_and_move_the_parameters(method, tmp_path, no_network):
    torch.manual_seed(0)
    model = tb.task_model(seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    if method == "k15":
        run = trainer(tb.K15Trainer, tb.K15Config, tmp_path, model, num_iterations=2)
    else:
        run = trainer(tb.GRPOTrainer, tb.GRPOConfig, tmp_path, model, num_iterations=2)
    run.train()
    assert run.state.global_step == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_the_gpu_script_verifier_reads_gsm8k_answers_and_chat_completions():
    path = ROOT / "chapters" / "11_llm_reasoning" / "scale" / "k15_gsm8k.py"
    spec = importlib.util.spec_from_file_location("k15_gsm8k", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    solution = "Natalia sold 48/2 = 24 clips in May.\n#### 1,072"
    assert script.final_number(solution) == 1072.0
    completions = [
        "48 + 24 = 1072\nSo the answer is 1,072",
        [{"role": "assistant", "content": "The total is 1072"}],
        "The answer is 1071",
        "I cannot tell.",
        "",
    ]
    assert script.correctness(completions, [solution] * 5) == [1.0, 1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("response", "reference", "expected"),
    [
        ("So the answer is 1,000", "#### 1000", 1.0),  # thousands comma in the response
        ("So the answer is 1000", "#### 1,000", 1.0),  # ... or in the reference
        ("The total cost is $5", "#### 5", 1.0),  # dollar sign
        ("The answer is 5.0", "#### 5", 1.0),  # a decimal written out
        ("The answer is 18.", "#### 18", 1.0),  # a sentence's full stop
        ("She pays $1,072.00.", "#### 1072", 1.0),  # all of them at once
        ("The answer is **18**", "#### 18", 1.0),  # markdown bold
        ("He ends with 18 dollars.", "#### 18", 1.0),  # a unit after the number
        ("The change is -3", "#### -3", 1.0),  # negative answers
        ("The answer is 18.", "#### 17", 0.0),  # a wrong number stays wrong
        ("The answer is 1,0000", "#### 1000", 0.0),  # commas are not a licence for digits
        ("The answer is 10.72", "#### 1072", 0.0),  # a point is a decimal point
        ("18 eggs, so the answer is 19", "#### 18", 0.0),  # the last number counts
        ("The answer is 5.5", "#### 5", 0.0),
        ("I cannot tell.", "#### 18", 0.0),
    ],
)
def test_the_gpu_script_verifier_normalises_gsm8k_answers(response, reference, expected):
    path = ROOT / "chapters" / "11_llm_reasoning" / "scale" / "k15_gsm8k.py"
    spec = importlib.util.spec_from_file_location("k15_gsm8k", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.correctness([response], [reference]) == [expected]
