"""The official `CompressionConvEncoderDecoder` in PyTorch (inference path).

Layout: everything here is channels-first. Official (channels-last) arrays convert as
video (B, T, H, W, C) -> (B, C, T, H, W), codes (B, T', H', W', G) -> (B, G, T', H', W')
and latents (B, T', H', W', D) -> (B, D, T', H', W'), each by `permute(0, 4, 1, 2, 3)`;
`permute(0, 2, 3, 4, 1)` goes back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import CodecKwargs
from .layers import HaikuConv3d, HaikuConvTranspose3d, activation


class ResBlock(nn.Module):
    """x + conv1x1(relu(conv_k(relu(x)))): the official encoder_res / decoder_res pair."""

    def __init__(self, channels: int, hidden: int, kernel: tuple[int, int, int], padding: str):
        super().__init__()
        self.conv1 = HaikuConv3d(channels, hidden, kernel, padding=padding)
        self.conv2 = HaikuConv3d(hidden, channels, (1, 1, 1), padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class Encoder(nn.Module):
    """Strided convs (ReLU between, none after the last), optional 2x time conv, res blocks."""

    def __init__(self, cfg: CodecKwargs) -> None:
        super().__init__()
        chans = [cfg.num_channels, *cfg.conv_channels]
        self.convs = nn.ModuleList(
            HaikuConv3d(cin, cout, cfg.kernel_shape, cfg.stride, cfg.padding)
            for cin, cout in zip(chans[:-1], chans[1:], strict=True)
        )
        c = cfg.bot_channels
        # Official quirk: the time conv reuses the last strided conv's kernel (1, 4, 4) with
        # stride (2, 1, 1), so with VALID padding it also shrinks H and W by one. Like the
        # last strided conv, it has no activation.
        self.temporal = (
            HaikuConv3d(c, c, cfg.kernel_shape, (2, 1, 1), cfg.padding)
            if cfg.use_time_compression_2x
            else None
        )
        self.res = nn.ModuleList(
            ResBlock(c, cfg.res_channels, cfg.extra_encode_conv_kernel, cfg.padding)
            for _ in range(cfg.extra_encode_conv_layers)
        )
        self.use_tanh = cfg.use_tanh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        if self.temporal is not None:
            x = self.temporal(x)
        for block in self.res:
            x = block(x)
        return torch.tanh(x) if self.use_tanh else x


class Decoder(nn.Module):
    """Res blocks, optional 2x time transposed conv, strided transposed convs (ReLU between)."""

    def __init__(self, cfg: CodecKwargs) -> None:
        super().__init__()
        c = cfg.bot_channels
        self.res = nn.ModuleList(
            ResBlock(c, cfg.res_channels, cfg.extra_decode_conv_kernel, cfg.padding)
            for _ in range(cfg.extra_decode_conv_layers)
        )
        self.temporal = (
            HaikuConvTranspose3d(c, c, cfg.kernel_shape, (2, 1, 1))
            if cfg.use_time_compression_2x
            else None
        )
        outs = [*reversed(cfg.conv_channels[:-1]), cfg.num_channels]
        ins = [c, *outs[:-1]]
        self.ups = nn.ModuleList(
            HaikuConvTranspose3d(cin, cout, cfg.kernel_shape, cfg.stride)
            for cin, cout in zip(ins, outs, strict=True)
        )
        self.final = activation(cfg.last_linearity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res:
            x = block(x)
        if self.temporal is not None:
            x = self.temporal(x)
        for i, up in enumerate(self.ups):
            x = up(x)
            if i < len(self.ups) - 1:
                x = F.relu(x)
        return self.final(x)


class MultiCodebookQuantizer(nn.Module):
    """G VectorQuantizerEMA codebooks at inference: nearest-entry lookup, no updates.

    `codebooks` is (G, K, d): entry k of codebook g is `codebooks[g, k]` (Haiku keeps each
    as `embeddings` of shape (d, K) in `state`). Official quirk: encoding splits the
    encoder's D = G*d channels *interleaved* (codebook g sees channels g, g+G, g+2G, ...),
    but the quantised latents are concatenated in *blocks* (channels [g*d, (g+1)*d) hold
    codebook g's entry), and the decoder was trained on that block order.
    """

    def __init__(self, num_codebooks: int, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.register_buffer("codebooks", torch.zeros(num_codebooks, codebook_size, codebook_dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D, T, H, W) float -> (B, G, T, H, W) int64 indices of the nearest entries."""
        g_count = self.codebooks.shape[0]
        b, _, t, h, w = x.shape
        codes = []
        for g in range(g_count):
            flat = x[:, g::g_count].permute(0, 2, 3, 4, 1).reshape(-1, self.codebooks.shape[2])
            emb = self.codebooks[g]
            # The same expansion as Haiku: |x|^2 - 2 x.e + |e|^2.
            dist = flat.square().sum(1, keepdim=True) - 2 * flat @ emb.T + emb.square().sum(1)[None]
            codes.append(dist.argmin(1).view(b, t, h, w))
        return torch.stack(codes, 1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, G, T, H, W) indices -> (B, G*d, T, H, W) latents, codebook g in block g."""
        parts = [F.embedding(codes[:, g], self.codebooks[g]) for g in range(codes.shape[1])]
        return torch.cat(parts, -1).permute(0, 4, 1, 2, 3)


class OfficialCodec(nn.Module):
    """Encoder + multi-codebook quantiser + decoder, configured by `CodecKwargs`."""

    def __init__(self, cfg: CodecKwargs) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = MultiCodebookQuantizer(
            cfg.num_codebooks, cfg.vq_num_embeddings, cfg.codebook_dim
        )
        self.decoder = Decoder(cfg)
