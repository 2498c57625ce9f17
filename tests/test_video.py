"""f2p.video: the clip generator, optical flow, temporal modules and segment sampling."""

from __future__ import annotations

import pytest
import torch

from f2p.video import data, flow, models
from f2p.video.train import FrameSampler, segment_indices, window_indices


def test_clips_have_the_promised_shapes_labels_and_errors():
    clips, labels, digits, motions = data.make_clips(50, "temporal", frames=8, size=32, seed=0)
    assert clips.shape == (50, 8, 3, 32, 32) and torch.equal(labels, motions)
    _, appearance, digits2, _ = data.make_clips(50, "appearance", seed=0)
    assert torch.equal(appearance, digits2) and torch.equal(digits, digits2)
    for kwargs, match in [
        (dict(n=0), "n >= 1"),
        (dict(n=5, frames=1), "frames"),
        (dict(n=5, size=30), "size"),
        (dict(n=5, label_set="kinetics"), "label set"),
    ]:
        with pytest.raises(ValueError, match=match):
            data.make_clips(**kwargs)


def test_paired_motions_are_time_reversals_of_each_other():
    u = torch.linspace(0, 1, 8)
    for pair in range(5):
        forward = data._paths(torch.tensor([2 * pair]), u, torch.Generator().manual_seed(1))
        backward = data._paths(torch.tensor([2 * pair + 1]), u, torch.Generator().manual_seed(1))
        for key in forward:
            torch.testing.assert_close(forward[key].flip(1), backward[key])


def test_clip_paths_give_the_rendered_digits_motion():
    """Where the digit is wholly inside both frames, its centre of mass moves by the path's
    step times size / 2 pixels; another seed's paths do not match (the test can fail)."""
    n, size = 40, 32
    clips = data.make_clips(
        n, "temporal", size=size, seed=4, motions=[0, 1, 2, 3], noise=0.0, distractors=False
    )[0].mean(2)
    gy, gx = torch.meshgrid(torch.arange(size * 1.0), torch.arange(size * 1.0), indexing="ij")
    mass = clips.sum((2, 3))
    centre = torch.stack([(clips * gx).sum((2, 3)), (clips * gy).sum((2, 3))], -1) / mass[..., None]
    edge = clips.clone()
    edge[..., 1:-1, 1:-1] = 0
    inside = edge.flatten(2).amax(-1) == 0
    whole = inside[:, 1:] & inside[:, :-1]
    assert whole.float().mean() > 0.1 and not whole.all()  # both kinds of pair occur

    def step(seed):
        path = data.clip_paths(n, "temporal", seed=seed, motions=[0, 1, 2, 3])
        xy = torch.stack([path["x"], path["y"]], -1) * size / 2
        return xy[:, 1:] - xy[:, :-1]

    error = (centre[:, 1:] - centre[:, :-1] - step(4)).norm(dim=-1)
    assert error[whole].max() < 0.05
    assert (centre[:, 1:] - centre[:, :-1] - step(5)).norm(dim=-1)[whole].median() > 0.5
    with pytest.raises(ValueError, match="covers"):
        data.clip_paths(3, "hard")


def test_temporal_shift_equals_explicit_indexing():
    n, t, c = 2, 4, 16
    x = torch.randn(n * t, c, 3, 3)
    out = models.temporal_shift(x, t, fold_div=4).view(n, t, c, 3, 3)
    v = x.view(n, t, c, 3, 3)
    for i in range(t):
        expected_future = v[:, i + 1, :4] if i + 1 < t else torch.zeros_like(v[:, 0, :4])
        expected_past = v[:, i - 1, 4:8] if i > 0 else torch.zeros_like(v[:, 0, 4:8])
        torch.testing.assert_close(out[:, i, :4], expected_future)
        torch.testing.assert_close(out[:, i, 4:8], expected_past)
        torch.testing.assert_close(out[:, i, 8:], v[:, i, 8:])
    online = models.temporal_shift(x, t, fold_div=4, online=True).view(n, t, c, 3, 3)
    torch.testing.assert_close(online[:, 1:, :4], v[:, :-1, :4])
    assert online[:, 0, :4].abs().max() == 0
    with pytest.raises(ValueError, match="multiple"):
        models.temporal_shift(torch.randn(7, 8, 2, 2), 4)


