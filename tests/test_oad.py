"""Online action detection (chapter 06): windows, metrics, causality, the IDU's gates, OadTR."""

import pytest
import torch
from sklearn.metrics import average_precision_score

from f2p.oad import data, metrics, models, train
from f2p.video import data as video_data

D, K, T = 6, len(data.CLASSES), 5


def all_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "chunk": models.ChunkClassifier(D, K),
        "gru": models.RNNDetector(D, K, 8),
        "lstm": models.RNNDetector(D, K, 8, kind="lstm"),
        "trn": models.TemporalRecurrentNet(D, K, 8, future=3),
        "idn": models.IDN(D, K, 8, 8),
        "oadtr": models.OadTR(D, K, T, d_model=16, heads=2, future=3),
        "oadtr-no-token": models.OadTR(D, K, T, d_model=16, heads=2, future=3, task_token=False),
        "oadtr-no-decoder": models.OadTR(D, K, T, d_model=16, heads=2, decoder=False),
    }


def test_average_precision_matches_scikit_learn_with_and_without_ties():
    gen = torch.Generator().manual_seed(0)
    for trial in range(20):
        targets = torch.rand(200, generator=gen) < 0.1 + 0.04 * trial
        scores = torch.rand(200, generator=gen)
        if trial % 2:
            scores = (scores * 5).round() / 5  # many ties
        expected = average_precision_score(targets.numpy(), scores.numpy())
        assert metrics.average_precision(scores, targets) == pytest.approx(expected, abs=1e-12)


def test_calibrated_ap_equals_ap_when_balanced_and_ignores_extra_negatives():
    gen = torch.Generator().manual_seed(1)
    targets = torch.arange(100) % 2 == 0
    scores = torch.rand(100, generator=gen) + 0.3 * targets
    ap = metrics.average_precision(scores, targets)
    assert metrics.average_precision(scores, targets, calibrated=True) == pytest.approx(ap)
    # duplicating every negative lowers AP but leaves calibrated AP unchanged
    more = torch.cat([scores, scores[~targets]]), torch.cat([targets, targets[~targets]])
    assert metrics.average_precision(*more) < ap - 0.01
    assert metrics.average_precision(*more, calibrated=True) == pytest.approx(ap)


def test_frame_map_skips_background_and_absent_classes():
    scores = torch.rand(50, 4)
    labels = torch.tensor([0, 1, 3] * 16 + [0, 0])
    mean, per_class = metrics.frame_map(scores, labels)
    assert sorted(per_class) == [1, 3]
    assert mean == pytest.approx((per_class[1] + per_class[3]) / 2)
    with pytest.raises(ValueError, match="positive"):
        metrics.frame_map(scores, torch.zeros(50, dtype=torch.long))
    with pytest.raises(ValueError, match="same shape"):
        metrics.average_precision(torch.rand(3), torch.ones(4))


def test_windows_are_explicit_slices_with_left_padding_and_ignored_future():
    f = torch.arange(7.0)[:, None].expand(7, D).clone()
    y = torch.tensor([0, 1, 1, 2, 0, 3, 3])
    w = data.ChunkStreams([f], [y]).windows(3, future=2)
    assert w.x.shape == (7, 3, D) and w.y.shape == (7, 5)
    for t in range(7):
        for j in range(3):
            s = t - 2 + j
            expected = f[s] if s >= 0 else torch.zeros(D)
            torch.testing.assert_close(w.x[t, j], expected)
        for j in range(5):
            s = t - 2 + j
            assert w.y[t, j] == (y[s] if 0 <= s < 7 else data.IGNORE)
    assert w.lengths.tolist() == [1, 2, 3, 3, 3, 3, 3] and (w.current == y).all()
    with pytest.raises(ValueError, match="L >= 1"):
        data.ChunkStreams([torch.zeros(0, D)], [torch.zeros(0, dtype=torch.long)])


def test_chunk_labels_map_targets_to_classes_and_distractors_to_background():
    frame_labels = torch.tensor([-1] * 4 + [0] * 4 + [1] * 4 + [8] * 4 + [3] * 2)
    assert data.chunk_labels(frame_labels, 4).tolist() == [0, 1, 0, 5]


