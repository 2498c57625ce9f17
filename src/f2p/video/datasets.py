"""Real action-recognition datasets for readers with internet and a GPU (chapters 02-05).

Readers of the official layouts, each returning a list of :class:`VideoRecord` and the class
names, and :class:`VideoDataset`, which decodes a record with OpenCV
(:func:`f2p.video.clips.read_video`) and samples and crops it as TSN does (Wang et al., 2016):

- **UCF101** (Soomro et al., 2012): ``root/<Class>/v_<Class>_gXX_cYY.avi``; the split folder
  ``ucfTrainTestlist/`` with ``classInd.txt`` (``"1 ApplyEyeMakeup"``, 1-based),
  ``trainlist0N.txt`` (``"<Class>/<video>.avi <label>"``) and ``testlist0N.txt``
  (``"<Class>/<video>.avi"``), N = 1, 2, 3.
- **HMDB51** (Kuehne et al., 2011): ``root/<class>/<video>.avi``; the split folder
  ``testTrainMulti_7030_splits/`` with one ``<class>_test_split<N>.txt`` per class and split,
  lines ``"<video>.avi <mark>"``: 1 training, 2 test, 0 unused. Classes in alphabetical order.
- **Something-Something V2** (Goyal et al., 2017): ``labels.json`` (template -> class index),
  ``train.json`` / ``validation.json`` (lists of ``{"id", "label", "template", "placeholders"}``;
  the class is the template with its brackets removed), videos ``<id>.webm``.

Sampling (TSN, Sec. 3.2): the frames are split into K equal segments and one frame is taken from
each, at a random offset in training and at the segment's centre at test time
(:func:`f2p.video.train.segment_indices`); a video shorter than K frames repeats frames.
Cropping (TSN, Sec. 3.3), the same for the K frames of a clip: frames are decoded with their
shorter side at ``size * 256 / 224``; training takes a corner or centre crop whose width and
height are each a scale in (1, 0.875, 0.75, 0.66) of the shorter side (at most one step
apart), resizes it to ``size`` x ``size`` and flips it horizontally with probability 1/2; testing
takes the centre ``size`` x ``size`` crop. Turn ``flip`` off for Something-Something, whose
classes include left/right pairs (TSM, Lin et al., 2019, does).

Why OpenCV: it is already a dependency, its wheels bundle FFmpeg (AVI/XviD, MP4, WebM/VP9 decode
with no system library), and it reads frames in order, which is exact for every codec; PyAV
would add a dependency for seeking, which these short clips do not need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from f2p.video.clips import read_video
from f2p.video.train import segment_indices

SCALES = (1.0, 0.875, 0.75, 0.66)
"""TSN's multi-scale crop: crop sides as fractions of the frame's shorter side"""
SUBSETS = ("train", "test")


@dataclass(frozen=True)
class VideoRecord:
    """One video of a split."""

    path: Path
    label: int
    """class index into the dataset's class names"""


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"split file {path} is missing (is this the official layout?)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _check_exist(records: list[VideoRecord], where: Path) -> list[VideoRecord]:
    missing = [str(r.path) for r in records if not r.path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} videos listed by the split are not under {where}, e.g. {missing[:3]}"
        )
    if not records:
        raise ValueError(f"the split lists no videos under {where}")
    return records


def read_ucf101(
    root: str | Path, split: int = 1, subset: str = "train", lists: str | Path | None = None
) -> tuple[list[VideoRecord], tuple[str, ...]]:
    """UCF101's official split ``split`` (1-3) of ``subset`` ("train" or "test"); ``lists``: the
    folder of the split files (default ``root/ucfTrainTestlist``). Returns records, classes."""
    root = Path(root)
    if split not in (1, 2, 3) or subset not in SUBSETS:
        raise ValueError(f"need split in 1..3 and subset in {SUBSETS}, got {split}, {subset!r}")
    lists = Path(lists) if lists else root / "ucfTrainTestlist"
    classes = {}
    for line in _lines(lists / "classInd.txt"):
        index, name = line.split()
        classes[name] = int(index) - 1
    if sorted(classes.values()) != list(range(len(classes))):
        raise ValueError(f"{lists / 'classInd.txt'}: class indices should run 1..{len(classes)}")
    list_file = lists / f"{subset}list{split:02d}.txt"
    records = []
    for number, line in enumerate(_lines(list_file), 1):
        relative, *label = line.split()
        name = relative.split("/")[0]
        if name not in classes:
            raise ValueError(f"{list_file}:{number}: unknown class {name!r} (not in classInd.txt)")
        if label and int(label[0]) - 1 != classes[name]:
            raise ValueError(
                f"{list_file}:{number}: label {label[0]} but class {name!r} is "
                f"{classes[name] + 1} in classInd.txt"
            )
        records.append(VideoRecord(root / relative, classes[name]))
    return _check_exist(records, root), tuple(sorted(classes, key=classes.get))


