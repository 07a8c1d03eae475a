"""ViLT: a Vision Transformer with tag tokens appended after the image tokens.

The sequence is ``[image CLS, patches..., tag tokens...]`` ([N, 1 + P + T, D]); image tokens
get token type 0 and tag tokens type 1 plus their own position embeddings. Padding tag slots
are masked out of attention (the original Animesion model attended to them). The character
heads read the final-norm image CLS token (or IFA over every block's CLS); the MLM head
predicts each tag slot over the tag vocabulary with a decoder tied to the tag embeddings.

Built on :class:`models.architectures.vit.VisionTransformer`: its backbone's patch/position
embeddings, blocks and final norm are reused as they are, so the state-dict layout of the
image part is the ViT's.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from models.architectures.vit import VIT_SIZES, VisionTransformer
from models.base import AnimesionModel
from models.config import ModelConfig
from models.registry import register_model
from models.tag_tokenizer import MASK_ID, PAD_ID

DEFAULT_VOCAB_SIZE = 1024
DEFAULT_MAX_TEXT_SEQ_LEN = 16
VILT_NAMES = tuple(name.replace("vit_", "vilt_", 1) for name in VIT_SIZES)


class MLMHead(nn.Module):
    """Linear-GELU-LayerNorm transform, then a decoder whose weight is the tag embeddings.

    The decoder weight is passed in at call time rather than held, so it is tied (one tensor,
    one state-dict key) and safetensors never sees a shared tensor.
    """

    def __init__(self, dim: int, vocab_size: int, eps: float) -> None:
        super().__init__()
        self.transform = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim, eps=eps))
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, x: Tensor, decoder_weight: Tensor) -> Tensor:
        # [N, T, D] x [V, D] -> [N, T, V]
        return self.transform(x) @ decoder_weight.t() + self.bias


class ViLT(VisionTransformer):
    family = "vit"

    def __init__(self, config: ModelConfig) -> None:
        config = replace(
            config,
            vocab_size=config.vocab_size or DEFAULT_VOCAB_SIZE,
            max_text_seq_len=config.max_text_seq_len or DEFAULT_MAX_TEXT_SEQ_LEN,
        )
        super().__init__(config)
        cfg = self.config
        assert cfg.hidden_size and cfg.layer_norm_eps and cfg.vocab_size and cfg.max_text_seq_len
        if not hasattr(self.backbone, "layers"):
            # transformers 4.x blocks take no attention mask; padding would be attended to
            raise ValueError(f"{cfg.name}: needs transformers >= 5 (blocks with attention masks)")
        d = cfg.hidden_size
        self.tag_embeddings = nn.Embedding(cfg.vocab_size, d, padding_idx=PAD_ID)
        self.tag_positions = nn.Parameter(torch.zeros(1, cfg.max_text_seq_len, d))
        self.token_types = nn.Embedding(2, d)
        self.mlm = MLMHead(d, cfg.vocab_size, cfg.layer_norm_eps)
        # The original's class head is LayerNorm + Linear on the encoder's (normed) CLS token.
        self.head_norm = None if self.ifa is not None else nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        nn.init.normal_(self.tag_embeddings.weight, std=0.02)
        nn.init.normal_(self.tag_positions, std=0.02)
        nn.init.normal_(self.token_types.weight, std=0.02)
        with torch.no_grad():
            self.tag_embeddings.weight[PAD_ID].zero_()

    def masked_tags(self, n: int, device: torch.device | None = None) -> Tensor:
        """Image-only input: every tag slot is [MASK] ([N, T])."""
        assert self.config.max_text_seq_len
        size = (n, self.config.max_text_seq_len)
        return torch.full(size, MASK_ID, dtype=torch.long, device=device)

    def encode(self, x: Tensor, tags: Tensor) -> list[Tensor]:
        """Hidden states after the embeddings and after each block: (1 + L) x [N, S, D]."""
        n, t = tags.shape
        if t != self.config.max_text_seq_len:
            raise ValueError(f"tags: expected {self.config.max_text_seq_len} slots, got {t}")
        image = self.backbone.embeddings(x)  # [N, 1 + P, D]
        image = image + self.token_types.weight[0]
        text = self.tag_embeddings(tags) + self.tag_positions + self.token_types.weight[1]
        h = torch.cat([image, text], dim=1)  # [N, S = 1 + P + T, D]
        keep = torch.cat(
            [torch.ones(n, image.shape[1], dtype=torch.bool, device=tags.device), tags != PAD_ID],
            dim=1,
        )  # [N, S]
        # additive key mask [N, 1, 1, S]: padded tag slots get no attention from any query
        mask = torch.zeros(keep.shape, dtype=h.dtype, device=h.device)
        mask = mask.masked_fill(~keep, torch.finfo(h.dtype).min)[:, None, None, :]
        states = [h]
        for layer in self.backbone.layers:
            h = layer(h, mask)
            states.append(h)
        return states

    def forward_multimodal(self, x: Tensor, tags: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Head logits {name: [N, C]} and tag logits [N, T, V] for images and tag ids."""
        _, heads, tag_logits = self.forward_multimodal_features(x, tags)
        return heads, tag_logits

    def forward_multimodal_features(
        self, x: Tensor, tags: Tensor
    ) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """:meth:`forward_multimodal` plus the pooled features [N, D] the heads read (the
        embedding the app stores; with every slot masked it is :meth:`forward_features`)."""
        states = self.encode(x, tags)
        last = self.backbone.layernorm(states[-1])  # [N, S, D]
        features = self._pool(states, last)
        t = tags.shape[1]
        tag_logits = self.mlm(last[:, -t:], self.tag_embeddings.weight)
        return features, self.forward_head(features), tag_logits

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        states = self.encode(x, self.masked_tags(x.shape[0], x.device))
        return [s[:, 0] for s in states[1:]]

    def forward_features(self, x: Tensor) -> Tensor:
        # Image-only: the model sees every tag slot masked, as in image-only inference.
        states = self.encode(x, self.masked_tags(x.shape[0], x.device))
        return self._pool(states, None)

    def _pool(self, states: list[Tensor], last: Tensor | None) -> Tensor:
        """[N, D] for the heads: IFA over each block's CLS, or the final-norm CLS re-normed."""
        if self.ifa is not None:
            return self.ifa(torch.stack([s[:, 0] for s in states[1:]], dim=1))  # [N, L, D]
        assert self.head_norm is not None
        cls = last[:, 0] if last is not None else self.backbone.layernorm(states[-1][:, 0])
        return self.head_norm(cls)


def _build(config: ModelConfig) -> AnimesionModel:
    return ViLT(config)


for _name in VILT_NAMES:
    register_model(_name)(_build)