@pytest.mark.parametrize("in_place", [False, True])
def test_shift_placement_residual_or_in_place(in_place):
    """Residual shift: only the branch sees the shifted features, the shortcut the block's own
    input; in-place: both see them. Written out with the block's layers."""
    torch.manual_seed(0)
    frames = 4
    tsm = models.TSM(10, frames=frames, widths=(16, 16, 16), in_place=in_place).eval()
    block = tsm.backbone.blocks[0]
    x = torch.randn(2 * frames, 16, 6, 6)
    shifted = models.temporal_shift(x, frames, fold_div=8)
    branch = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(shifted)))))
    identity = shifted if in_place else x
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(branch + block.shortcut(identity)))


def test_average_consensus_is_invariant_to_frame_order_and_tsm_is_not():
    torch.manual_seed(0)
    clips = torch.rand(3, 8, 3, 16, 16)
    reversed_clips = clips.flip(1)
    tsn, tsm = models.TSN(10).eval(), models.TSM(10).eval()
    with torch.no_grad():
        for block in tsm.backbone.blocks:  # make the shifted channels matter
            block.conv1.weight.normal_()
        torch.testing.assert_close(tsn(clips), tsn(reversed_clips))
        assert not torch.allclose(tsm(clips), tsm(reversed_clips))


@pytest.mark.parametrize("online", [False, True])
def test_tsm_receptive_field_is_clipped_at_the_ends_and_one_sided_online(online):
    """Chapter 03's first exercise: after L shifted blocks frame t is reached from frames
    max(0, t - L) .. min(T - 1, t + L) offline and max(0, t - L) .. t online. The answers the
    exercise must reject (2L + 1 frames regardless of the ends, both directions online) differ
    from the measurement at t = 0, t = T - 1 or in the online case."""
    torch.manual_seed(0)
    m = models.TSM(10, frames=8, online=online, widths=(16, 32, 32)).double().eval()
    blocks = len(m.backbone.blocks)
    for t in range(8):
        x = torch.rand(1, 8, 3, 16, 16, dtype=torch.float64, requires_grad=True)
        m.backbone(x.flatten(0, 1))[t].sum().backward()
        reach = (x.grad[0].abs().amax(dim=(1, 2, 3)) > 0).nonzero().flatten().tolist()
        stop = t if online else min(7, t + blocks)
        assert reach == list(range(max(0, t - blocks), stop + 1)), (t, reach)
        if t in (0, 7):  # at the ends the unclipped 2L + 1 frames are wrong
            assert reach != list(range(t - blocks, t + blocks + 1))
        if online and t < 7:  # online, the two-sided reach is wrong
            assert reach != list(range(max(0, t - blocks), min(7, t + blocks) + 1))


def test_tsm_has_the_parameters_and_flops_of_tsn():
    from torch.utils.flop_counter import FlopCounterMode

    tsn, tsm = models.TSN(10), models.TSM(10)
    assert sum(p.numel() for p in tsn.parameters()) == sum(p.numel() for p in tsm.parameters())
    clips = torch.rand(2, 8, 3, 32, 32)
    counts = []
    for model in (tsn, tsm):
        with FlopCounterMode(display=False) as counter:
            model(clips)
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] > 0


def test_trn_relations_use_ordered_tuples():
    trn = models.TemporalRelationNet(10, frames=6, tuples_per_scale=4)
    for scale, tuples in zip(range(2, 7), trn.tuples, strict=True):
        assert tuples.shape[1] == scale and len(tuples) <= 4
        assert (tuples[:, 1:] > tuples[:, :-1]).all()
    assert trn(torch.rand(2, 6, 3, 16, 16)).shape == (2, 10)


