"""Online action detectors over windows of chunk features (chapter 06).

Every model reads a window ``x`` (B, T, D) that ends with the current chunk (left-padded with
zeros at a stream's start, ``lengths`` real chunks) and scores the current chunk (B, K+1),
class 0 being background. ``loss(x, y, lengths)`` is the training loss of the model's paper, with
``y`` (B, T + future) the labels of the window and of the chunks after it (see
:class:`f2p.oad.data.Windows`).

- :class:`ChunkClassifier`: the current chunk alone (no temporal context), a floor.
- :class:`RNNDetector`: GRU or LSTM over the window, a label per step (or, to match the
  supervision of IDN and OadTR, the current chunk's label only: ``every_step=False``).
- :class:`TemporalRecurrentNet`: the Temporal Recurrent Network, TRN (Xu et al., ICCV 2019): at
  every step a decoder anticipates the next actions and the spatiotemporal accumulator (STA)
  fuses their embedding with the next input (not chapter 03's relation network).
- :class:`IDN`: Information Discrimination Network (Eun et al., CVPR 2020): :class:`IDUCell`, a
  gated unit whose reset gate compares the past state, and whose update gate compares the input,
  with the current chunk, after an early embedding trained with classification and contrastive
  losses.
- :class:`OadTR`: OadTR (Wang et al., ICCV 2021): a Transformer encoder over the window plus a
  task token, and a decoder whose anticipated future is fused with the task token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from f2p.oad.data import IGNORE


def _check(x: torch.Tensor, dim: int, lengths: torch.Tensor | None) -> torch.Tensor:
    if x.dim() != 3 or x.shape[2] != dim:
        raise ValueError(f"expected windows (B, T, {dim}), got {tuple(x.shape)}")
    if lengths is None:
        return torch.full((len(x),), x.shape[1], device=x.device)
    if lengths.shape != (len(x),) or lengths.min() < 1 or lengths.max() > x.shape[1]:
        raise ValueError(f"lengths must be (B,) in 1..T, got {lengths}")
    return lengths


def _need_future(y: torch.Tensor, t: int, future: int) -> None:
    if y.shape[1] < t + future:
        raise ValueError(
            f"labels cover {y.shape[1] - t} future chunks but the model anticipates {future}; "
            f"build the windows with future >= {future}"
        )


def _ce(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over any leading shape, ``IGNORE`` labels skipped (0 if none is left)."""
    scores, labels = scores.flatten(0, -2), labels.flatten()
    if (labels == IGNORE).all():
        return scores.sum() * 0
    return F.cross_entropy(scores, labels, ignore_index=IGNORE)


class ChunkClassifier(nn.Module):
    """An MLP on the current chunk's feature only."""

    def __init__(self, dim: int, classes: int, hidden: int = 64) -> None:
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        _check(x, self.dim, lengths)
        return self.net(x[:, -1])

    def loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return _ce(self(x, lengths), y[:, x.shape[1] - 1])


def _steps_to_supervise(scores: torch.Tensor, every_step: bool) -> torch.Tensor:
    """All steps of per-step outputs (B, T, ...), or only the last (current) one as (B, 1, ...)."""
    return scores if every_step else scores[:, -1:]


