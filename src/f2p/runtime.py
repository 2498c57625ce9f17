"""The run's settings, read from the environment in one place: the profile (budgets, threads,
bf16, parallel runs), the device, seeding, mixed precision, generators on a device, and the run
report the GPU suite collects. Every ``F2P_*`` variable is in the table of ``book/how_to_use.md``.

Chapters reach these through :mod:`f2p.utils` (``f2p.utils.profile()``, ``f2p.utils.device()``).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

PROFILES = ("fast", "full")


T = TypeVar("T")


def device() -> torch.device:
    """The one place where the course chooses a device.

    ``F2P_DEVICE`` overrides the default (CUDA when available, otherwise CPU). An unknown or
    unavailable device is a clear error rather than a silent fallback.
    """
    requested = os.environ.get("F2P_DEVICE", "").strip()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(requested)
    except RuntimeError as err:
        raise ValueError(
            f"F2P_DEVICE={requested!r} is not a torch device; "
            "expected e.g. 'cpu', 'cuda' or 'cuda:0'"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"F2P_DEVICE={requested!r} but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"F2P_DEVICE={requested!r} but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif dev.type != "cpu":
        raise ValueError(f"F2P_DEVICE={requested!r}: expected a 'cpu' or 'cuda' device")
    return dev


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a torch generator with that seed.

    With ``deterministic`` the cuDNN autotuner is off and cuDNN picks deterministic kernels, so
    the same seed gives the same numbers on CPU (and, as far as CUDA allows, on a GPU).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    return torch.Generator().manual_seed(seed)


def autocast(device: torch.device | str, enabled: bool | None = None) -> torch.autocast:
    """Mixed precision for a training step on ``device`` when ``enabled`` (``None``: as the run's
    profile says, :attr:`Profile.bf16`): matrix products and convolutions run in bfloat16, while
    the operations autocast keeps in float32 (softmax, log-softmax, cross-entropy and the other
    losses, reductions) stay there; parameters, gradients and optimiser states stay float32.
    bfloat16 has float32's exponent range, so no loss scaling is needed. A no-op when off."""
    enabled = profile().bf16 if enabled is None else enabled
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=enabled)


def generator_on(device: torch.device | str, gen: torch.Generator) -> torch.Generator:
    """A random generator for sampling on ``device``: ``gen`` itself when it is on that kind of
    device (so a CPU run draws the same numbers as always), otherwise a new generator on
    ``device`` seeded by one draw from ``gen`` (reproducible on a given device)."""
    device = torch.device(device)
    if gen.device.type == device.type:
        return gen
    seed = int(torch.randint(2**62, (), generator=gen))
    return torch.Generator(device=device).manual_seed(seed)


@dataclass(frozen=True)
class Profile:
    """The budgets of one run. Notebooks take every size from ``pick`` and never hard-code one."""

    name: str
    """``fast`` (laptop CPU and CI: every notebook well under 3 minutes on 2 cores) or ``full``
    (GPU: the budgets that reach the reference results)."""
    threads: int
    """torch intra-op threads: 1 in the fast profile, whose runs share the machine's cores (with
    every core busy, a second thread makes small models several times slower; on an idle machine
    it gains little: ``benchmarks/ch00_threads.py``)."""
    bf16: bool = False
    """bf16 autocast in the training steps of the video, generative and LLM trainers
    (:func:`autocast`): off in the fast profile, on in the full one where CUDA is."""
    processes: int = 1
    """independent training runs (seeds, variants) trained at a time, each in its own process on
    one thread (:func:`f2p.parallel.map_runs`): 1 in the fast profile, ``threads`` in the full
    one, whose RL chapters train dozens of small networks on the CPU."""

    @property
    def reproducible(self) -> bool:
        """The fast profile picks deterministic cuDNN kernels; the full one lets cuDNN time its
        kernels for each input shape and keep the fastest (``cudnn.benchmark``)."""
        return self.name == "fast"

    def pick(self, fast: T, full: T) -> T:
        """Return the ``fast`` budget in the fast profile and the ``full`` one in the full profile.

        A notebook writes ``steps = prof.pick(fast=300, full=20_000)``: both budgets stand side by
        side where they are used, and the run's profile chooses.
        """
        return fast if self.name == "fast" else full


def positive_int_from_env(variable: str, default: int) -> int:
    """The positive integer that ``variable`` holds, or ``default`` when it is unset or empty."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{variable}={value!r}: expected a positive integer")
    return int(value)


def profile(name: str | None = None) -> Profile:
    """Return the run's profile: ``name`` if given, else ``F2P_PROFILE``, else by hardware.

    The default is ``full`` when CUDA is available and ``fast`` otherwise. The fast profile uses
    one torch thread, the full one torch's default; ``F2P_THREADS`` overrides either. ``F2P_BF16``
    (``0`` or ``1``) overrides the profile's bf16 autocast, ``F2P_PROCESSES`` its number of
    training runs at a time.
    """
    chosen = name if name is not None else os.environ.get("F2P_PROFILE", "").strip().lower()
    if not chosen:
        chosen = "full" if torch.cuda.is_available() else "fast"
    if chosen not in PROFILES:
        raise ValueError(
            f"unknown profile {chosen!r}: expected one of {', '.join(PROFILES)} (set F2P_PROFILE)"
        )
    threads = positive_int_from_env(
        "F2P_THREADS", 1 if chosen == "fast" else torch.get_num_threads()
    )
    bf16 = chosen == "full" and torch.cuda.is_available()
    override = os.environ.get("F2P_BF16", "").strip()
    if override:
        if override not in ("0", "1"):
            raise ValueError(f"F2P_BF16={override!r}: expected 0 or 1")
        bf16 = override == "1"
    processes = positive_int_from_env("F2P_PROCESSES", 1 if chosen == "fast" else threads)
    return Profile(name=chosen, threads=threads, bf16=bf16, processes=processes)


def set_threads(n: int) -> None:
    """Set torch's intra-op thread count (and the BLAS hint for child processes).

    Small models are dominated by per-op overhead: where the cores are shared, one thread beats
    two for the course's models, several times over (``benchmarks/ch00_threads.py`` measures
    it). Inter-op threads can only be set once per process, so they are left alone.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"thread count must be a positive int, got {n!r}")
    torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)


def run_report() -> dict[str, object]:
    """This process's device, its GPU's name and its peak GPU memory (bytes allocated by torch;
    None without CUDA)."""
    cuda = torch.cuda.is_available() and device().type == "cuda"
    return {
        "device": str(device()),
        "gpu": torch.cuda.get_device_name(device()) if cuda else None,
        "peak_gpu_bytes": torch.cuda.max_memory_allocated(device()) if cuda else None,
        "threads": torch.get_num_threads(),
    }


def write_run_report(path: Path) -> None:
    """Write :func:`run_report` to ``path`` as JSON, whole or not at all (written beside it,
    then renamed)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(run_report()), encoding="utf-8")
    partial.replace(path)