def test_streams_with_distractors_hold_irrelevant_actions_and_encode_to_chunks():
    config = data.StreamConfig(actions=6, size=16)
    ((frames, labels),) = data.make_streams(1, True, config, seed=0)
    motions = set(labels.unique().tolist()) - {video_data.BACKGROUND}
    assert motions & set(data.DISTRACTORS) and motions <= set(data.TARGETS + data.DISTRACTORS)
    ((_, clean_labels),) = data.make_streams(1, False, config, seed=0)
    assert set(clean_labels.unique().tolist()) - {video_data.BACKGROUND} <= set(data.TARGETS)
    encoder = video_data_encoder(config)
    streams = data.encode(encoder, [(frames, labels)], config.chunk)
    assert streams.features[0].shape == (len(frames) // config.chunk, encoder.backbone.width)
    with pytest.raises(ValueError, match="divide"):
        data.StreamConfig(chunk=3, action_frames=16)


def video_data_encoder(config):
    from f2p.video import models as video_models

    return video_models.TSN(11, frames=config.chunk, widths=(4, 4, 8)).eval()


@pytest.mark.parametrize("name", list(all_models()))
def test_every_model_is_causal_on_a_stream(name):
    model = all_models()[name].eval()
    gen = torch.Generator().manual_seed(2)
    features = torch.randn(12, D, generator=gen)
    before = train.stream_scores(model, features, T)
    t = 6
    perturbed = features.clone()
    perturbed[t + 1 :] += 10 * torch.randn(12 - t - 1, D, generator=gen)
    after = train.stream_scores(model, perturbed, T)
    torch.testing.assert_close(after[: t + 1], before[: t + 1])
    assert not torch.allclose(after[t + 1 :], before[t + 1 :])


def test_recurrent_step_scores_and_trn_anticipation_use_only_the_past():
    torch.manual_seed(0)
    x = torch.randn(3, 6, D)
    later = x.clone()
    later[:, 4:] += 5  # steps 4 and 5 change
    gru, trn = (
        models.RNNDetector(D, K, 8).eval(),
        models.TemporalRecurrentNet(D, K, 8, future=2).eval(),
    )
    torch.testing.assert_close(gru.step_scores(later)[:, :4], gru.step_scores(x)[:, :4])
    for before, after in zip(trn.run(x), trn.run(later), strict=True):
        torch.testing.assert_close(after[:, :4], before[:, :4])
        assert not torch.allclose(after[:, 4:], before[:, 4:])


def official_idu_type1(kernels, x, h, x0):
    """The IDU step transcribed from the official code (``hjeun/idu``, ``recurrent.py``,
    ``IDUCell.type1``; numpy, Keras' row-vector convention ``K.dot(a, kernel)``):

        r_t = self.fc_n_add(h_r, h_r_kernel, inputs0_r, inputs0_r_kernel, 'hsigm')
        z_t = self.fc_n_add(inputs_z, inputs_z_kernel, inputs0_z, inputs0_z_kernel, 'hsigm')
        h_h = r_t * h_tm1
        h_t = self.fc_n_add(inputs_h, inputs_h_kernel, h_h, h_h_kernel, 'tanh')
        h_t = (1 - z_t) * h_tm1 + (h_t * z_t)

    with ``kernel_512_512[:, :, i]`` for i = 0..5 = h_r, inputs0_r, inputs_z, inputs0_z,
    inputs_h, h_h, and Keras' hard_sigmoid clip(0.2 u + 0.5, 0, 1)."""
    import numpy as np

    def hsigm(u):
        return np.clip(0.2 * u + 0.5, 0.0, 1.0)

    k_hr, k_0r, k_z, k_0z, k_h, k_hh = kernels
    r_t = hsigm(h @ k_hr + x0 @ k_0r)
    z_t = hsigm(x @ k_z + x0 @ k_0z)
    h_h = r_t * h
    h_t = np.tanh(x @ k_h + h_h @ k_hh)
    return (1 - z_t) * h + h_t * z_t


def test_idu_step_matches_the_official_type1():
    """Our cell, with the official kernels loaded (its update gate negated: the mix is written in
    PyTorch's convention), computes the official step; the reset applied after W_hh instead,
    r * (W_hh h), would not."""
    import numpy as np

    rng = np.random.default_rng(0)
    hidden = 7
    kernels = [rng.normal(size=(D if i in (1, 2, 3, 4) else hidden, hidden)) for i in range(6)]
    x, h, x0 = rng.normal(size=(4, D)), rng.normal(size=(4, hidden)), rng.normal(size=(4, D))
    k_hr, k_0r, k_z, k_0z, k_h, k_hh = (torch.tensor(k, dtype=torch.float64) for k in kernels)
    cell = models.IDUCell(D, hidden).double()
    with torch.no_grad():  # nn.Linear computes a @ W.T, so W = kernel.T
        cell.from_input.weight.copy_(torch.cat([-k_z.T, k_h.T]))  # z_ours = 1 - z_official
        cell.from_current.weight.copy_(torch.cat([k_0r.T, -k_0z.T]))
        cell.reset_from_past.weight.copy_(k_hr.T)
        cell.candidate_from_past.weight.copy_(k_hh.T)
    ours = cell(*(torch.tensor(a) for a in (x, h, x0))).detach().numpy()
    expected = official_idu_type1(kernels, x, h, x0)
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)
    # the check can fail: the reset applied after W_hh gives another function
    r = np.clip(0.2 * (h @ kernels[0] + x0 @ kernels[1]) + 0.5, 0, 1)
    z = np.clip(0.2 * (x @ kernels[2] + x0 @ kernels[3]) + 0.5, 0, 1)
    after = (1 - z) * h + np.tanh(x @ kernels[4] + r * (h @ kernels[5])) * z
    assert np.abs(after - expected).max() > 1e-2
    # and the gates use the hard sigmoid: a logistic sigmoid gives another function too
    assert not np.allclose(
        (1 - 1 / (1 + np.exp(-(x @ kernels[2] + x0 @ kernels[3])))),
        1 - z,
    )
    assert models.hard_sigmoid(torch.tensor([-3.0, 0.0, 1.0, 3.0])).tolist() == pytest.approx(
        [0.0, 0.5, 0.7, 1.0]
    )


