"""A tiny decoder-only transformer (GPT, Radford et al. 2018/2019, as in nanoGPT) with a key-value
cache for sampling, and the sequence log-probabilities the RL losses need (chapter 11).

Pre-LayerNorm blocks: x + Attn(LN(x)), then x + MLP(LN(x)); learned position embeddings; causal
multi-head self-attention. With a cache, each new token attends to the stored keys and values of
all earlier positions instead of recomputing them, so a sampling step costs O(T) instead of
O(T^2) and the model runs once per new token on a (B, 1) input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from f2p.llm.tasks import EOS, PAD, VOCAB

Cache = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class GPTConfig:
    """Sizes of :class:`GPT`."""

    vocab: int = len(VOCAB)
    context: int = 96
    """the longest prompt + response, in tokens"""
    layers: int = 4
    heads: int = 4
    width: int = 128

    def __post_init__(self) -> None:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        if min(self.vocab, self.context, self.layers, self.heads) < 1:
            raise ValueError("vocab, context, layers and heads must be >= 1")


class Attention(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.qkv = nn.Linear(c.width, 3 * c.width)
        self.out = nn.Linear(c.width, c.width)

    def forward(self, x: torch.Tensor, cache: tuple | None) -> tuple[torch.Tensor, tuple]:
        b, t, w = x.shape
        q, k, v = (
            z.view(b, t, self.heads, w // self.heads).transpose(1, 2)
            for z in self.qkv(x).split(w, dim=-1)
        )
        if cache is not None:  # earlier positions' keys and values
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        # a single new query may attend to everything cached; a block of queries is causal
        y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1 and cache is None)
        return self.out(y.transpose(1, 2).reshape(b, t, w)), (k, v)


class Block(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.width), nn.LayerNorm(c.width)
        self.attn = Attention(c)
        self.mlp = nn.Sequential(
            nn.Linear(c.width, 4 * c.width), nn.GELU(), nn.Linear(4 * c.width, c.width)
        )

    def forward(self, x: torch.Tensor, cache: tuple | None) -> tuple[torch.Tensor, tuple]:
        a, cache = self.attn(self.ln1(x), cache)
        x = x + a
        return x + self.mlp(self.ln2(x)), cache


class GPT(nn.Module):
    """logits over the next token at every position; ``cache`` for incremental decoding."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab, config.width)
        self.pos = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab, bias=False)
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(
        self, idx: torch.Tensor, cache: Cache | None = None, start: int = 0
    ) -> tuple[torch.Tensor, Cache]:
        """Logits (B, T, vocab) for tokens ``idx`` (B, T) at positions start..start+T-1, and the
        updated cache (pass ``cache`` from the previous call and ``start`` = tokens so far)."""
        if idx.dim() != 2:
            raise ValueError(f"expected token ids of shape (batch, time), got {tuple(idx.shape)}")
        if start + idx.shape[1] > self.config.context:
            raise ValueError(
                f"{start + idx.shape[1]} tokens exceed the context of {self.config.context}"
            )
        positions = torch.arange(start, start + idx.shape[1], device=idx.device)
        x = self.tok(idx) + self.pos(positions)
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block(x, None if cache is None else cache[i])
            new_cache.append(layer_cache)
        return self.head(self.ln(x)), new_cache


def sampler_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The logits :func:`generate` samples from: PAD excluded (padding is never a valid output),
    divided by ``temperature`` (0 = greedy: left unscaled). pi(y_t | ...) = softmax of these."""
    logits = logits.index_fill(-1, torch.tensor([PAD], device=logits.device), -torch.inf)
    return logits / temperature if temperature > 0 else logits


@torch.no_grad()
def generate(
    model: GPT,
    prompts: torch.Tensor,
    max_new: int,
    temperature: float = 1.0,
    gen: torch.Generator | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Sample up to ``max_new`` tokens after each prompt (B, P) (all prompts the same length);
    returns (B, max_new) ids with PAD after each sequence's end token. ``temperature`` 0 is
    greedy decoding. With ``use_cache=False`` the whole sequence is re-run at every step (same
    tokens for the same generator; only slower). Tokens are drawn on the prompts' device, so
    ``gen`` must be on it too (:func:`f2p.utils.generator_on`)."""
    if temperature < 0 or max_new < 1:
        raise ValueError(f"need temperature >= 0 and max_new >= 1, got {temperature}, {max_new}")
    if gen is not None and gen.device.type != prompts.device.type:
        raise ValueError(
            f"the generator is on {gen.device} but sampling runs on {prompts.device}: "
            "use f2p.utils.generator_on(device, gen)"
        )
    seq, done = prompts, torch.zeros(len(prompts), dtype=torch.bool, device=prompts.device)
    logits, cache = model(prompts)
    out = []
    for step in range(max_new):
        last = sampler_logits(logits[:, -1].float(), temperature)
        if temperature == 0:
            token = last.argmax(-1)
        else:
            probs = torch.softmax(last, -1)  # sampled where the model runs: no copy per token
            token = torch.multinomial(probs, 1, generator=gen).squeeze(-1)
        token = torch.where(done, torch.full_like(token, PAD), token)
        out.append(token)
        done |= token == EOS
        if done.all() or step == max_new - 1:
            break
        seq = torch.cat([seq, token[:, None]], dim=1)
        if use_cache:
            logits, cache = model(token[:, None], cache, start=seq.shape[1] - 1)
        else:
            logits, _ = model(seq)
    tokens = torch.stack(out, dim=1)
    return F.pad(tokens, (0, max_new - tokens.shape[1]), value=PAD)


def response_logprobs(
    model: GPT, prompts: torch.Tensor, responses: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Per-token log pi(y_t | x, y_<t) of ``responses`` (B, R) after ``prompts`` (B, P), with 0 at
    padding; sum over dim 1 for the sequence log-probability log pi(z, y | x). pi is the
    distribution :func:`generate` samples from at ``temperature`` (> 0), PAD excluded."""
    if temperature <= 0:
        raise ValueError(f"log-probabilities need a temperature > 0, got {temperature}")
    seq = torch.cat([prompts, responses], dim=1)
    logits, _ = model(seq[:, :-1])
    logits = sampler_logits(logits[:, prompts.shape[1] - 1 :], temperature)
    logp = torch.log_softmax(logits, -1).gather(-1, responses[..., None]).squeeze(-1)
    return torch.where(responses != PAD, logp, torch.zeros_like(logp))


def response_lengths(responses: torch.Tensor) -> torch.Tensor:
    """Tokens in each response, end token included."""
    return (responses != PAD).sum(dim=1)
