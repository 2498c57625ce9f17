"""Chapter 11 benchmark: the chapter's warm-up and RL on Hugging Face TRL beside the package's
own loop, on the same task and budget.

Per seed: the package's GPT is warmed up on step-by-step traces (:func:`f2p.llm.train.warmup`)
and then trained with k1.5's loss (:func:`f2p.llm.train.train_rl`); a GPT-2 of the same size
(:func:`f2p.llm.trl_bridge.task_model`) is warmed up on the same traces with TRL's
``SFTTrainer`` and then trained with TRL's ``GRPOTrainer`` and with k1.5's loss
(:class:`f2p.llm.trl_bridge.K15Trainer`). Same budget everywhere: warm-up steps, batch and
learning rate; RL iterations of 16 problems x 8 samples from a fixed pool of 3-digit problems,
two gradient steps per batch, learning rate 1e-4, tau 0.5 (k1.5), clip 0.2 and beta 0.04
(GRPO). Reported: greedy pass@1 on 200 held-out problems per level, the mean greedy response
length on 3 digits, wall-clock seconds, and each RL run's gain over its own warm-up (paired by
seed), as mean and std (ddof=0) over seeds. CPU, one torch thread,
float32. Needs the ``scale`` extra; writes ``src/f2p/data/results/ch11_trl.json``.

    python benchmarks/ch11_trl.py                       # 3 seeds, the chapter's fast budget
    python benchmarks/ch11_trl.py --seeds 0 --warmup-steps 2 --iterations 1 --test 4 --out s.json
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

import f2p
from f2p.llm import trl_bridge as tb
from f2p.llm.model import GPT
from f2p.llm.tasks import sample_problems
from f2p.llm.train import RLConfig, WarmupConfig, evaluate, max_response, train_rl, warmup

RESULTS = f2p.results.RESULTS_DIR / "ch11_trl.json"
LEVELS = (1, 2, 3)


def common(out: str, seed: int) -> dict:
    """TRL settings shared by every run, as in the package's loop (AdamW without weight decay,
    a constant learning rate, no gradient clipping); CPU in float32, no logging or checkpoints."""
    return dict(
        output_dir=out,
        seed=seed,
        use_cpu=True,
        bf16=False,  # TRL autocasts to bfloat16 by default, on CPU too
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,  # the Trainer clips at 1.0 by default; the package's loop does not
    )


def rl_settings(rl: RLConfig, out: str, seed: int) -> dict:
    """The package's RL budget in TRL's terms: one generation batch of problems x k samples,
    ``updates`` optimiser steps on it (TRL's num_iterations), ``iterations`` batches."""
    return dict(
        common(out, seed),
        per_device_train_batch_size=rl.problems * rl.k,
        num_generations=rl.k,
        num_iterations=rl.updates,
        max_steps=rl.iterations * rl.updates,
        learning_rate=rl.lr,
        temperature=rl.temperature,
        max_completion_length=max_response(3),
    )


def trl_runs(seed: int, warm_config: WarmupConfig, rl: RLConfig, pool, tests) -> dict:
    """TRL's SFT warm-up, then GRPO and k1.5 from it; per run its evaluation and seconds."""
    results = {}
    with tempfile.TemporaryDirectory() as out:
        model, tokenizer = tb.task_model(seed=seed), tb.task_tokenizer()
        start = time.perf_counter()
        SFTTrainer(
            model=model,
            processing_class=tokenizer,
            train_dataset=tb.warmup_dataset(warm_config, seed),
            args=SFTConfig(
                **common(out, seed),
                per_device_train_batch_size=warm_config.batch,
                max_steps=warm_config.steps,
                learning_rate=warm_config.lr,
            ),
        ).train()
        results["TRL, SFT warm-up"] = (model, time.perf_counter() - start)
        warm = f"{out}/warm"  # GRPO's reference model is loaded from where the policy was
        model.save_pretrained(warm)
        for name, trainer, config in (
            ("TRL, GRPO", GRPOTrainer, GRPOConfig(**rl_settings(rl, out, seed), beta=rl.beta,
                                                  epsilon=rl.clip, loss_type="grpo")),
            ("TRL, k1.5", tb.K15Trainer, tb.K15Config(**rl_settings(rl, out, seed), tau=rl.tau)),
        ):  # fmt: skip
            start = time.perf_counter()
            run = trainer(
                model=warm,
                processing_class=tokenizer,
                reward_funcs=[tb.correctness_reward],
                args=config,
                train_dataset=tb.task_dataset(pool),
            )
            run.train()
            results[name] = (run.model, time.perf_counter() - start)
    return {
        name: ({d: tb.greedy_evaluation(m, tests[d]) for d in LEVELS}, seconds)
        for name, (m, seconds) in results.items()
    }


def package_runs(seed: int, warm_config: WarmupConfig, rl: RLConfig, pool, tests) -> dict:
    """The chapter's own loop on the same budget: warm-up, then k1.5."""
    torch.manual_seed(seed)
    model = GPT(tb.CHAPTER_GPT)
    start = time.perf_counter()
    warmup(model, warm_config, seed, progress=False)
    warm_seconds = time.perf_counter() - start
    policy = copy.deepcopy(model)
    start = time.perf_counter()
    train_rl(policy, rl, seed, progress=False, pools={3: pool})
    rl_seconds = time.perf_counter() - start
    return {
        name: ({d: evaluate(m, tests[d], k=None, seed=seed) for d in LEVELS}, seconds)
        for name, m, seconds in (
            ("package, warm-up", model, warm_seconds),
            ("package, k1.5", policy, rl_seconds),
        )
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--warmup-steps", type=int, default=650)
    parser.add_argument("--iterations", type=int, default=20, help="the chapter's fast profile")
    parser.add_argument("--test", type=int, default=200, help="held-out problems per level")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    warm_config = WarmupConfig(steps=args.warmup_steps)
    rl = RLConfig(method="k15", iterations=args.iterations)
    tests = {
        d: sample_problems(args.test, d, torch.Generator().manual_seed(99 + d)) for d in LEVELS
    }
    per_seed: dict[str, list] = {}
    for seed in args.seeds:
        pool = sample_problems(rl.pool, 3, torch.Generator().manual_seed(3000 + seed))
        for runs in (package_runs, trl_runs):
            for name, result in runs(seed, warm_config, rl, pool, tests).items():
                per_seed.setdefault(name, []).append(result)
                evaluation, seconds = result
                print(
                    f"seed {seed} {name:>18}: pass@1 "
                    + " ".join(f"{d}d {evaluation[d]['pass@1']:.2f}" for d in LEVELS)
                    + f", length {evaluation[3]['length']:.1f}, {seconds:.0f} s",
                    flush=True,
                )
    rows = []
    for name, results in per_seed.items():
        figures = {f"pass@1, {d} digit{'s' * (d > 1)}": [r[0][d]["pass@1"] for r in results]
                   for d in LEVELS}  # fmt: skip
        figures["greedy length, 3 digits"] = [r[0][3]["length"] for r in results]
        figures["wall seconds"] = [r[1] for r in results]
        for metric, values in figures.items():
            for stat, value in (("mean", np.mean(values)), ("std", np.std(values))):
                rows.append(
                    {"quantity": f"{name}: {metric} ({stat})", "ours": round(float(value), 4)}
                )
    warmups = {"package, k1.5": "package, warm-up", "TRL, GRPO": "TRL, SFT warm-up",
               "TRL, k1.5": "TRL, SFT warm-up"}  # fmt: skip
    for name, warm_name in warmups.items():  # paired per seed: each run against its own warm-up
        gains = [r[0][3]["pass@1"] - w[0][3]["pass@1"]
                 for r, w in zip(per_seed[name], per_seed[warm_name], strict=True)]  # fmt: skip
        for stat, value in (("mean", np.mean(gains)), ("std", np.std(gains))):
            rows.append(
                {
                    "quantity": f"{name}: gain over its warm-up, pass@1, 3 digits ({stat})",
                    "ours": round(float(value), 4),
                }  # fmt: skip
            )
    f2p.results.write_benchmark(
        args.out,
        "11",
        f"the chapter's task on TRL beside the package's loop, {len(args.seeds)} seed(s), "
        f"{args.warmup_steps} warm-up steps, {args.iterations} RL iterations",
        "ch11_trl.py",
        rows,
    )


if __name__ == "__main__":
    main()