def test_idu_update_gate_ignores_the_past_and_reset_gate_ignores_the_input():
    """With the candidate switched off (n = 0), h_t = z_t * h_{t-1}, so dh_t/dh_{t-1} is diagonal
    exactly when z_t does not read h_{t-1} (a GRU's does). With z_t and n_t blind to x_t, x_t
    could reach h_t only through r_t, which must not read it."""
    torch.manual_seed(0)
    cell = models.IDUCell(D, 7)
    with torch.no_grad():  # W_xh, W_hh = 0: the candidate n_t = tanh(0) = 0
        cell.from_input.weight[7:].zero_(), cell.candidate_from_past.weight.zero_()
    x, h, x0 = torch.randn(D), torch.randn(7), torch.randn(D)
    jac = torch.autograd.functional.jacobian(lambda v: cell(x[None], v[None], x0[None])[0], h)
    assert torch.allclose(jac, torch.diag(torch.diagonal(jac)))  # z_t does not read h_{t-1}
    gru = torch.nn.GRUCell(D, 7)
    with torch.no_grad():
        gru.weight_ih[14:].zero_(), gru.bias_ih[14:].zero_()
        gru.weight_hh[14:].zero_(), gru.bias_hh[14:].zero_()
    jac_gru = torch.autograd.functional.jacobian(lambda v: gru(x[None], v[None])[0], h)
    assert not torch.allclose(jac_gru, torch.diag(torch.diagonal(jac_gru)))
    # reset gate: h_t moves with x_t only through z_t and n_t, never through r_t
    cell2 = models.IDUCell(D, 7)
    with torch.no_grad():
        cell2.from_input.weight[:7].zero_()  # W_xz = 0: z does not read x_t
        cell2.from_input.weight[7:].zero_()  # W_xh = 0: n reads x_t nowhere but through r
    jac_x = torch.autograd.functional.jacobian(lambda v: cell2(v[None], h[None], x0[None])[0], x)
    assert torch.all(jac_x == 0)  # so r_t does not read x_t


