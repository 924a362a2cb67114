"""Multi-scale structural similarity (MS-SSIM), differentiable and batched, in PyTorch.

Wang, Simoncelli and Bovik (2003): at each scale the image pair is filtered with an 11-tap
Gaussian window (sigma 1.5, no padding); the contrast-structure term `cs` is taken at every
scale and the luminance term only at the coarsest, then the per-scale terms are combined as a
weighted geometric mean with the standard weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333).
Between scales both images are 2x2 average-pooled.

Small frames: five scales need a side of at least 11 * 2**4 = 176 pixels. For smaller frames
we use as many scales as fit (scale j needs a side of at least 11 after j halvings: 4 scales
at 128x128, 3 at 64x64, 1 below 22) and renormalise the first weights to sum to 1, so the
value stays a weighted geometric mean in [0, 1]. Frames smaller than the window raise
`ShapeError`. Each channel is scored separately and the channels are averaged at the end.

Inputs are (N, C, H, W) images or (B, C, T, H, W) videos (every frame scored as an image).
Negative `cs` values (anti-correlated patches) are clamped to a small positive floor before
the fractional powers, which keeps gradients finite.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ShapeError

WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2 = 0.01, 0.03
_FLOOR = 1e-6  # clamp for cs / ssim before the fractional powers


def gaussian_window(
    size: int = 11, sigma: float = 1.5, device: torch.device | None = None
) -> torch.Tensor:
    """A normalised 1D Gaussian of `size` taps, float32."""
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def num_scales(height: int, width: int, window_size: int = 11, max_scales: int = 5) -> int:
    """How many scales fit: scale j (0-based) has side min(H, W) // 2**j >= window_size."""
    side, scales = min(height, width), 0
    while scales < max_scales and side >= window_size:
        scales += 1
        side //= 2
    return scales


def _filter(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filtering of every channel of (N, C, H, W)."""
    c, k = x.shape[1], window.numel()
    x = F.conv2d(x, window.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)
    return F.conv2d(x, window.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)


def _ssim_cs(
    x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, data_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure per (N, C), over the valid filtered area."""
    c = x.shape[1]
    stats = _filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), window)
    mx, my, exx, eyy, exy = stats.split(c, dim=1)
    vx, vy, cov = exx - mx * mx, eyy - my * my, exy - mx * my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cs_map = (2 * cov + c2) / (vx + vy + c2)
    lum_map = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (lum_map * cs_map).mean(dim=(-2, -1)), cs_map.mean(dim=(-2, -1))


def ms_ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    weights: tuple[float, ...] = WEIGHTS,
    reduction: str = "mean",
) -> torch.Tensor:
    """MS-SSIM of `x` against `y` (same shape; (N, C, H, W) or (B, C, T, H, W)).

    `reduction="mean"` gives a scalar; `"none"` gives one value per image, shape (N,), or per
    frame, shape (B, T). Differentiable in both inputs; computed in float32 at least.
    """
    if x.shape != y.shape:
        raise ShapeError(f"ms_ssim needs equal shapes, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() not in (4, 5):
        raise ShapeError(f"ms_ssim takes (N, C, H, W) or (B, C, T, H, W), got {tuple(x.shape)}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    video = x.dim() == 5
    if video:
        b, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(b * t, c, h, w)
        y = y.transpose(1, 2).reshape(b * t, c, h, w)
    scales = num_scales(x.shape[-2], x.shape[-1], window_size, len(weights))
    if scales == 0:
        raise ShapeError(
            f"frames of {x.shape[-2]}x{x.shape[-1]} are smaller than the "
            f"{window_size}x{window_size} MS-SSIM window"
        )
    dtype = torch.promote_types(x.dtype, torch.float32)
    x, y = x.to(dtype), y.to(dtype)
    window = gaussian_window(window_size, sigma, x.device).to(dtype)
    w = torch.tensor(weights[:scales], dtype=dtype, device=x.device)
    w = w / w.sum()
    terms = []
    for j in range(scales):
        ssim, cs = _ssim_cs(x, y, window, data_range)
        terms.append(cs if j < scales - 1 else ssim)
        if j < scales - 1:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stacked = torch.stack(terms, dim=-1).clamp_min(_FLOOR)  # (N, C, scales)
    value = torch.prod(stacked**w, dim=-1).mean(dim=1)  # (N,)
    if reduction == "mean":
        return value.mean()
    return value.view(b, t) if video else value


def ms_ssim_loss(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """1 - MS-SSIM, averaged: a training loss (0 for identical inputs)."""
    return 1 - ms_ssim(x, y, data_range=data_range)
