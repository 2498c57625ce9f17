"""Binarised MNIST for the full profile of chapter 07: download, verify, parse, binarise.

The four-file MNIST release is fetched once into a user cache (``$F2P_DATA``, default
``~/.cache/f2p``), each file checked against its SHA-256 before it is moved into place, so an
interrupted or corrupt download never leaves a half-written file behind. Images are parsed from
the IDX format (big-endian header: magic 0x00000803, count, rows, columns; then uint8 pixels).

Binarisation: stochastic, done once with a fixed seed (pixel ~ Bernoulli(grey / 255)), as in
Salakhutdinov and Murray (2008), whose fixed binarised set the NADE and MADE papers used; ours is
a draw of the same kind, not the same file, so numbers compare closely but not exactly.
Split: the first 50,000 training images for training, the last 10,000 for validation, and the
10,000 test images for testing.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
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


def cache_dir() -> Path:
    """Where downloads are kept: ``$F2P_DATA`` or ``~/.cache/f2p``."""
    return Path(os.environ.get("F2P_DATA", Path.home() / ".cache" / "f2p"))


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


def load_binarized_mnist(
    folder: Path | None = None, seed: int = 0, mirrors: tuple[str, ...] = MIRRORS
) -> BinaryImages:
    """Binarised MNIST, split 50,000 / 10,000 / 10,000 (downloads about 11 MB on first use)."""
    folder = folder or cache_dir() / "mnist"
    train_grey = read_idx_images(fetch(*FILES["train"], folder, mirrors))
    test_grey = read_idx_images(fetch(*FILES["test"], folder, mirrors))
    n_train = len(train_grey) - 10_000
    train_all = binarize_stochastic(train_grey, seed)
    return BinaryImages(
        train=train_all[:n_train],
        valid=train_all[n_train:],
        test=binarize_stochastic(test_grey, seed + 1),
        height=train_grey.shape[1],
        width=train_grey.shape[2],
        train_grey=torch.as_tensor(
            train_grey[:n_train].reshape(n_train, -1) / 255.0, dtype=torch.float32
        ),
    )
