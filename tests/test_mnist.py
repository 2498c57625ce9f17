"""f2p.generative.mnist on small IDX files the tests write, served from file:// "mirrors"."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest

from f2p.generative import mnist


def idx_bytes(images: np.ndarray, magic: int = mnist.IDX_IMAGES_MAGIC) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", magic, n, rows, cols) + images.astype(np.uint8).tobytes()


@pytest.fixture
def mirror(tmp_path):
    """A folder with a gzipped IDX file of 12 random 4x4 images, as a file:// mirror."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    images = np.random.default_rng(0).integers(0, 256, size=(12, 4, 4), dtype=np.uint8)
    (folder / "tiny.gz").write_bytes(gzip.compress(idx_bytes(images)))
    digest = hashlib.sha256((folder / "tiny.gz").read_bytes()).hexdigest()
    return folder.as_uri() + "/", digest, images


def test_fetch_verifies_and_parses(mirror, tmp_path):
    url, digest, images = mirror
    cache = tmp_path / "cache"
    path = mnist.fetch("tiny.gz", digest, cache, mirrors=(url,))
    assert np.array_equal(mnist.read_idx_images(path), images)
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.gz"]
    assert mnist.fetch("tiny.gz", digest, cache, mirrors=()) == path  # served from the cache


def test_checksum_mismatch_leaves_nothing_in_the_cache(mirror, tmp_path):
    url, _, _ = mirror
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="SHA-256 mismatch"):
        mnist.fetch("tiny.gz", "0" * 64, cache, mirrors=(url,))
    assert list(cache.iterdir()) == []


def test_falls_back_to_the_next_mirror(mirror, tmp_path):
    url, digest, _ = mirror
    broken = (tmp_path / "nowhere").as_uri() + "/"
    path = mnist.fetch("tiny.gz", digest, tmp_path / "cache", mirrors=(broken, url))
    assert path.exists()


def test_corrupt_cached_file_is_reported(mirror, tmp_path):
    url, digest, _ = mirror
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny.gz").write_bytes(b"not the file")
    with pytest.raises(ValueError, match="SHA-256 is wrong; delete it"):
        mnist.fetch("tiny.gz", digest, cache, mirrors=(url,))


@pytest.mark.parametrize(
    "content, message",
    [
        (idx_bytes(np.zeros((3, 4, 4)))[:-5], "truncated or corrupt"),
        (idx_bytes(np.zeros((3, 4, 4)), magic=0x801), "magic number"),
        (b"\x00\x00", "too short"),
    ],
)
def test_bad_idx_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        mnist.read_idx_images(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 4, 4))))[:20])
    with pytest.raises(ValueError, match="not a readable IDX file"):
        mnist.read_idx_images(path)


def test_load_binarized_mnist_splits_and_binarises(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    folder = tmp_path / "mirror"
    folder.mkdir()
    files = {}
    for split, n in (("train", 10_004), ("test", 7)):
        name = f"{split}.gz"
        (folder / name).write_bytes(gzip.compress(idx_bytes(rng.integers(0, 256, (n, 2, 3)))))
        files[split] = (name, hashlib.sha256((folder / name).read_bytes()).hexdigest())
    monkeypatch.setattr(mnist, "FILES", files)
    data = mnist.load_binarized_mnist(tmp_path / "cache", mirrors=(folder.as_uri() + "/",))
    assert (len(data.train), len(data.valid), len(data.test)) == (4, 10_000, 7)
    assert data.dim == 6 and set(data.valid.unique().tolist()) == {0.0, 1.0}
    again = mnist.load_binarized_mnist(tmp_path / "cache", mirrors=())
    assert np.array_equal(again.test.numpy(), data.test.numpy())  # fixed binarisation
