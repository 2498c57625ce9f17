"""Chapter 02's TSN experiments (f2p.video.tsn_experiments): the window control's every-window
test and the figures the benchmark stores."""

from __future__ import annotations

import torch

from f2p.video import data, models
from f2p.video.train import window_indices
from f2p.video.tsn_experiments import frame_scores, sampling_runs, window_predictions


def test_window_predictions_are_the_tsn_output_on_every_window():
    torch.manual_seed(0)
    model = models.TSN(10, frames=4, widths=(4, 8, 8)).eval()
    clips = torch.rand(6, 12, 3, 16, 16)
    predicted = window_predictions(frame_scores(model, clips, batch=4), 4)
    assert predicted.shape == (6, 9)  # every start 0 .. 12 - 4
    with torch.no_grad():
        for start in range(9):
            direct = model(clips[:, start : start + 4]).argmax(1)
            assert torch.equal(direct, predicted[:, start])
    # the scores of a window of another length are not these
    assert window_predictions(frame_scores(model, clips), 3).shape == (6, 10)


def test_sampling_runs_report_the_centre_window_and_the_average_over_every_window():
    frames = 16
    train, test = (
        data.VideoClips(n, "temporal", seed=seed, frames=frames, size=16)
        for n, seed in ((48, 0), (24, 1))
    )
    out = sampling_runs(train, test, segments=4, epochs=1, widths=(4, 8, 8))
    assert set(out) == {
        "sparse segments",
        "consecutive frames, centre window",
        "consecutive frames, every window",
    }
    every = out["consecutive frames, every window"]
    by_start = every["right pair by start"]
    assert len(by_start) == frames - 4 + 1
    assert abs(every["right pair"] - sum(by_start) / len(by_start)) < 1e-6
    # the centre window's figure is the by-start figure at the fixed test window's start
    centre = int(window_indices(frames, 4, False)[0])
    assert abs(out["consecutive frames, centre window"]["right pair"] - by_start[centre]) < 1e-6
    assert 0 <= out["sparse segments"]["changed by reversal"] <= 1


def test_the_order_exercise_measurement_rejects_every_flipped_verdict():
    """Chapter 02's Exercise 2.1 checks a reader's covered/not-covered verdicts against
    reversal_change < 1e-5: on snippet scores that differ from snippet to snippet it must put
    the covered consensuses (top-3, content attention, the (1, 2, 1) convolution) below the
    threshold and the (1, 2, 3) convolution far above it, so a flipped verdict fails."""
    from f2p.video.tsn_experiments import reversal_change

    def conv(s, kernel):
        return (s.unfold(1, 3, 1) * torch.tensor(kernel)).sum(-1).mean(1)

    probes = {
        "top-3": (lambda s: s.topk(3, dim=1).values.mean(1), True),
        "attention": (lambda s: (torch.softmax(s.norm(dim=2), 1)[..., None] * s).sum(1), True),
        "convolution (1, 2, 3)": (lambda s: conv(s, [1.0, 2.0, 3.0]), False),
        "convolution (1, 2, 1)": (lambda s: conv(s, [1.0, 2.0, 1.0]), True),
        "average": (lambda s: s.mean(1), True),
    }
    scores = torch.randn(16, 8, 10, generator=torch.Generator().manual_seed(0))
    for name, (consensus, covered) in probes.items():
        change = reversal_change(consensus, scores)
        assert (change < 1e-5) == covered, (name, change)
        if not covered:
            assert change > 1e-2, (name, change)
    # explicit reversed scores give the same reading as flipping
    mean = probes["average"][0]
    assert reversal_change(mean, scores, scores.flip(1)) == reversal_change(mean, scores)