@pytest.mark.parametrize(
    "model", [models.ECO(10), models.NonLocal(10), models.TSN(10, consensus="max")]
)
def test_every_model_maps_clips_to_scores(model):
    assert model(torch.rand(2, 8, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="N, T, C, H, W"):
        model(torch.rand(8, 3, 32, 32))


def test_segment_sampling_takes_one_frame_from_every_segment():
    gen = torch.Generator().manual_seed(0)
    for frames, segments in [(16, 8), (10, 3), (8, 8)]:
        edges = torch.linspace(0, frames, segments + 1)
        for train in (True, False):
            idx = segment_indices(frames, segments, train, gen)
            assert ((idx >= edges[:-1].floor()) & (idx < edges[1:])).all()
    assert segment_indices(16, 4, False).tolist() == [2, 6, 10, 14]
    with pytest.raises(ValueError, match="segments"):
        segment_indices(4, 5, True)


def test_frame_sampler_feeds_sparse_or_consecutive_frames_drawn_per_clip():
    """Each frame of the clips holds its own index, so what the model receives shows which
    frames were taken: sparse, one per segment; dense, a consecutive window; fixed in eval."""
    frames, k, n = 48, 8, 64
    clips = torch.arange(frames, dtype=torch.float).view(1, frames, 1, 1, 1).expand(n, -1, 1, 2, 2)
    seen = []
    for sparse in (True, False):
        sampler = FrameSampler(lambda x: x[:, :, 0, 0, 0], k, sparse=sparse, seed=0)
        taken = sampler.train()(clips).long()
        seen.append(taken)
        assert taken.shape == (n, k)
        if sparse:
            edges = torch.linspace(0, frames, k + 1)
            assert ((taken >= edges[:-1].floor()) & (taken < edges[1:])).all()
            assert torch.equal(sampler.eval()(clips)[0].long(), segment_indices(frames, k, False))
        else:
            assert torch.equal(taken[:, 1:] - taken[:, :-1], torch.ones(n, k - 1, dtype=torch.long))
            assert torch.equal(sampler.eval()(clips)[0].long(), torch.arange(20, 28))
        assert len({tuple(row.tolist()) for row in taken}) > 1  # drawn per clip, not per batch
    assert seen[0][:, -1].float().mean() > 40 and seen[1][:, -1].float().mean() < 40
    with pytest.raises(ValueError, match="length"):
        window_indices(4, 5, True)


def test_horn_schunck_recovers_a_known_translation():
    y, x = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")

    def pattern(shift_x: float, shift_y: float) -> torch.Tensor:
        xs, ys = x - shift_x, y - shift_y
        return (torch.sin(xs / 4) * torch.cos(ys / 5) + 0.5 * torch.sin((xs + ys) / 7))[None, None]

    uv = flow.horn_schunck(pattern(0, 0), pattern(0.6, -0.4), alpha=0.5, iterations=500)
    interior = uv[0, :, 8:-8, 8:-8]
    torch.testing.assert_close(interior[0].median(), torch.tensor(0.6), atol=0.06, rtol=0)
    torch.testing.assert_close(interior[1].median(), torch.tensor(-0.4), atol=0.06, rtol=0)
    with pytest.raises(ValueError, match="grey frame"):
        flow.horn_schunck(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_streams_interleave_labelled_actions_with_background():
    frames, labels = data.make_stream(3, frames=8, gap=(2, 5), seed=0)
    assert frames.shape[0] == labels.shape[0] and frames.shape[1:] == (3, 32, 32)
    action = labels != data.BACKGROUND
    assert action.sum() == 24 and labels[0] == data.BACKGROUND and labels[-1] == data.BACKGROUND
    starts = (action[1:] & ~action[:-1]).sum()
    assert starts == 3  # three separate actions
    with pytest.raises(ValueError, match="actions"):
        data.make_stream(0)


def test_cross_modality_init_averages_rgb_filters_and_partial_bn_freezes_all_but_the_first():
    rgb = models.TSN(10)
    diff = models.cross_modality_init(models.TSN(10, channels=5), rgb)
    w_rgb, w_diff = rgb.backbone.stem[0].weight, diff.backbone.stem[0].weight
    assert w_diff.shape[1] == 5
    torch.testing.assert_close(w_diff[:, 3], w_rgb.mean(1))
    torch.testing.assert_close(diff.backbone.stem[1].weight, rgb.backbone.stem[1].weight)
    for name, value in rgb.backbone.state_dict().items():
        if name != "stem.0.weight":
            torch.testing.assert_close(diff.backbone.state_dict()[name], value)
    assert not torch.equal(diff.fc.weight, rgb.fc.weight)  # a fresh classifier, as in TSN
    diff.train()
    models.partial_bn(diff)
    norms = [m for m in diff.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms[0].training and norms[0].weight.requires_grad
    assert not any(n.training or n.weight.requires_grad for n in norms[1:])


def test_horn_schunck_agrees_with_opencv_farneback_on_a_translation():
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    y, x = np.mgrid[0:64, 0:64].astype(np.float32)

    def pattern(dx: float) -> np.ndarray:
        return (127 + 60 * np.sin((x - dx) / 5) * np.cos(y / 6)).astype(np.float32)

    first, second = pattern(0.0), pattern(1.0)
    reference = cv2.calcOpticalFlowFarneback(
        first.astype(np.uint8), second.astype(np.uint8), None, 0.5, 3, 15, 3, 5, 1.2, 0
    )
    ours = flow.horn_schunck(
        torch.tensor(first / 255)[None, None], torch.tensor(second / 255)[None, None], 0.05, 800
    )
    inner = slice(12, -12)
    ref_u = float(np.median(reference[inner, inner, 0]))
    our_u = ours[0, 0, inner, inner].median().item()
    assert abs(ref_u - 1.0) < 0.15 and abs(our_u - 1.0) < 0.15


def test_flow_to_colour_hue_is_direction_and_brightness_is_speed():
    """Right is red, down yellow-green (y points down), left cyan, up violet; half the largest
    speed is half as bright; no motion is black; the wheel's key agrees with the field."""
    import colorsys

    import numpy as np

    directions = {"right": (1, 0, 0.0), "down": (0, 1, 0.25), "left": (-1, 0, 0.5)}
    directions["up"] = (0, -1, 0.75)
    for name, (u, v, hue) in directions.items():
        rgb = flow.flow_to_colour(np.array([u, v], float).reshape(2, 1, 1))[0, 0]
        got = colorsys.rgb_to_hsv(*rgb)
        assert abs(got[0] - hue) < 1e-6 and abs(got[2] - 1) < 1e-6, name
    field = np.zeros((2, 1, 3))
    field[0, 0, 1], field[0, 0, 2] = 1.0, 2.0
    colours = flow.flow_to_colour(field)
    assert np.allclose(colours[0, 0], 0) and np.allclose(colours[0, 1].max(), 0.5)
    assert np.allclose(flow.flow_to_colour(field, max_magnitude=1.0)[0, 2].max(), 1.0)
    wheel = flow.colour_wheel(33)
    assert np.allclose(wheel[16, 32], [1, 0, 0]) and np.allclose(wheel[0, 0], 1)  # rim, outside
    assert np.allclose(
        wheel[32, 16], flow.flow_to_colour(np.array([0.0, 1]).reshape(2, 1, 1))[0, 0]
    )
    with pytest.raises(ValueError, match="flow field"):
        flow.flow_to_colour(np.zeros((3, 4, 4)))


def test_endpoint_error_and_warm_timings():
    import numpy as np

    from f2p.utils import warm_timings

    a = np.zeros((2, 6, 6))
    b = a.copy()
    b[0], b[1] = 3.0, 4.0
    b[:, 0] = 100.0  # only the border row differs more
    assert flow.endpoint_error(a, b, border=1) == 5.0 and flow.endpoint_error(a, b) > 5.0
    with pytest.raises(ValueError, match="border"):
        flow.endpoint_error(a, b, border=3)
    calls = []
    seconds = warm_timings(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(seconds) == 4 and len(calls) == 6 and min(seconds) >= 0


def test_animation_html_makes_no_external_requests():
    import re

    from f2p.video import plots

    html = plots.animation_html(plots.animate(torch.rand(2, 3, 3, 8, 8), ["a", "b"]))
    assert "<img" in html or "data:image" in html
    assert not re.findall(r"https?://", html) and 'class="fa ' not in html


def test_non_local_attention_is_order_blind_but_non_local_i3d_is_not():
    """The block alone commutes with a permutation of the frames; inside the 3D network, whose
    convolutions see time, the model's scores depend on frame order."""
    torch.manual_seed(0)
    block = models.NonLocalBlock(4).eval()
    torch.nn.init.ones_(block.bn.weight)  # gamma = 0 at init would make it the identity
    maps, order = torch.randn(2, 4, 6, 3, 3), torch.randperm(6)
    with torch.no_grad():
        torch.testing.assert_close(block(maps)[:, :, order], block(maps[:, :, order]))
        model = models.NonLocal(10, widths=(8, 16, 16)).eval()
        clips = torch.rand(2, 8, 3, 24, 24)
        assert not torch.allclose(model(clips), model(clips.flip(1)), atol=1e-5)


def test_non_local_block_is_the_authors_formula_with_x_pooled_2x2_before_phi_and_g():
    """Explicit loops over query and key positions, written from video-nonlocal-net's
    ``spacetime_nonlocal``: keys and values are phi and g of x max-pooled over 2x2 spatial windows
    (odd sizes keep their last row), queries every position, affinities scaled by
    1/sqrt(inner) before the softmax (``USE_SCALE``), and W_z followed by a BatchNorm
    (``USE_BN``). Pooling phi(x) and g(x) instead (the other order) gives a different result, and
    so does leaving out the scale, which the last checks rule out."""
    torch.manual_seed(0)
    block = models.NonLocalBlock(4).double().eval()
    for conv in (block.theta, block.phi, block.g, block.z):  # away from the near-zero init
        torch.nn.init.normal_(conv.weight)
        torch.nn.init.normal_(conv.bias)
    for stat in (block.bn.weight, block.bn.bias, block.bn.running_mean):
        torch.nn.init.normal_(stat)
    block.bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 4, 2, 3, 5, dtype=torch.float64)
    inner = 2
    with torch.no_grad():
        theta = block.theta(x)[0]
        w_phi, b_phi = block.phi.weight[:, :, 0, 0, 0], block.phi.bias
        w_g, b_g = block.g.weight[:, :, 0, 0, 0], block.g.bias
        bn = block.bn
        keys, values, late_keys, late_values = [], [], [], []
        for s in range(2):
            for i in range(0, 3, 2):
                for j in range(0, 5, 2):
                    pooled = x[0, :, s, i : i + 2, j : j + 2].amax(dim=(1, 2))  # x^_j
                    keys.append(w_phi @ pooled + b_phi)
                    values.append(w_g @ pooled + b_g)
                    window = x[0, :, s, i : i + 2, j : j + 2].flatten(1)  # pooled after instead
                    late_keys.append((w_phi @ window + b_phi[:, None]).amax(1))
                    late_values.append((w_g @ window + b_g[:, None]).amax(1))
        keys, values = torch.stack(keys), torch.stack(values)  # (2*2*3, inner)
        assert not torch.allclose(keys, torch.stack(late_keys))  # the order matters here
        assert not torch.allclose(values, torch.stack(late_values))
        expected, unscaled = torch.empty_like(x[0]), torch.empty_like(x[0])
        for s in range(2):
            for i in range(3):
                for j in range(5):
                    for out, scale in ((expected, inner**-0.5), (unscaled, 1.0)):
                        weights = torch.softmax(scale * (keys @ theta[:, s, i, j]), 0)
                        z = block.z.weight[:, :, 0, 0, 0] @ (weights @ values) + block.z.bias
                        normed = (z - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
                        out[:, s, i, j] = x[0, :, s, i, j] + bn.weight * normed + bn.bias
        torch.testing.assert_close(block(x)[0], expected)
        assert not torch.allclose(expected, unscaled)
        everywhere = models.NonLocalBlock(4, subsample=False).double().eval()
        everywhere.load_state_dict(block.state_dict())
        assert not torch.allclose(everywhere(x), block(x))


def test_non_local_block_starts_as_the_identity_and_learns_through_the_bn_scale():
    """The authors' initialisation: BN's gamma = 0 after W_z makes the new block the identity
    (in training mode too), the four 1x1x1 convolutions start from N(0, 0.01^2) weights and zero
    biases, and the first gradient reaches gamma (W_z's is zero until gamma moves)."""
    torch.manual_seed(0)
    block = models.NonLocalBlock(32).train()
    x = torch.randn(2, 32, 4, 6, 6)
    y = block(x)
    torch.testing.assert_close(y, x)
    for conv in (block.theta, block.phi, block.g, block.z):
        assert 0.008 < conv.weight.std().item() < 0.012 and not conv.bias.any()
    y.pow(2).sum().backward()
    assert block.bn.weight.grad.abs().sum() > 0 and not block.z.weight.grad.any()


def test_tdn_difference_on_a_real_clip_follows_gradient_times_flow_not_the_gradient_alone():
    """Chapter 05's real-frame cell: by brightness constancy a one-step difference is about
    -grad I . v, so on Big Buck Bunny's frames 40-41 it correlates with |grad I . v| (Farneback's
    v) clearly more than with the edge map |grad I| alone (measured 0.58 against 0.27), and the
    stacked differences TDN reads hold that step."""
    cv2 = pytest.importorskip("cv2")
    np = pytest.importorskip("numpy")
    from f2p.video import clips

    real = clips.load_clip("bigbuckbunny", start=38, stop=43, short_side=128)
    stacked = models.stacked_differences(real[None], span=2)[0, 2].view(4, 3, *real.shape[-2:])
    torch.testing.assert_close(stacked[2], real[3] - real[2])  # offset 0: I_{t+1} - I_t
    grey = real.mean(1)
    grey8 = (grey.numpy() * 255).round().astype(np.uint8)
    v = cv2.calcOpticalFlowFarneback(grey8[2], grey8[3], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    v = torch.from_numpy(v).permute(2, 0, 1)
    gy, gx = torch.gradient((grey[2] + grey[3]) / 2)
    step = (grey[3] - grey[2]).abs().flatten().numpy()
    r_product = np.corrcoef(step, (gx * v[0] + gy * v[1]).abs().flatten().numpy())[0, 1]
    r_edges = np.corrcoef(step, (gx**2 + gy**2).sqrt().flatten().numpy())[0, 1]
    assert r_product > r_edges + 0.15