def test_oadtr_task_token_is_last_and_padding_is_masked():
    torch.manual_seed(0)
    model = models.OadTR(D, K, T, d_model=16, heads=2, future=2).eval()
    x = torch.randn(2, T, D)
    tokens = model.tokens(x)
    assert tokens.shape == (2, T + 1, 16)
    torch.testing.assert_close(tokens[:, -1], (model.task_token + model.position[T]).expand(2, -1))
    mask = model.padding_mask(torch.tensor([2, T]), T)
    assert mask.tolist() == [[True] * 3 + [False] * 3, [False] * 6]
    lengths = torch.tensor([2, 2])
    changed = x.clone()
    changed[:, :3] = torch.randn(2, 3, D)  # padded positions only
    torch.testing.assert_close(model(changed, lengths), model(x, lengths))
    assert not torch.allclose(model(changed), model(x))
    assert model.anticipate(x).shape == (2, 2, K)


def test_bad_input_is_a_clear_error():
    for model in all_models().values():
        with pytest.raises(ValueError, match="expected windows"):
            model(torch.randn(2, T, D + 1))
    with pytest.raises(ValueError, match="lengths"):
        all_models()["gru"](torch.randn(2, T, D), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="windows of 5"):
        all_models()["oadtr"](torch.randn(2, T + 1, D))
    with pytest.raises(ValueError, match="kind"):
        models.RNNDetector(D, K, kind="rnn")
    windows = data.ChunkStreams([torch.randn(9, D)], [torch.zeros(9, dtype=torch.long)]).windows(
        T, 2
    )
    with pytest.raises(ValueError, match="future >= 3"):
        all_models()["trn"].loss(windows.x, windows.y, windows.lengths)
    with pytest.raises(ValueError, match="no streams"):
        data.ChunkStreams([], [])


def test_training_lowers_every_loss_and_evaluation_reports_anticipation():
    gen = torch.Generator().manual_seed(3)
    labels = [torch.randint(K, (40,), generator=gen) for _ in range(3)]
    features = [
        torch.nn.functional.one_hot(y, D).float() + 0.1 * torch.randn(40, D, generator=gen)
        for y in labels
    ]
    windows = data.ChunkStreams(features, labels).windows(T, future=3)
    for name, model in all_models().items():
        history = train.fit(model, windows, epochs=4, lr=3e-3, batch=32)
        assert history.loss[-1] < history.loss[0], name
        result = train.evaluate(model, windows)
        assert 0 < result.map <= 1 and 0 < result.mcap <= 1
        assert (result.anticipation is not None) == (name in ("trn", "oadtr", "oadtr-no-token"))


def test_trn_feeds_back_the_mean_embedding_of_the_decoder_states():
    """TRN.pytorch: future context = mean_i ReLU(F d_i) over the decoder's hidden states d_i (not
    an embedding of the anticipated scores, which only feed the next decoder step)."""
    torch.manual_seed(0)
    trn = models.TemporalRecurrentNet(D, K, 8, future=3).eval()
    x = torch.randn(2, 2, D)
    with torch.no_grad():
        present, _ = trn.run(x)
        h, c = trn.sta(torch.cat([x[:, 0], torch.zeros(2, 8)], 1), (torch.zeros(2, 8),) * 2)
        d, e, u, states = trn.init_h(h), trn.init_c(c), torch.zeros(2, 8), []
        for _ in range(3):
            d, e = trn.decoder(u, (d, e))
            states.append(torch.relu(trn.future_embed(d)))
            u = torch.relu(trn.embed(trn.fc(d)))
        h, _ = trn.sta(torch.cat([x[:, 1], torch.stack(states).mean(0)], 1), (h, c))
    torch.testing.assert_close(present[:, 1], trn.fc(h).detach())


@pytest.mark.parametrize("name", ["gru", "lstm", "trn"])
def test_streaming_one_chunk_at_a_time_equals_the_window_from_the_start(name):
    """The stateful form (one step per new chunk) gives the windowed scores when the window
    holds the whole stream so far."""
    torch.manual_seed(0)
    model = {
        "gru": models.RNNDetector(D, K, 8),
        "lstm": models.RNNDetector(D, K, 8, kind="lstm"),
        "trn": models.TemporalRecurrentNet(D, K, 8, future=2),
    }[name].eval()
    x = torch.randn(3, 5, D)
    state = None
    with torch.no_grad():
        for t in range(5):
            scores, state = model.stream(x[:, t], state)
            torch.testing.assert_close(scores, model(x[:, : t + 1]))


