"""How many torch threads for the course's small models? One against two, with the machine's
other core idle and with it busy, for three workloads: chapter 08's A2C agent training on
CartPole (small MLPs, batch of 8 environments), chapter 09's DDPG updates with the paper's
[400, 300] networks on batches of 256 (the largest networks the RL chapters train), and chapter
11's tiny GPT sampling tokens with its key-value cache. The ``fast`` profile's one thread per
process (its runs share the cores) and ``f2p.parallel``'s one thread per run are set from these
figures.

"Busy" means a second process spinning in pure Python for the whole timing, as when the other
pytest worker or a second notebook runs beside this one. Each timing is the best of
``--repeats``; the ratio is (time with two threads) / (time with one): above 1, one thread wins.

    python benchmarks/ch00_threads.py
    python benchmarks/ch00_threads.py --a2c-steps 400 --updates 5 --tokens 4 --out x.json
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gymnasium as gym
import torch

import f2p
from f2p.llm import model as gpt
from f2p.llm.tasks import encode, sample_problems
from f2p.rl import ActorCriticConfig, ReplayBuffer, ddpg, train_actor_critic

RESULTS = f2p.results.RESULTS_DIR / "ch00_threads.json"
SPIN = "while True: pass"


@contextlib.contextmanager
def other_core(busy: bool) -> Iterator[None]:
    """Keep a second process spinning for the duration (nothing when ``busy`` is false)."""
    spinner = subprocess.Popen([sys.executable, "-c", SPIN]) if busy else None
    try:
        time.sleep(0.2 if busy else 0)  # let it start before the clock does
        yield
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def best_time(work: Callable[[], object], threads: int, busy: bool, repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``work`` on ``threads`` torch threads."""
    f2p.utils.set_threads(threads)
    times = []
    with other_core(busy):
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
    return min(times)


def a2c_run(steps: int) -> Callable[[], object]:
    """Chapter 08's A2C on CartPole-v1 (8 environments, [64, 64] networks), ``steps`` steps."""
    config = ActorCriticConfig(total_steps=steps, eval_every=steps, eval_episodes=1)
    return lambda: train_actor_critic(config, seed=0, progress=False)


def ddpg_updates(updates: int) -> Callable[[], object]:
    """Chapter 09's DDPG (the paper's [400, 300] networks, batch 256) on Pendulum-sized data:
    ``updates`` gradient updates of actor and critic with their soft target updates."""
    torch.manual_seed(0)
    config = ddpg.DDPGConfig()
    agent = ddpg.DDPG(3, gym.spaces.Box(-2.0, 2.0, (1,)), config)
    updater = ddpg.DDPGUpdater(agent, config)
    n = 10_000
    buffer = ReplayBuffer(n, 3, 1)
    buffer.add(
        torch.randn(n, 3), torch.rand(n, 1), torch.randn(n), torch.randn(n, 3), torch.zeros(n)
    )

    def run() -> None:
        for _ in range(updates):
            updater.step(buffer.sample(config.batch_size))

    return run


def gpt_sampling(batch: int, tokens: int) -> Callable[[], object]:
    """Chapter 11's tiny GPT (2 layers, width 64) sampling ``tokens`` tokens for ``batch``
    3-digit problems with its key-value cache."""
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(layers=2, width=64, heads=4, context=96)).eval()
    prompts = encode([p.prompt for p in sample_problems(batch, 3, torch.Generator())])
    return lambda: gpt.generate(model, prompts, tokens, 1.0, torch.Generator().manual_seed(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a2c-steps", type=int, default=4_000)
    parser.add_argument("--updates", type=int, default=200, help="DDPG gradient updates")
    parser.add_argument("--batch", type=int, default=128, help="chapter 11's 16 problems x k = 8")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if min(args.a2c_steps, args.updates, args.tokens, args.repeats) < 1:
        raise SystemExit("--a2c-steps, --updates, --tokens and --repeats must be positive")
    workloads = {
        f"A2C on CartPole-v1, {args.a2c_steps:,} steps": a2c_run(args.a2c_steps),
        f"DDPG, {args.updates} updates of [400, 300] networks": ddpg_updates(args.updates),
        f"tiny GPT sampling, batch {args.batch}, {args.tokens} tokens": gpt_sampling(
            args.batch, args.tokens
        ),
    }
    rows = []
    for name, work in workloads.items():
        work()  # warm-up: imports, environment registration, first allocations
        for busy in (False, True):
            other = "other core busy" if busy else "other core idle"
            seconds = {n: best_time(work, n, busy, args.repeats) for n in (1, 2)}
            ratio = seconds[2] / seconds[1]
            print(f"{name}, {other}: 1 thread {seconds[1]:.2f} s, 2 threads {seconds[2]:.2f} s")
            rows += [
                {"quantity": f"{name}, {other}: {n} thread{'s' * (n > 1)} (s)", "ours": round(s, 3)}
                for n, s in seconds.items()
            ]
            rows.append(
                {"quantity": f"{name}, {other}: 2 threads / 1 thread", "ours": round(ratio, 2)}
            )
    f2p.results.write_benchmark(
        args.out,
        "00",
        "torch threads for small models: one against two, the other core idle or busy",
        "ch00_threads.py",
        rows,
        profile="fast",
        device="cpu, 1 and 2 torch threads",
    )


if __name__ == "__main__":
    main()
