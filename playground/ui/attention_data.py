"""What the attention viewer draws, computed from a map with numpy (no widgets): the colour
values on a log, linear or per-row scale, every head as a mosaic of thumbnails, and the axes'
tick levels (token labels coarse to fine, layer and head numbers)."""

from __future__ import annotations

import numpy as np

LOG_FLOOR = 1e-4  # the log scale's lowest colour: weights below it look the same
THUMB = 48  # data pixels per thumbnail (the map is downsampled to about this)


def tick_levels(labels: list[str], offset: float = 0.5) -> list[list[tuple[float, str]]]:
    """Token labels as tick levels, coarse to fine (every 64th, 16th, 4th, then all): the axis
    keeps a finer label only where it overlaps none already placed, so zooming in names more."""
    levels, seen = [], set()
    for step in (64, 16, 4, 1):
        level = [(i + offset, lab) for i, lab in enumerate(labels) if i % step == 0 and i not in seen]
        seen.update(range(0, len(labels), step))
        if level:
            levels.append(level)
    return levels


def scaled(m: np.ndarray, kind: str) -> tuple[np.ndarray, tuple[float, float]]:
    """The values to colour and their (low, high) levels; NaN (the masked future) stays NaN."""
    if kind == "log":
        return np.log10(np.maximum(m, LOG_FLOOR)), (np.log10(LOG_FLOOR), 0.0)
    if kind == "per row":
        top = np.nanmax(np.where(np.isnan(m), -np.inf, m), axis=-1, keepdims=True)
        return m / np.maximum(top, 1e-12), (0.0, 1.0)
    finite = m[np.isfinite(m)]
    hi = float(finite.max()) if finite.size else 1.0
    return m, (0.0, hi if hi > 0 else 1.0)


def grid_mosaic(weights: np.ndarray, layers: range, thumb: int = THUMB) -> tuple[np.ndarray, int]:
    """Every head of the given layers as thumbnails: heads down, layers across (depth reads left
    to right, as in the architecture view). Returns (mosaic, cell size in data pixels); the
    one-pixel gutters and the masked future are NaN."""
    L, H, T, _ = weights.shape
    step = max(1, T // thumb)
    thumbs = weights[layers.start:layers.stop, :, ::step, ::step].astype(np.float32)  # (l, H, t, t)
    n, t = thumbs.shape[0], thumbs.shape[-1]
    future = np.triu(np.ones((t, t), dtype=bool), 1)
    thumbs[..., future] = np.nan
    cell = t + 1
    padded = np.full((n, H, cell, cell), np.nan, dtype=np.float32)
    padded[:, :, :t, :t] = thumbs
    mosaic = padded.transpose(1, 2, 0, 3).reshape(H * cell, n * cell)  # (H·cell, l·cell)
    return mosaic, cell


def number_levels(numbers: list[int], cell: int) -> list[list[tuple[float, str]]]:
    """Ticks at the middle of each grid cell, coarse (every 5th) then all, for a TidyAxis."""
    coarse = [((i + 0.5) * cell, str(n)) for i, n in enumerate(numbers) if n % 5 == 0]
    fine = [((i + 0.5) * cell, str(n)) for i, n in enumerate(numbers) if n % 5]
    return [coarse, fine] if fine else [coarse]

