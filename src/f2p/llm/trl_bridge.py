"""Chapter 11 on Hugging Face TRL, the engine people scale RL for language models with.

The chapter's addition task, its verifier and Kimi k1.5's length penalty become TRL reward
functions; k1.5's loss (Kimi Team, 2025, section 2.3.2),

    L(theta) = mean over a prompt's k responses of (r - r_bar - tau log pi_theta(y|x)/pi_i(y|x))^2,

becomes a ``GRPOTrainer`` subclass. A character tokenizer for the task's 18 symbols and a
randomly initialised GPT-2 of the chapter's size stand in for a real model: nothing is
downloaded. Needs the ``scale`` extra (``pip install 'frames-to-policies[scale]'``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import torch
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer

from f2p.llm import losses, tasks
from f2p.llm.model import GPTConfig
from f2p.llm.train import WarmupConfig, max_response


def task_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character of :data:`f2p.llm.tasks.VOCAB`, with the same ids as
    :func:`f2p.llm.tasks.encode`; "_" pads (on the left, as TRL's generation wants) and "."
    ends a response."""
    core = Tokenizer(models.BPE(vocab=dict(tasks.STOI), merges=[]))  # no merges: characters
    core.decoder = decoders.Fuse()  # join the characters back without spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=tasks.VOCAB[tasks.PAD],
        eos_token=tasks.VOCAB[tasks.EOS],
        padding_side="left",
    )


CHAPTER_GPT = GPTConfig(layers=2, heads=4, width=64, context=96)
"""the sizes of chapter 11's model"""


def task_model(config: GPTConfig = CHAPTER_GPT, seed: int = 0) -> GPT2LMHeadModel:
    """A randomly initialised GPT-2 with the sizes of the chapter's :class:`f2p.llm.model.GPT`
    (pre-norm blocks, learned positions, a 4x GELU MLP, no dropout); unlike it, GPT-2 ties its
    output layer to the token embedding."""
    torch.manual_seed(seed)
    return GPT2LMHeadModel(
        GPT2Config(
            vocab_size=config.vocab,
            n_positions=config.context,
            n_embd=config.width,
            n_layer=config.layers,
            n_head=config.heads,
            bos_token_id=tasks.EOS,
            eos_token_id=tasks.EOS,
            pad_token_id=tasks.PAD,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
        )
    )


def task_dataset(problems: list[tasks.Problem]) -> Dataset:
    """The prompts, with the operands as columns that TRL hands to the reward functions."""
    return Dataset.from_dict(
        {
            "prompt": [p.prompt for p in problems],
            "a": [p.a for p in problems],
            "b": [p.b for p in problems],
            "digits": [p.digits for p in problems],
        }
    )


def warmup_dataset(config: WarmupConfig, seed: int = 0) -> Dataset:
    """The package's warm-up examples (:func:`f2p.llm.train.warmup`), the same traces in the same
    order, as prompt/completion pairs for TRL's ``SFTTrainer`` (it scores the completions)."""
    gen = torch.Generator().manual_seed(seed)
    prompts, completions = [], []
    for step in range(config.steps):
        digits = config.digits[step % len(config.digits)]
        problems = tasks.sample_problems(config.batch, digits, gen)
        checks = torch.rand(config.batch, generator=gen) < config.check_fraction
        prompts += [p.prompt for p in problems]
        completions += [tasks.trace(p, bool(c)) for p, c in zip(problems, checks, strict=True)]
    return Dataset.from_dict({"prompt": prompts, "completion": completions})


@torch.no_grad()
def greedy_evaluation(model, problems: list[tasks.Problem]) -> dict[str, float]:
    """Greedy pass@1 and mean response length (tokens, end token included) of a ``transformers``
    model on ``problems`` of one level, read as :func:`f2p.llm.train.evaluate` reads the
    package's GPT."""
    model.eval()
    prompts = tasks.encode([p.prompt for p in problems]).to(model.device)
    out = model.generate(
        prompts,
        attention_mask=torch.ones_like(prompts),
        max_new_tokens=max_response(problems[0].digits),
        do_sample=False,
        eos_token_id=tasks.EOS,
        pad_token_id=tasks.PAD,
    )
    texts = tasks.decode(out[:, prompts.shape[1] :].cpu())
    rewards = [tasks.reward(t, p) for t, p in zip(texts, problems, strict=True)]
    return {
        "pass@1": sum(rewards) / len(rewards),
        "length": sum(map(len, texts)) / len(texts),
    }


