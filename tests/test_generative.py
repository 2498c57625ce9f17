"""f2p.generative: the autoregressive property, normalisation, and each model's own identities."""

from __future__ import annotations

import itertools

import pytest
import torch

from f2p import generative as g
from f2p.generative.base import positions

D_TINY = 10  # 2^10 = 1024 configurations: small enough to sum p(x) over all of them


def tiny_models(order=None):
    torch.manual_seed(0)
    models = {
        "fvsbn": g.FVSBN(D_TINY, order=order),
        "nade": g.NADE(D_TINY, hidden=7, order=order),
        "made": g.MADE(D_TINY, hidden=[16, 16], order=order),
        "pixelcnn": g.PixelCNN(2, 5, channels=8, blocks=1, first_kernel=3),
    }
    for model in models.values():  # random weights, so no identity holds by accident of zeros
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.5)
    return models


ALL_CONFIGS = torch.tensor(list(itertools.product([0.0, 1.0], repeat=D_TINY)))


@pytest.mark.parametrize("name", ["fvsbn", "nade", "made", "pixelcnn"])
@pytest.mark.parametrize("reverse", [False, True])
def test_autoregressive_jacobian(name, reverse):
    """d logit_i / d x_j = 0 whenever j is not before i in the model's ordering."""
    order = torch.arange(D_TINY).flip(0) if reverse else None
    if name == "pixelcnn" and reverse:
        pytest.skip("PixelCNN is raster-ordered by construction")
    model = tiny_models(order)[name].double()
    x = torch.bernoulli(torch.full((D_TINY,), 0.5, dtype=torch.float64))
    jac = torch.autograd.functional.jacobian(lambda v: model.logits(v[None])[0], x)
    pos = positions(model.order)
    allowed = pos[None, :] < pos[:, None]  # allowed[i, j]: j comes before i
    assert torch.all(jac[~allowed] == 0), f"{name} looks ahead"
    assert jac[allowed].abs().max() > 0, f"{name} ignores its inputs (the test would be vacuous)"


@pytest.mark.parametrize("name", ["fvsbn", "nade", "made", "pixelcnn"])
def test_probabilities_sum_to_one(name):
    model = tiny_models()[name].double()
    with torch.no_grad():
        total = model.log_prob(ALL_CONFIGS.double()).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-5)


def test_made_ensemble_is_normalised_and_order_agnostic_masks_differ():
    model = g.MADE(D_TINY, hidden=[12], num_masks=4, order_agnostic=True).double()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)
    assert len({tuple(o.tolist()) for o in model.orders}) == 4
    with torch.no_grad():
        assert model.log_prob_ensemble(ALL_CONFIGS.double()).exp().sum().item() == pytest.approx(
            1.0
        )
    for k in range(4):  # each mask is itself autoregressive in its own ordering
        model.use_mask(k)
        x = torch.rand(D_TINY, dtype=torch.float64)
        jac = torch.autograd.functional.jacobian(lambda v: model.logits(v[None])[0], x)
        pos = positions(model.order)
        assert torch.all(jac[~(pos[None, :] < pos[:, None])] == 0)


def test_nade_incremental_evaluations_equal_the_naive_one():
    model = tiny_models(torch.randperm(D_TINY, generator=torch.Generator().manual_seed(2)))["nade"]
    x = torch.bernoulli(torch.full((6, D_TINY), 0.4))
    naive = model.logits_naive(x)
    for block in (1, 3, 8, D_TINY, 64):  # blocks that divide D, that do not, and larger than D
        torch.testing.assert_close(model.logits(x, block), naive, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.logits_cumsum(x), naive, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.logits_sequential(x), naive, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="block"):
        model.logits(x, 0)