def test_calibrated_ap_groups_ties_and_is_one_without_negatives():
    """Ties are one threshold (scikit-learn's convention), so the order of tied frames does not
    matter; hand count for scores 0.9 (+), 0.5 (-), 0.5 (+), 0.1 (-) and 4 extra negatives at
    0.0: w = 6/2 = 3, thresholds give (TP, FP/w) = (1, 0), (2, 1/3): cAP = 1/2 + 1/2 * 6/7."""
    scores = torch.tensor([0.9, 0.5, 0.5, 0.1, 0.0, 0.0, 0.0, 0.0])
    targets = torch.tensor([1, 0, 1, 0, 0, 0, 0, 0])
    swapped = torch.tensor([0, 2, 1, 3, 4, 5, 6, 7])  # the tied pair in the other order
    expected = 0.5 + 0.5 * 2 / (2 + 1 / 3)
    for order in (torch.arange(8), swapped):
        value = metrics.average_precision(scores[order], targets[order], calibrated=True)
        assert value == pytest.approx(expected)
    # no negatives: every threshold has precision 1, so (c)AP = 1 by this definition
    assert metrics.average_precision(torch.rand(5), torch.ones(5), calibrated=True) == 1.0
    assert metrics.average_precision(torch.rand(5), torch.ones(5)) == 1.0


def test_oadtr_decoder_queries_attend_causally_to_each_other():
    """OadTR's decoder self-attention is masked: anticipation i ignores queries after i."""
    torch.manual_seed(0)
    model = models.OadTR(D, K, window=6, d_model=16, heads=2, future=4).eval()
    x = torch.randn(2, 6, D)
    with torch.no_grad():
        before = model.anticipate(x)
        model.queries[2:] += torch.randn(2, 16)  # change queries 2 and 3
        after = model.anticipate(x)
    torch.testing.assert_close(after[:, :2], before[:, :2])
    assert not torch.allclose(after[:, 2:], before[:, 2:])


@pytest.mark.parametrize("name", ["gru", "lstm", "trn"])
def test_current_label_only_supervises_the_last_step_alone(name):
    """With ``every_step=False`` the loss reads the current chunk's labels only (present, and for
    TRN its anticipations): changing any earlier label leaves it unchanged, and it equals the
    explicit cross-entropy at the last step. The default sequence labeller reads them all."""
    future = 2
    make = {
        "gru": lambda every: models.RNNDetector(D, K, 8, every_step=every),
        "lstm": lambda every: models.RNNDetector(D, K, 8, kind="lstm", every_step=every),
        "trn": lambda every: models.TemporalRecurrentNet(D, K, 8, future=future, every_step=every),
    }[name]
    torch.manual_seed(0)
    every, current = make(True), make(False)
    current.load_state_dict(every.state_dict())
    x, lengths = torch.randn(4, T, D), torch.full((4,), T)
    y = torch.randint(K, (4, T + future))
    relabelled = y.clone()
    relabelled[:, : T - 1] = (y[:, : T - 1] + 1) % K

    def loss(model, labels) -> float:
        return model.loss(x, labels, lengths).item()

    assert loss(current, y) == pytest.approx(loss(current, relabelled))
    assert loss(every, y) != pytest.approx(loss(every, relabelled))
    if name == "trn":
        present, anticipated = current.run(x, lengths)
        expected = torch.nn.functional.cross_entropy(present[:, -1], y[:, T - 1])
        expected += torch.nn.functional.cross_entropy(
            anticipated[:, -1].flatten(0, 1), y[:, T : T + future].flatten()
        )
    else:
        expected = torch.nn.functional.cross_entropy(current(x, lengths), y[:, T - 1])
    assert loss(current, y) == pytest.approx(expected.item(), rel=1e-6)