def read_hmdb51(
    root: str | Path, split: int = 1, subset: str = "train", lists: str | Path | None = None
) -> tuple[list[VideoRecord], tuple[str, ...]]:
    """HMDB51's official split ``split`` (1-3) of ``subset``; ``lists``: the folder of the
    ``<class>_test_split<N>.txt`` files (default ``root/testTrainMulti_7030_splits``)."""
    root = Path(root)
    if split not in (1, 2, 3) or subset not in SUBSETS:
        raise ValueError(f"need split in 1..3 and subset in {SUBSETS}, got {split}, {subset!r}")
    lists = Path(lists) if lists else root / "testTrainMulti_7030_splits"
    suffix = f"_test_split{split}.txt"
    files = sorted(lists.glob(f"*{suffix}"))
    if not files:
        raise FileNotFoundError(f"no split files *{suffix} in {lists} (is this the layout?)")
    classes = tuple(f.name[: -len(suffix)] for f in files)
    folders = {p.name for p in root.iterdir() if p.is_dir() and p != lists}
    if unlisted := sorted(folders - set(classes)):
        raise FileNotFoundError(f"class folders {unlisted} of {root} have no {suffix} split file")
    keep = "1" if subset == "train" else "2"
    records = []
    for label, (name, file) in enumerate(zip(classes, files, strict=True)):
        for number, line in enumerate(_lines(file), 1):
            video, mark = line.split()
            if mark not in ("0", "1", "2"):
                raise ValueError(f"{file}:{number}: mark {mark!r}, expected 0, 1 or 2")
            if mark == keep:
                records.append(VideoRecord(root / name / video, label))
    return _check_exist(records, root), classes


def read_something_v2(
    root: str | Path, subset: str = "train", videos: str | Path | None = None
) -> tuple[list[VideoRecord], tuple[str, ...]]:
    """Something-Something V2's ``subset`` ("train" or "validation": the test set's labels are
    not public); ``videos``: the folder of the ``<id>.webm`` files (default
    ``root/20bn-something-something-v2``)."""
    root = Path(root)
    if subset not in ("train", "validation"):
        raise ValueError(f"subset must be 'train' or 'validation', got {subset!r}")
    videos = Path(videos) if videos else root / "20bn-something-something-v2"
    for name in ("labels.json", f"{subset}.json"):
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name} is missing (is this the official layout?)")
    labels = {k: int(v) for k, v in json.loads((root / "labels.json").read_text()).items()}
    records = []
    for entry in json.loads((root / f"{subset}.json").read_text()):
        template = entry["template"].replace("[", "").replace("]", "")
        if template not in labels:
            raise ValueError(
                f"video {entry['id']}: unknown class {template!r} (not in labels.json)"
            )
        records.append(VideoRecord(videos / f"{entry['id']}.webm", labels[template]))
    return _check_exist(records, videos), tuple(sorted(labels, key=labels.get))


class VideoDataset(Dataset):
    """Items (frames (K, 3, size, size) float in [0, 1], label) of ``records``, sampled and
    cropped as TSN does (see the module's docstring). Random choices are drawn from
    (``seed``, epoch, index), so a DataLoader's workers give the same clips as one process;
    call :meth:`set_epoch` before each training epoch for fresh draws (before iterating the
    DataLoader, whose workers copy the dataset at that point unless ``persistent_workers``)."""

    def __init__(
        self,
        records: list[VideoRecord],
        classes: tuple[str, ...],
        segments: int = 8,
        train: bool = True,
        size: int = 224,
        flip: bool = True,
        seed: int = 0,
    ) -> None:
        if segments < 1 or size < 8:
            raise ValueError(f"need segments >= 1 and size >= 8, got {segments}, {size}")
        self.records, self.classes = records, classes
        self.segments, self.train, self.size, self.flip = segments, train, size, flip
        self.seed, self.epoch = seed, 0
        self.short_side = round(size * 256 / 224)

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self, frames: int, gen: torch.Generator) -> torch.Tensor:
        """The K frame indices of a video of ``frames`` frames (TSN's segment sampling)."""
        if frames >= self.segments:
            return segment_indices(frames, self.segments, self.train, gen)
        return torch.arange(self.segments) * frames // self.segments  # repeat frames

    def crop(self, frames: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """TSN's multi-scale corner crop and flip (training) or the centre crop (test) of frames
        (K, 3, H, W), the same for every frame; returns (K, 3, size, size)."""
        h, w = frames.shape[-2:]
        if not self.train:
            top, left = (h - self.size) // 2, (w - self.size) // 2
            return frames[..., top : top + self.size, left : left + self.size]
        i, j = torch.randint(len(SCALES), (2,), generator=gen).tolist()
        j = min(max(j, i - 1), i + 1)  # at most one scale step between height and width
        ch, cw = (round(min(h, w) * SCALES[k]) for k in (i, j))
        corner = torch.randint(5, (), generator=gen).item()  # 4 corners and the centre
        top = {0: 0, 1: 0, 2: h - ch, 3: h - ch, 4: (h - ch) // 2}[corner]
        left = {0: 0, 1: w - cw, 2: 0, 3: w - cw, 4: (w - cw) // 2}[corner]
        out = torch.nn.functional.interpolate(
            frames[..., top : top + ch, left : left + cw],
            size=(self.size, self.size),
            mode="bilinear",
            antialias=True,
        )
        if self.flip and torch.rand((), generator=gen) < 0.5:
            out = out.flip(-1)
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        record = self.records[index]
        key = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(2)
        gen = torch.Generator().manual_seed(int(key[0]) << 32 | int(key[1]))
        video = read_video(record.path, short_side=self.short_side)
        picked = torch.from_numpy(video[self.indices(len(video), gen).numpy()])
        frames = picked.permute(0, 3, 1, 2).float() / 255
        return self.crop(frames, gen), record.label