class RNNDetector(nn.Module):
    """A GRU or LSTM over the window with a classifier on every hidden state, scored at the last
    one. Trained to label every step (sequence labelling, T labels a window), or with
    ``every_step=False`` the current chunk only, the supervision IDN and OadTR get."""

    def __init__(
        self,
        dim: int,
        classes: int,
        hidden: int = 64,
        kind: str = "gru",
        every_step: bool = True,
    ) -> None:
        super().__init__()
        if kind not in ("gru", "lstm"):
            raise ValueError(f"kind must be 'gru' or 'lstm', got {kind!r}")
        self.dim, self.every_step = dim, every_step
        self.rnn = (nn.GRU if kind == "gru" else nn.LSTM)(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def step_scores(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of every step of the window (B, T, K+1); step s sees chunks <= s only."""
        _check(x, self.dim, lengths)
        return self.fc(self.rnn(x)[0])

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.step_scores(x, lengths)[:, -1]

    @torch.no_grad()
    def update_gates(self, x: torch.Tensor) -> torch.Tensor:
        """The GRU's update gate z_t at every step of the window (B, T, hidden), eq. ch06-gru:
        1 - z_t is the share of step t's candidate that enters the state."""
        if not isinstance(self.rnn, nn.GRU):
            raise ValueError("update gates are defined for the GRU only")
        _check(x, self.dim, None)
        h = self.rnn(x)[0]
        before = torch.cat([h.new_zeros(len(h), 1, h.shape[2]), h[:, :-1]], 1)
        hidden = h.shape[2]
        gi = x @ self.rnn.weight_ih_l0.T + self.rnn.bias_ih_l0
        gh = before @ self.rnn.weight_hh_l0.T + self.rnn.bias_hh_l0
        return torch.sigmoid(gi[..., hidden : 2 * hidden] + gh[..., hidden : 2 * hidden])

    def stream(self, chunk: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """The deployed form: one recurrent step on a new chunk (B, D), carrying the state
        (``None`` at a stream's start); returns its scores (B, K+1) and the new state."""
        out, state = self.rnn(chunk[:, None], state)
        return self.fc(out[:, 0]), state

    def loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        labels = y[:, : x.shape[1]]
        return _ce(
            _steps_to_supervise(self.step_scores(x, lengths), self.every_step),
            _steps_to_supervise(labels, self.every_step),
        )


class TemporalRecurrentNet(nn.Module):
    """Temporal Recurrent Network. At step t, with STA state (h, c) and the future context
    ``f_{t-1}`` from the previous step's decoder,

        h_t, c_t = LSTM_sta([x_t, f_{t-1}], (h_{t-1}, c_{t-1}))       p_t = W h_t
        decoder: (d_0, e_0) = (A h_t, B c_t), input u_0 = 0; for i = 1..l_d:
            d_i, e_i = LSTM_dec(u_{i-1}, (d_{i-1}, e_{i-1}))       p~_t^i = W d_i
            u_i = ReLU(E p~_t^i)                 (the anticipated scores, next decoder input)
        f_t = mean_i ReLU(F d_i)                 (future context: the decoder's hidden states)

    The classifier W is shared by the present and the anticipated steps. Loss (averaged over the
    window's steps, or with ``every_step=False`` taken at the current step only):
    CE(p_t, y_t) + alpha * mean_i CE(p~_t^i, y_{t+i}), alpha = 1 and means as in TRN.pytorch's
    ``train.py`` (``enc_loss + dec_loss``). The step is TRN.pytorch's (``step``: the decoder
    input is ``fusion_linear(dec_score)``, the future input the mean of
    ``future_linear(dec_hidden)`` over the decoder steps). Two departures: the decoder's initial
    state is a linear map of (h_t, c_t) where TRN.pytorch applies ``fc_relu``, and the targets
    are the next chunks y_{t+1} .. y_{t+l_d}, the ones OadTR anticipates, where TRN.pytorch's
    ``get_dec_target`` gives step t the labels y_t .. y_{t+l_d-1} (its first decoder step
    targets the current chunk).
    """

    def __init__(
        self,
        dim: int,
        classes: int,
        hidden: int = 64,
        future: int = 4,
        alpha: float = 1.0,
        every_step: bool = True,
    ) -> None:
        super().__init__()
        if future < 1:
            raise ValueError(f"TRN needs at least one decoder step, got future={future}")
        self.dim, self.future, self.alpha, self.context = dim, future, alpha, hidden
        self.every_step = every_step
        self.sta = nn.LSTMCell(dim + hidden, hidden)
        self.decoder = nn.LSTMCell(hidden, hidden)
        self.init_h, self.init_c = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.embed = nn.Linear(classes, hidden)  # E: anticipated scores -> next decoder input
        self.future_embed = nn.Linear(hidden, hidden)  # F: decoder state -> future context
        self.fc = nn.Linear(hidden, classes)

    def step(self, chunk: torch.Tensor, state=None):
        """One STA step and its decoder on a new chunk (B, D), from ``state`` = (h, c, f) of the
        previous step (``None`` at a stream's start). Returns the present scores (B, K+1), the
        anticipated scores (B, l_d, K+1) and the new state."""
        if state is None:
            state = (chunk.new_zeros(len(chunk), self.context),) * 3
        h, c, context = state
        h, c = self.sta(torch.cat([chunk, context], 1), (h, c))
        d, e = self.init_h(h), self.init_c(c)
        u, states, future = chunk.new_zeros(len(chunk), self.context), [], []
        for _ in range(self.future):
            d, e = self.decoder(u, (d, e))
            future.append(self.fc(d))
            states.append(F.relu(self.future_embed(d)))
            u = F.relu(self.embed(future[-1]))
        return self.fc(h), torch.stack(future, 1), (h, c, torch.stack(states).mean(0))

    def stream(self, chunk: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """The deployed form: :meth:`step` on a new chunk, returning its scores and the state."""
        present, _, state = self.step(chunk, state)
        return present, state

    def run(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """Present scores (B, T, K+1) and anticipated scores (B, T, l_d, K+1) of every step."""
        _check(x, self.dim, lengths)
        state, present, anticipated = None, [], []
        for s in range(x.shape[1]):
            now, ahead, state = self.step(x[:, s], state)
            present.append(now)
            anticipated.append(ahead)
        return torch.stack(present, 1), torch.stack(anticipated, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.run(x, lengths)[0][:, -1]

    def anticipate(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Scores of the next ``future`` chunks, from the current step (B, l_d, K+1)."""
        return self.run(x, lengths)[1][:, -1]

    def loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        present, anticipated = self.run(x, lengths)
        t = x.shape[1]
        _need_future(y, t, self.future)
        ahead = torch.arange(t, device=y.device)[:, None] + torch.arange(
            1, self.future + 1, device=y.device
        )  # (T, l_d)
        every = self.every_step
        return _ce(
            _steps_to_supervise(present, every), _steps_to_supervise(y[:, :t], every)
        ) + self.alpha * _ce(
            _steps_to_supervise(anticipated, every), _steps_to_supervise(y[:, ahead], every)
        )


def hard_sigmoid(u: torch.Tensor) -> torch.Tensor:
    """Keras' ``hard_sigmoid`` (TensorFlow 1), the IDU's gate activation: clip(0.2 u + 0.5, 0, 1).
    (PyTorch's ``hardsigmoid`` has slope 1/6, not 0.2.)"""
    return (0.2 * u + 0.5).clamp(0.0, 1.0)


class IDUCell(nn.Module):
    """Information Discrimination Unit (Eun et al., CVPR 2020), as the public implementation
    computes it (``hjeun/idu``, ``recurrent.py``, ``IDUCell.type1``). The reset gate compares the
    past state with the current information x_0, the update gate compares the input x_t with x_0:

        r_t = hsig(W_hr h_{t-1} + W_0r x_0)          (reset module: is h_{t-1} relevant?)
        z_t = hsig(W_xz x_t + W_0z x_0)              (update module: is x_t relevant?)
        n_t = tanh(W_xh x_t + W_hh (r_t * h_{t-1}))  (the reset applied before W_hh)
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    with ``hsig`` Keras' hard sigmoid (:func:`hard_sigmoid`) and no biases: ``type1`` uses none
    (the cell creates a bias it never reads). Unlike a GRU's, neither gate sees both x_t and
    h_{t-1}. Only the final mix is written differently: the official code computes
    ``(1 - z_t) * h_tm1 + h_t * z_t``, i.e. h_t = (1 - z_t) h_{t-1} + z_t n_t; here it is in
    PyTorch's GRU convention, as in the rest of chapter 06. The two give the same family of
    functions: replace z_t by 1 - z_t, i.e. negate W_xz and W_0z (1 - hsig(u) = hsig(-u)).
    """

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.from_input = nn.Linear(dim, 2 * hidden, bias=False)  # W_xz, W_xh
        self.from_current = nn.Linear(dim, 2 * hidden, bias=False)  # W_0r, W_0z
        self.reset_from_past = nn.Linear(hidden, hidden, bias=False)  # W_hr
        self.candidate_from_past = nn.Linear(hidden, hidden, bias=False)  # W_hh

    def forward(self, x: torch.Tensor, h: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        xz, xh = self.from_input(x).chunk(2, -1)
        cr, cz = self.from_current(x0).chunk(2, -1)
        r = hard_sigmoid(self.reset_from_past(h) + cr)  # reset module: h_{t-1} against x_0
        z = hard_sigmoid(xz + cz)  # update module: x_t against x_0
        n = torch.tanh(xh + self.candidate_from_past(r * h))  # candidate h~_t, W_hh (r_t * h_{t-1})
        return (1 - z) * n + z * h


class IDN(nn.Module):
    """Information Discrimination Network: the early embedding e = ReLU(W_e x + b_e) of every
    chunk and of the current one (e_0), an IDU over e_{-T+1} .. e_0 that sees e_0 at every step,
    and, as in the official ``model_IDU.py`` (its ``Output`` scope), a two-layer head (a ReLU
    layer as wide as the state, then the classifier) on the last hidden state. Loss (chapter 06,
    eq. ch06-idn-loss; the first term a mean over the batch, the others means over all real
    chunks of the batch at once, not per window first):

        CE(p_0, y_0) + beta * mean_t CE(C e_t, y_t)
            + lambda * mean_t [ 1{y_t = y_0} ||e_t - e_0||^2
                                + 1{y_t != y_0} max(0, m - ||e_t - e_0||)^2 ]

    (classification of the embeddings and a contrastive loss that pulls chunks of the current
    action towards e_0 and pushes the others at least ``margin`` away). beta = 0.3 is the
    official code's ``self.alpha`` (``model_IDU.py``, which ships no training code; OadTR's
    config, which carries the same terms, has ``classification_x_loss_coef 0.3``). lambda and m
    were chosen on validation streams, never the test ones (``benchmarks/ch06_idn_tuning.py``)."""

    def __init__(
        self,
        dim: int,
        classes: int,
        hidden: int = 64,
        embed: int = 64,
        margin: float = 2.0,
        contrastive: float = 0.01,
        embedding_weight: float = 0.3,
    ) -> None:
        super().__init__()
        self.dim, self.margin, self.contrastive = dim, margin, contrastive
        self.embedding_weight = embedding_weight
        self.embed = nn.Sequential(nn.Linear(dim, embed), nn.ReLU())
        self.embed_fc = nn.Linear(embed, classes)
        self.idu = IDUCell(embed, hidden)
        self.fc = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def run(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        _check(x, self.dim, lengths)
        e = self.embed(x)
        e0 = e[:, -1]
        h = x.new_zeros(len(x), self.idu.hidden)
        for s in range(x.shape[1]):
            h = self.idu(e[:, s], h, e0)
        return self.fc(h), e

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.run(x, lengths)[0]

    @torch.no_grad()
    def update_gates(self, x: torch.Tensor) -> torch.Tensor:
        """The IDU's update gate z_t = hsig(W_xz e_t + W_0z e_0) at every step of the window
        (B, T, hidden): 1 - z_t is the share of step t's candidate that enters the state at step
        t, decided against the current chunk's embedding e_0."""
        _check(x, self.dim, None)
        e = self.embed(x)
        xz = self.idu.from_input(e).chunk(2, -1)[0]
        cz = self.idu.from_current(e[:, -1:]).chunk(2, -1)[1]
        return hard_sigmoid(xz + cz)

    def loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        scores, e = self.run(x, lengths)
        t = x.shape[1]
        window, y0 = y[:, :t], y[:, t - 1 : t]
        valid = window != IGNORE
        distance = (e - e[:, -1:]).norm(dim=-1)
        same = (window == y0).float()
        pair = same * distance**2 + (1 - same) * F.relu(self.margin - distance) ** 2
        contrastive = (pair * valid).sum() / valid.sum()
        return (
            _ce(scores, y[:, t - 1])
            + (self.embedding_weight * _ce(self.embed_fc(e), window))
            + (self.contrastive * contrastive)
        )


class OadTR(nn.Module):
    """OadTR. Encoder: tokens W x_{-T+1} .. W x_0 and a learnable task token (appended last, as
    in the official ``ViT.py``), plus learnable position embeddings, through pre-norm Transformer
    encoder layers (GELU); padded positions are masked out of attention. Decoder: ``future``
    learnable queries attend to the encoder output and, causally, to each other (query i to
    queries <= i, the triangular mask of the official code's decoder self-attention) and predict
    the next actions, through a post-norm decoder layer (the official, Informer-style one).
    Current scores come from [task-token output, mean of decoder outputs]. Loss: CE(current) +
    alpha * mean_i CE(future_i), alpha = 0.5 (the official ``classification_pred_loss_coef``; a
    mean over the anticipated steps, as the official criterion also takes).

    Ablations: ``task_token=False`` uses the mean of the encoder outputs over real positions;
    ``decoder=False`` classifies the task token (or that mean) alone."""

    def __init__(
        self,
        dim: int,
        classes: int,
        window: int,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        future: int = 4,
        task_token: bool = True,
        decoder: bool = True,
        alpha: float = 0.5,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim, self.window, self.alpha = dim, window, alpha
        self.future = future if decoder else 0
        self.project = nn.Linear(dim, d_model)
        self.task_token = nn.Parameter(torch.randn(d_model) * 0.02) if task_token else None
        self.position = nn.Parameter(torch.randn(window + 1, d_model) * 0.02)

        self.encoder = nn.TransformerEncoder(  # pre-norm, GELU: the official ViT encoder
            nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout, activation="gelu",
                                       batch_first=True, norm_first=True),
            layers, nn.LayerNorm(d_model), enable_nested_tensor=False,
        )  # fmt: skip
        if decoder:
            self.queries = nn.Parameter(torch.randn(future, d_model) * 0.02)
            causal = torch.full((future, future), float("-inf")).triu(1)
            self.register_buffer("query_order", causal, persistent=False)
            self.decoder = nn.TransformerDecoder(  # post-norm, ReLU, a final LayerNorm: the
                nn.TransformerDecoderLayer(d_model, heads, 4 * d_model, dropout,  # official one
                                           batch_first=True, norm_first=False),
                1, nn.LayerNorm(d_model),
            )  # fmt: skip
            self.future_fc = nn.Linear(d_model, classes)
        else:
            self.decoder = None
        self.fc = nn.Linear(d_model * (2 if decoder else 1), classes)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's input: (B, T + 1, d) with the task token last (or (B, T, d))."""
        tokens = self.project(x)
        if self.task_token is not None:
            tokens = torch.cat([tokens, self.task_token.expand(len(x), 1, -1)], 1)
        return tokens + self.position[: tokens.shape[1]]

    def padding_mask(self, lengths: torch.Tensor, t: int) -> torch.Tensor:
        """True where a key is left padding (never the task token)."""
        mask = torch.arange(t, device=lengths.device)[None] < (t - lengths)[:, None]
        if self.task_token is not None:
            mask = torch.cat([mask, mask.new_zeros(len(mask), 1)], 1)
        return mask

    def run(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        lengths = _check(x, self.dim, lengths)
        if x.shape[1] != self.window:
            raise ValueError(f"OadTR was built for windows of {self.window}, got {x.shape[1]}")
        mask = self.padding_mask(lengths, x.shape[1])
        memory = self.encoder(self.tokens(x), src_key_padding_mask=mask)
        if self.task_token is not None:
            summary = memory[:, -1]
        else:
            keep = (~mask).float().unsqueeze(-1)
            summary = (memory * keep).sum(1) / keep.sum(1)
        if self.decoder is None:
            return self.fc(summary), None
        queries = self.queries.expand(len(x), -1, -1)
        out = self.decoder(
            queries,
            memory,
            tgt_mask=self.query_order,  # query i attends to queries <= i (OadTR's decoder)
            tgt_is_causal=True,
            memory_key_padding_mask=mask,
        )
        return self.fc(torch.cat([summary, out.mean(1)], 1)), self.future_fc(out)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.run(x, lengths)[0]

    def anticipate(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.decoder is None:
            raise ValueError("this OadTR has no decoder, so it does not anticipate")
        return self.run(x, lengths)[1]

    def loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        current, future = self.run(x, lengths)
        t = x.shape[1]
        loss = _ce(current, y[:, t - 1])
        if future is not None:
            _need_future(y, t, self.future)
            loss = loss + self.alpha * _ce(future, y[:, t : t + self.future])
        return loss