def test_tied_positives_after_a_negative_split_the_two_tie_conventions():
    """Scores 0.9 (-), 0.5 (+), 0.5 (+): grouped ties give one threshold with precision 2/3;
    stepping rank by rank gives precisions 1/2 and 2/3 at the two positives, mean 0.583."""
    scores, targets = torch.tensor([0.9, 0.5, 0.5]), torch.tensor([0, 1, 1])
    assert metrics.average_precision(scores, targets) == pytest.approx(2 / 3)
    hits = targets.double()
    rank_by_rank = float((hits.cumsum(0) / torch.arange(1, 4) * hits).sum() / hits.sum())
    assert rank_by_rank == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert abs(rank_by_rank - 2 / 3) > 0.08


def test_ap_at_a_ratio_is_ap_at_its_own_base_rate_and_cap_at_one():
    gen = torch.Generator().manual_seed(3)
    targets = torch.rand(300, generator=gen) < 0.2
    scores = torch.rand(300, generator=gen) + 0.4 * targets
    w = float((~targets).sum() / targets.sum())
    ap = metrics.average_precision(scores, targets)
    assert metrics.average_precision(scores, targets, ratio=w) == pytest.approx(ap)
    cap = metrics.average_precision(scores, targets, calibrated=True)
    assert metrics.average_precision(scores, targets, ratio=1.0) == pytest.approx(cap)
    # half the positives dropped: plain AP falls, AP at the original ratio barely moves
    drop = torch.nonzero(targets)[::2, 0]
    keep = torch.ones(300, dtype=torch.bool)
    keep[drop] = False
    fewer = metrics.average_precision(scores[keep], targets[keep])
    at_w = metrics.average_precision(scores[keep], targets[keep], ratio=w)
    assert fewer < ap - 0.03 and abs(at_w - ap) < abs(fewer - ap) / 2
    labels = torch.tensor([0, 1, 1, 2, 0, 0])
    assert metrics.negative_ratios(labels, 3) == {1: 2.0, 2: 5.0}
    with pytest.raises(ValueError, match="not both"):
        metrics.average_precision(scores, targets, calibrated=True, ratio=2.0)


def _gru_unrolled(gru: models.RNNDetector, x: torch.Tensor):
    """The update gates z_t, hidden states h_t, previous states h_{t-1} (h_0 = 0) and candidates
    n_t of ``gru`` on ``x``, the candidates rebuilt from PyTorch's GRU weights by hand."""
    z = gru.update_gates(x)
    h = gru.rnn(x)[0].detach()
    before = torch.cat([torch.zeros(len(x), 1, h.shape[-1]), h[:, :-1]], 1)
    gi = x @ gru.rnn.weight_ih_l0.T + gru.rnn.bias_ih_l0
    gh = before @ gru.rnn.weight_hh_l0.T + gru.rnn.bias_hh_l0
    size = h.shape[-1]
    r = torch.sigmoid(gi[..., :size] + gh[..., :size])
    n = torch.tanh(gi[..., 2 * size :] + r * gh[..., 2 * size :])
    return z, h, before, n


def test_update_gates_are_the_gates_the_state_uses():
    """The GRU's z_t rebuilds its hidden states, h_t = (1 - z_t) n_t + z_t h_{t-1}; IDN's z_t
    equals its IDU's update module, which reads e_t and e_0 only."""
    torch.manual_seed(0)
    gru = models.RNNDetector(D, K, 8)
    x = torch.randn(3, T, D)
    z, h, before, n = _gru_unrolled(gru, x)
    torch.testing.assert_close((1 - z) * n + z * before, h)
    with pytest.raises(ValueError, match="GRU"):
        models.RNNDetector(D, K, 8, kind="lstm").update_gates(x)
    idn = models.IDN(D, K, 8, 8)
    z = idn.update_gates(x)
    e = idn.embed(x).detach()
    for s in range(T):
        xz = idn.idu.from_input(e[:, s]).chunk(2, 1)[0]
        cz = idn.idu.from_current(e[:, -1]).chunk(2, 1)[1]
        torch.testing.assert_close(z[:, s], models.hard_sigmoid(xz + cz))
    other = x.clone()
    other[:, 0] += 3  # an earlier chunk changes: z_s of the later steps does not
    torch.testing.assert_close(idn.update_gates(other)[:, 1:], z[:, 1:])
    other[:, -1] += 3  # the current chunk changes: every z_s does
    assert not torch.allclose(idn.update_gates(other)[:, 1:], z[:, 1:])


