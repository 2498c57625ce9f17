"""Chapter 11 benchmark: rollout throughput of the tiny GPT with and without its key-value cache,
and the time of one RL iteration (sampling and update) for each loss.

The model is the chapter's (2 layers, width 64; ``--layers 4 --width 128`` for the issue's
calibration size). Throughput is measured on the untrained model with the end token masked out,
so that every sequence runs the whole token budget; the RL iterations start from the chapter's
supervised warm-up, so that response lengths are realistic. One torch thread; writes
``src/f2p/data/results/ch11_rollout_speed.json``.

    python benchmarks/ch11_rollout_speed.py
    python benchmarks/ch11_rollout_speed.py --batch 8 --tokens 8 --iterations 1 --out smoke.json
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch

import f2p
from f2p.llm import model as gpt
from f2p.llm.tasks import EOS, encode, sample_problems
from f2p.llm.train import RLConfig, WarmupConfig, train_rl, warmup

RESULTS = f2p.results.RESULTS_DIR / "ch11_rollout_speed.json"


def tokens_per_second(model: gpt.GPT, batch: int, tokens: int, use_cache: bool) -> float:
    """Sampled tokens per second for ``batch`` prompts of a 3-digit problem, with the end token
    masked out so that every sequence runs the whole budget."""
    prompts = encode([p.prompt for p in sample_problems(batch, 3, torch.Generator())])
    gen = torch.Generator().manual_seed(0)
    never_end = model.head.register_forward_hook(
        lambda module, inputs, logits: logits.index_fill(-1, torch.tensor([EOS]), -torch.inf)
    )
    start = time.perf_counter()
    out = gpt.generate(model, prompts, tokens, 1.0, gen, use_cache=use_cache)
    seconds = time.perf_counter() - start
    never_end.remove()
    return out.numel() / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128, help="16 problems x k = 8")
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--iterations", type=int, default=5, help="RL iterations timed per loss")
    parser.add_argument("--warmup-steps", type=int, default=650)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    f2p.utils.set_threads(1)
    torch.manual_seed(0)
    config = gpt.GPTConfig(layers=args.layers, width=args.width, heads=4, context=96)
    model = gpt.GPT(config).eval()
    rows = []
    speeds = {}
    for use_cache in (True, False):
        tokens_per_second(model, 4, 4, use_cache)  # warm-up
        speeds[use_cache] = tokens_per_second(model, args.batch, args.tokens, use_cache)
        label = "with" if use_cache else "without"
        print(f"{label:>7} KV cache: {speeds[use_cache]:,.0f} tokens/s")
        rows.append(
            {
                "quantity": f"sampled tokens per second, {label} KV cache "
                f"(batch {args.batch}, {args.tokens} tokens)",
                "ours": round(speeds[use_cache], 1),
            }
        )
    rows.append(
        {"quantity": "KV cache speed-up (x)", "ours": round(speeds[True] / speeds[False], 2)}
    )
    warm = gpt.GPT(config)
    warmup(warm, WarmupConfig(steps=args.warmup_steps), progress=False)
    for method in ("k15", "grpo", "reinforce"):
        rl = RLConfig(method=method, iterations=args.iterations, problems=args.batch // 8, k=8)
        history = train_rl(copy.deepcopy(warm), rl, seed=0, progress=False)
        for part, seconds in history.seconds.items():
            per_iteration = seconds / args.iterations
            print(f"{method:>9}: {part} {per_iteration:.3f} s per iteration")
            rows.append(
                {
                    "quantity": f"RL iteration, {method}: {part} seconds",
                    "ours": round(per_iteration, 4),
                }
            )
    f2p.results.write_benchmark(
        args.out,
        "11",
        f"tiny GPT rollouts and RL iterations ({args.layers} layers, width "
        f"{args.width}, {sum(p.numel() for p in model.parameters()):,} parameters)",
        "ch11_rollout_speed.py",
        rows,
    )


if __name__ == "__main__":
    main()
