"""Kimi k1.5's loss on a real small model and grade-school maths, with TRL (chapter 11, "Scaling
up with TRL"). Needs GPUs, network access to the Hugging Face Hub, and the ``scale`` extra plus
``deepspeed``; not run in this course's CI.

    accelerate launch --config_file accelerate_zero2.yaml k15_gsm8k.py
    python k15_gsm8k.py --model Qwen/Qwen2.5-0.5B-Instruct --max-steps 10   # one GPU, a smoke run
"""

from __future__ import annotations

import argparse
import re

from datasets import load_dataset

from f2p.llm.trl_bridge import K15Config, K15Trainer

# A number as GSM8K writes one: optional sign and dollar sign, thousands commas, decimals.
NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
INSTRUCTION = "Solve the problem step by step. End with the final answer as a number alone.\n\n"


def final_number(text: str) -> float | None:
    """The last number of a response (or of a GSM8K solution, after its "####"), else None.

    The usual GSM8K normalisation (as in lm-evaluation-harness's "flexible-extract" and its
    ignored patterns ",", "$" and a trailing "."): the last number in the text counts, wherever
    it stands ("**18**", "18 dollars."), with "$" and thousands commas dropped and the value
    compared as a number, so "1,000" = "1000" and "5.0" = "5"; a sentence's full stop after it
    is not part of it."""
    numbers = NUMBER.findall(text.split("####")[-1])
    if not numbers:
        return None
    try:
        return float(numbers[-1].replace("$", "").replace(",", ""))
    except ValueError:
        return None


def correctness(completions, solution, **_) -> list[float]:
    """The verifier: 1 when the response's final number equals the reference answer, else 0."""
    rewards = []
    for completion, reference in zip(completions, solution, strict=True):
        text = completion if isinstance(completion, str) else completion[-1]["content"]
        got, want = final_number(text), final_number(reference)
        rewards.append(float(got is not None and got == want))
    return rewards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B-Instruct")
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--tau", type=float, default=0.5)
    args = parser.parse_args()
    data = load_dataset("openai/gsm8k", "main", split="train").map(
        lambda row: {
            "prompt": [{"role": "user", "content": INSTRUCTION + row["question"]}],
            "solution": row["answer"],
        }
    )
    config = K15Config(
        output_dir="k15-gsm8k",
        tau=args.tau,
        num_generations=8,  # k samples per problem
        per_device_train_batch_size=16,  # 2 problems x 8 samples per GPU and step
        num_iterations=2,  # two gradient steps on each batch, pi_i's log-probs kept
        max_completion_length=512,
        temperature=1.0,
        learning_rate=1e-6,
        max_steps=args.max_steps,
        bf16=True,
        gradient_checkpointing=True,
        logging_steps=10,
        report_to="none",
    )
    trainer = K15Trainer(
        model=args.model, reward_funcs=[correctness], args=config, train_dataset=data
    )
    trainer.train()
    trainer.save_model()


if __name__ == "__main__":
    main()