def test_irrelevant_flags_follow_the_distractors_and_align_with_windows():
    frame_labels = torch.tensor([-1] * 4 + [1] * 4 + [0] * 4 + [9] * 4)
    assert data.irrelevant_chunks(frame_labels, 4).tolist() == [False, True, False, True]
    f = torch.randn(4, D)
    streams = data.ChunkStreams([f], [data.chunk_labels(frame_labels, 4)],
                                [data.irrelevant_chunks(frame_labels, 4)])  # fmt: skip
    flags = streams.irrelevant_windows(3)
    assert flags.tolist() == [[False, False, False], [False, False, True],
                              [False, True, False], [True, False, True]]  # fmt: skip
    with pytest.raises(ValueError, match="flags"):
        data.ChunkStreams([f], [torch.zeros(4, dtype=torch.long)]).irrelevant_windows(3)


def test_reversal_classes_name_the_target_class_each_irrelevant_chunk_reverses():
    frame_labels = torch.tensor([-1] * 4 + [1] * 4 + [0] * 4 + [9] * 4 + [3] * 4)
    assert data.reversal_classes(frame_labels, 4).tolist() == [0, 1, 0, 5, 2]
    streams = data.ChunkStreams([torch.randn(5, D)], [data.chunk_labels(frame_labels, 4)],
                                [data.irrelevant_chunks(frame_labels, 4)],
                                [data.reversal_classes(frame_labels, 4)])  # fmt: skip
    assert streams.reversal_windows(2).tolist() == [[0, 0], [0, 1], [1, 0], [0, 5], [5, 2]]


def test_final_weights_are_the_unrolled_gru_weights():
    """a_{0,s} = (1 - z_s) prod_{u>s} z_u rebuilds the last state of a GRU from its candidates
    (h_init = 0), and the weights with prod_u z_u sum to one."""
    from f2p.oad import experiment

    torch.manual_seed(0)
    gru = models.RNNDetector(D, K, 8)
    x = torch.randn(3, T, D)
    z, h, before, n = _gru_unrolled(gru, x)
    a = experiment.final_weights(z)
    torch.testing.assert_close((a * n).sum(1), h[:, -1])
    torch.testing.assert_close(a.sum(1) + z.prod(1), torch.ones(3, 8))


def test_contrastive_checker_rejects_plausible_wrong_answers_by_a_clear_amount():
    """The chapter's contrastive checker passes the reference and rejects the per-window mean,
    the squared margin max(0, m^2 - d^2), and leaving the current chunk out of the mean; its
    inputs put pairs inside the margin, so the squared-margin variant misses by more than 1e-2
    on every draw (it used to miss by 4e-4 on some)."""
    from f2p import checks

    def term(e, labels, margin, margin_term=None, per_window=False, skip_current=False):
        d = (e - e[:, -1:]).norm(dim=-1)
        far = torch.relu(margin - d) ** 2 if margin_term is None else margin_term(d, margin)
        pair = torch.where(labels == labels[:, -1:], d**2, far)
        valid = labels != -100
        if skip_current:
            valid = valid.clone()
            valid[:, -1] = False
        if per_window:
            return ((pair * valid).sum(1) / valid.sum(1).clamp(min=1)).mean()
        return (pair * valid).sum() / valid.sum()

    def squared(d, m):
        return torch.relu(m**2 - d**2)

    checks.contrastive(term)
    wrong = {
        "per-window mean": lambda e, y, m: term(e, y, m, per_window=True),
        "squared margin": lambda e, y, m: term(e, y, m, margin_term=squared),
        "current chunk left out": lambda e, y, m: term(e, y, m, skip_current=True),
    }
    for candidate in wrong.values():
        with pytest.raises(checks.CheckFailed):
            checks.contrastive(candidate)
    gen = torch.Generator().manual_seed(0)
    gaps = []
    for _ in range(15):
        e, y, m = checks._contrastive_inputs(gen)
        gaps.append(float(term(e, y, m) - term(e, y, m, margin_term=squared)))
    assert min(abs(g) for g in gaps) > 1e-2, gaps  # on every draw, not on one