def test_nade_sampler_matches_generic_ancestral_sampling():
    model = tiny_models(torch.randperm(D_TINY, generator=torch.Generator().manual_seed(1)))["nade"]
    fast = model.sample(5, generator=torch.Generator().manual_seed(3))
    slow = g.Autoregressive.sample(model, 5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(fast, slow)


def test_made_masks_follow_the_connectivity_rule():
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(8, generator=gen)
    masks, out_mask = g.made_masks(8, [20, 20], order, gen)
    # recompute each unit's number from the masks: a unit's number is the largest input number
    # it may see, so the product of masks says which input reaches which output
    reach = out_mask @ masks[1] @ masks[0]  # (D_out, D_in): number of paths
    pos = positions(order)
    assert torch.all(reach[~(pos[None, :] < pos[:, None])] == 0)
    assert masks[0].shape == (20, 8) and masks[1].shape == (20, 20) and out_mask.shape == (8, 20)
    assert out_mask[order[0]].sum() == 0  # the first pixel in the ordering sees nothing


def test_made_masks_come_from_the_seed():
    # chapter 07 passes each run's seed, so the spread over seeds includes the masks
    def masks(seed):
        return g.MADE(16, hidden=[32], num_masks=2, order_agnostic=True, seed=seed).hidden_masks_0

    assert torch.equal(masks(3), masks(3))
    assert not torch.equal(masks(0), masks(1))


def test_pixelcnn_field_stops_growing_at_the_blind_spot():
    # however deep the stack, the pixel just above-right beyond the diagonal stays unread
    deep = g.pixelcnn_field(10, 10, 3, 3, 50)
    assert torch.equal(deep, g.pixelcnn_field(10, 10, 3, 3, 60))
    pixel, blind = 5 * 10 + 2, 3 * 10 + 5  # row 5, column 2; row 3, column 5 (2 up, 3 right)
    assert not deep[pixel, blind] and deep[pixel, 3 * 10 + 4]  # 2 up, 2 right is read
    assert not g.pixelcnn_field(10, 10, 3, 3, 1)[pixel, 0]  # far away: depth-limited at 1 block
    assert deep[pixel, 0]  # and read by the deep stack


def test_pixelcnn_masks_zero_the_right_taps():
    a, b = g.causal_mask(3, "A"), g.causal_mask(3, "B")
    assert torch.equal(a, torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(b, torch.tensor([[1.0, 1, 1], [1, 1, 0], [0, 0, 0]]))
    assert g.causal_mask(7, "A").sum() == 7 * 3 + 3


def test_free_parameter_counts():
    """Masked zeros are not parameters: FVSBN has D(D-1)/2 + D (numel says D^2 + D)."""
    d, h = 64, 16
    assert g.FVSBN(d).num_free_parameters() == d * (d - 1) // 2 + d
    assert g.NADE(d, hidden=h).num_free_parameters() == 2 * h * d + h + d
    made = g.MADE(d, hidden=[h])
    kept = made.layers[0].mask.sum() + made.out.mask.sum()
    assert made.num_free_parameters() == int(kept) + h + d  # + the biases
    ensemble = g.MADE(d, hidden=[h], num_masks=4, order_agnostic=True)
    union = ensemble.hidden_masks_0.amax(0).sum() + ensemble.out_masks.amax(0).sum()
    assert ensemble.num_free_parameters() == int(union) + h + d
    pixelcnn = g.PixelCNN(8, 8, channels=4, blocks=1, first_kernel=3)
    assert pixelcnn.num_free_parameters() == sum(p.numel() for p in pixelcnn.parameters()) - (
        4 * 5 + 2 * 2 * 4  # the masked taps: 5 of 3x3 in the type-A layer, 4 in type B
    )


def test_fvsbn_context_restricts_and_is_checked():
    before = torch.ones(D_TINY, D_TINY, dtype=torch.bool).tril(-1)
    context = before & (torch.arange(D_TINY)[None, :] >= torch.arange(D_TINY)[:, None] - 2)
    model = g.FVSBN(D_TINY, context=context)
    torch.nn.init.normal_(model.weight)
    assert torch.equal(g.receptive_field(model), context)
    assert model.num_free_parameters() == int(context.sum()) + D_TINY
    with pytest.raises(ValueError, match="within the pixels before"):
        g.FVSBN(D_TINY, context=~before)


def trained(model, steps=30):
    """A few Adam steps on random binary images, so the probe meets trained weights."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.bernoulli(
        torch.full((32, model.dim), 0.3), generator=torch.Generator().manual_seed(0)
    )
    for _ in range(steps):
        opt.zero_grad()
        (-model.log_prob(x).mean()).backward()
        opt.step()
    return model


@pytest.mark.parametrize("name", ["fvsbn", "nade", "made", "pixelcnn"])
def test_receptive_field_of_a_trained_model_is_causal(name):
    model = trained(tiny_models()[name])
    field = g.receptive_field(model)
    pos = positions(model.order)
    assert not field[~(pos[None, :] < pos[:, None])].any()  # never itself or a later pixel
    if name in ("fvsbn", "nade"):  # every earlier pixel is read
        assert torch.equal(field, pos[None, :] < pos[:, None])
    if name == "made":  # only through the paths the masks leave (a dead ReLU may cut more)
        paths = model.out.mask @ model.layers[1].mask @ model.layers[0].mask
        assert not field[paths == 0].any() and field.sum() > 0


@pytest.mark.parametrize("shape", [(2, 5, 3, 3, 1), (7, 7, 3, 3, 2), (6, 9, 5, 3, 3)])
def test_pixelcnn_probe_matches_its_masks_and_finds_the_blind_spot(shape):
    height, width, first, kernel, blocks = shape
    torch.manual_seed(0)
    model = g.PixelCNN(height, width, channels=16, blocks=blocks, first_kernel=first, kernel=kernel)
    field = g.receptive_field(trained(model))
    assert torch.equal(field, g.pixelcnn_field(height, width, first, kernel, blocks))
    if height >= 6:  # (row 2, col 0) is blind to (row 1, the last column): a blind spot
        d = 2 * width
        assert not field[d, width + width - 1] and field[d, width]


def test_conditional_sampling_keeps_the_known_prefix():
    model = tiny_models()["pixelcnn"]
    given = torch.bernoulli(torch.full((4, D_TINY), 0.5))
    known = torch.arange(D_TINY) < 5
    x = model.sample(4, given=given, known=known, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x[:, :5], given[:, :5])
    assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_known_pixels_must_come_first():
    model = tiny_models(torch.arange(D_TINY).flip(0))["nade"]
    known = torch.arange(D_TINY) < 5  # the top pixels, but this model predicts them last
    with pytest.raises(ValueError, match="must come first in the model's ordering"):
        model.sample(2, given=torch.zeros(2, D_TINY), known=known)


@pytest.mark.parametrize(
    "x, message",
    [
        (torch.full((2, D_TINY), 0.5), "only 0 and 1"),
        (torch.zeros(2, D_TINY + 1), r"shape \(N, 10\)"),
        (torch.zeros(D_TINY), r"shape \(N, 10\)"),
    ],
)
def test_bad_images_are_clear_errors(x, message):
    with pytest.raises(ValueError, match=message):
        tiny_models()["fvsbn"].log_prob(x)


def test_bad_orderings_and_settings_are_clear_errors():
    with pytest.raises(ValueError, match="length 10"):
        g.NADE(D_TINY, order=torch.arange(9))
    with pytest.raises(ValueError, match="permutation"):
        g.FVSBN(D_TINY, order=torch.zeros(D_TINY, dtype=torch.long))
    with pytest.raises(ValueError, match="num_masks"):
        g.MADE(D_TINY, num_masks=0)
    with pytest.raises(ValueError, match="odd"):
        g.causal_mask(4, "A")
    with pytest.raises(ValueError, match="lr"):
        g.FitConfig(lr=0)


def test_digits_split_and_binarisation():
    data = g.load_digits_binary()
    assert (len(data.train), len(data.valid), len(data.test)) == (1300, 200, 297)
    assert data.dim == 64 and set(data.train.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(
        g.binarize_digits(torch.tensor([[7.0, 8.0, 16.0]])), torch.tensor([[0.0, 1, 1]])
    )
    with pytest.raises(ValueError, match="0..16"):
        g.binarize_digits(torch.tensor([[17.0]]))
    assert torch.equal(g.load_digits_binary().test, data.test)  # the split is fixed


def test_fit_improves_and_keeps_the_best_state():
    data = g.load_digits_binary()
    torch.manual_seed(0)
    model = g.FVSBN(64)
    before = g.nll(model, data.valid)
    history = g.fit(model, data.train, data.valid, g.FitConfig(epochs=15, lr=1e-2), progress=False)
    assert g.nll(model, data.valid) == pytest.approx(min(history.valid_nll), rel=1e-5)
    assert min(history.valid_nll) < before - 10  # 44.4 nats (uniform) -> below 25


def sample_frequencies(model: g.MADE, n: int, seed: int = 0) -> torch.Tensor:
    """Empirical probability of each of the 2^D configurations (rows of itertools.product)."""
    samples = model.sample(n, generator=torch.Generator().manual_seed(seed))
    index = (samples * 2 ** torch.arange(model.dim - 1, -1, -1)).sum(dim=1).long()
    return torch.bincount(index, minlength=2**model.dim).float() / n


def test_made_state_dict_restores_the_mask_in_use():
    model = g.MADE(4, hidden=[8], num_masks=3, order_agnostic=True)
    model.use_mask(2)
    state = model.state_dict()
    model.use_mask(0)
    model.load_state_dict(state)
    assert model.mask_index == 2 and torch.equal(model.order, model.orders[2])
    assert torch.equal(model.out.mask, model.out_masks[2])


def test_made_samples_follow_log_prob_after_fit_with_several_masks():
    """fit() restores the best epoch's state; sampling must then draw from that state's model."""
    dim = 3
    configs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=dim)))
    target = torch.tensor([0.30, 0.02, 0.05, 0.13, 0.02, 0.25, 0.03, 0.20])
    gen = torch.Generator().manual_seed(0)
    train = configs[torch.multinomial(target, 600, replacement=True, generator=gen)]
    valid = configs[torch.multinomial(target, 200, replacement=True, generator=gen)]
    torch.manual_seed(0)
    model = g.MADE(dim, hidden=[16], num_masks=3, order_agnostic=True, seed=1)
    # 7 minibatches an epoch and 3 masks: the mask in use moves between epochs, so the best
    # epoch's masks differ from the last epoch's
    config = g.FitConfig(epochs=40, batch_size=90, lr=3e-2, patience=5)
    g.fit(model, train, valid, config, progress=False)
    with torch.no_grad():
        exact = model.log_prob(configs).exp()
    assert exact.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(sample_frequencies(model, 40_000), exact, atol=0.012)


@pytest.mark.parametrize("name", ["fvsbn", "nade", "made", "pixelcnn"])
def test_float64_models_sample_in_float64(name):
    model = tiny_models()[name].double()
    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.dtype == torch.float64 and set(samples.unique().tolist()) <= {0.0, 1.0}


def test_image_grid_places_each_image_in_its_cell():
    from f2p.generative.plots import image_grid

    x = torch.arange(5 * 6, dtype=torch.float).view(5, 6)  # five 2x3 images
    grid = image_grid(x, height=2, width=3, cols=2, pad=1)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1)
    for i in range(5):
        r, c = divmod(i, 2)
        top, left = 1 + 3 * r, 1 + 4 * c
        assert torch.equal(grid[top : top + 2, left : left + 3], x[i].view(2, 3))
    assert torch.all(grid[:, 0] == 0.5) and torch.all(grid[-3:, 5:] == 0.5)  # frame, empty cell


@pytest.mark.parametrize("cols", [5, 15, 30])
def test_show_images_fits_the_column_and_draws_the_grid(cols):
    import matplotlib.pyplot as plt

    from f2p.generative.plots import show_images
    from f2p.utils import FIGURE_WIDTH

    x = (torch.rand(30, 8 * 8) > 0.5).float()
    ax = show_images(x, 8, 8, cols=cols, title="t")
    assert ax.figure.get_figwidth() <= FIGURE_WIDTH + 1e-9
    assert ax.get_images()[0].get_array().shape == (-(-30 // cols) * 9 + 1, cols * 9 + 1)
    plt.close(ax.figure)


def test_nade_preactivations_checker_rejects_plausible_mistakes(capsys):
    """The chapter-07 exercise's checker passes the recursion and NADE's own W x, and rejects an
    inclusive cumulative sum (pixel k sees itself), a forgotten bias c and the full product."""
    from f2p import checks

    def recursion(w, c, x):
        a, out = c.expand(len(x), -1), []
        for k in range(x.shape[1]):
            out.append(a)
            a = a + x[:, k : k + 1] * w[:, k]
        return torch.stack(out, 1)

    checks.nade_preactivations(recursion)
    assert "PASS nade_preactivations" in capsys.readouterr().out
    model = g.NADE(6, hidden=4).double()
    x = torch.bernoulli(torch.full((5, 6), 0.5, dtype=torch.float64))
    a = checks.reference_nade_preactivations(model.W.detach(), model.c.detach(), x)
    naive = torch.stack([model.c + x[:, :k] @ model.W[:, :k].T for k in range(6)], 1)
    assert torch.allclose(a, naive.detach())
    wrong = [
        lambda w, c, x: c + (x[:, :, None] * w.T[None]).cumsum(1),  # inclusive
        lambda w, c, x: (x[:, :, None] * w.T[None]).cumsum(1) - x[:, :, None] * w.T[None],  # no c
        lambda w, c, x: (c + x @ w.T)[:, None].expand(-1, x.shape[1], -1),  # all pixels
    ]
    for candidate in wrong:
        with pytest.raises(checks.CheckFailed):
            checks.nade_preactivations(candidate)