def _responses(completion_ids: list[list[int]]) -> list[str]:
    """The responses as the package reads them, end token kept (TRL's decoded ``completions``
    drop it as a special token, and the verifier needs it)."""
    return [tasks.decode(torch.tensor([ids], dtype=torch.long))[0] for ids in completion_ids]


def correctness_reward(completion_ids, a, b, digits, **_) -> list[float]:
    """TRL reward function: :func:`f2p.llm.tasks.reward` of each response (0 when malformed)."""
    return [
        tasks.reward(text, tasks.Problem(x, y, d))
        for text, x, y, d in zip(_responses(completion_ids), a, b, digits, strict=True)
    ]


def length_reward(prompts, completion_ids, a, b, digits, **_) -> list[float]:
    """TRL reward function: k1.5's length reward, :func:`f2p.llm.losses.length_penalty`, over
    each prompt's responses. The group is the responses to the same prompt in the batch TRL
    scores, which holds whole groups in a single process."""
    correct = correctness_reward(completion_ids, a, b, digits)
    lengths = [len(text) for text in _responses(completion_ids)]
    groups = defaultdict(list)
    for i, prompt in enumerate(prompts):
        groups[prompt].append(i)
    out = [0.0] * len(prompts)
    for members in groups.values():
        lam = losses.length_penalty(
            torch.tensor([[lengths[i] for i in members]]),
            torch.tensor([[correct[i] for i in members]]),
        )[0]
        for i, value in zip(members, lam.tolist(), strict=True):
            out[i] = value
    return out


@dataclass
class K15Config(GRPOConfig):
    """GRPOConfig for :class:`K15Trainer`: advantages are r - r_bar (no division by the
    group's std) and there is no KL to a reference model; tau is k1.5's regulariser."""

    tau: float = field(default=1.0, metadata={"help": "k1.5's tau (weight of the log-ratio)"})
    scale_rewards: str = field(default="none", metadata={"help": "must stay 'none' for k1.5"})
    beta: float = field(default=0.0, metadata={"help": "must stay 0: tau is the regulariser"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tau <= 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")
        if self.scale_rewards != "none" or self.beta != 0.0:
            raise ValueError(
                "k1.5 takes r - r_bar as it is and no reference KL: need scale_rewards='none' and "
                f"beta=0, got scale_rewards={self.scale_rewards!r}, beta={self.beta}"
            )


class K15Trainer(GRPOTrainer):
    """TRL's GRPO loop (sampling, rewards, r - r_bar per group, ``num_iterations`` steps per
    batch with pi_i's log-probabilities kept) with k1.5's squared loss in place of the clipped
    ratio. Sequence log-probabilities are sums over the response tokens."""

    def _compute_loss(self, model, inputs):
        if not isinstance(self.args, K15Config):
            raise TypeError(f"K15Trainer needs a K15Config, got {type(self.args).__name__}")
        prompt_ids, completion_ids = inputs["prompt_ids"], inputs["completion_ids"]
        mask = inputs["completion_mask"]
        token_logp, _, _ = self._get_per_token_logps_and_entropies(
            model,
            torch.cat([prompt_ids, completion_ids], dim=1),
            torch.cat([inputs["prompt_mask"], mask], dim=1),
            completion_ids.size(1),
        )
        old = inputs.get("old_per_token_logps")  # absent when pi_theta is still pi_i
        old = token_logp.detach() if old is None else old
        loss = losses.k15_loss_from_advantages(
            (token_logp * mask).sum(-1), (old * mask).sum(-1), inputs["advantages"], self.args.tau
        )
        return loss / self.current_gradient_accumulation_steps
