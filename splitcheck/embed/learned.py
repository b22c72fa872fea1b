"""An image embedder learned on the data itself: a small CNN trained on the training split (CPU, minutes).

For users without pretrained weights. :class:`LearnedCNNEmbedder` (``learned``) trains a 6-layer
convolutional network (32-64-128 channels, batch norm, global average pooling, 128-d features) on the
reference split's images at ``input_size`` pixels, with two objectives:

- instance discrimination (SimCLR's NT-Xent loss): two near-duplicate augmentations of each image
  (random resized crop keeping 25-100 % of the area, mirror, up to 12 degrees of rotation, brightness,
  contrast and saturation jitter) must be each other's nearest neighbour in the batch — the network
  learns exactly the invariances a near-copy has;
- when the split has labels, cross-entropy on the labels as well (class-aware features, as in the CNN
  features with which published CIFAR duplicate lists were found).

Its penultimate (pooled) features, summed over the image and its mirror (so a mirrored copy embeds
identically) and centred and whitened on the reference split, are the embedding.
Training uses at most ``max_train_items`` images and stops after ``epochs`` or ``max_seconds``.
torch is imported only when this embedder is used (``pip install 'splitcheck[torch]'``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from splitcheck.embed.base import fingerprint
from splitcheck.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from splitcheck.context import ScanContext
    from splitcheck.splits import Split


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingExtraError("the learned image embedder needs torch: pip install 'splitcheck[torch]'") from None
    return torch


class LearnedCNNEmbedder:
    """A small CNN trained on the reference split (contrastive + labels when present); see module doc."""

    name = "learned"
    modality = "image"
    version = 2

    def __init__(self, *, input_size: int = 32, epochs: int = 30, max_seconds: float = 300.0,
                 max_train_items: int = 20_000, batch_size: int = 256, width: int = 32, dim: int = 128,
                 temperature: float = 0.2, label_weight: float = 0.5, whiten: int = 128, seed: int = 0,
                 threads: int | None = None) -> None:
        self.input_size = input_size
        self.epochs = epochs
        self.max_seconds = max_seconds
        self.max_train_items = max_train_items
        self.batch_size = batch_size
        self.width = width
        self.dim = dim
        self.temperature = temperature
        self.label_weight = label_weight
        self.whiten = whiten
        self.seed = seed
        self.threads = threads
        self.net: Any = None
        self.history: list[float] = []
        self.seconds = 0.0
        self._fit_print = "unfit"
        #: set by fit_context: a digest of the training items' content and labels (keys the cache), and the
        #: training deferred to the first embed (a rescan whose vectors are all cached never trains)
        self._data_print: str | None = None
        self._pending: tuple[Any, ...] | None = None
        self.complete = False  # training ran every epoch (not stopped by max_seconds): deterministic

    @property
    def identity(self) -> str:
        return (f"{self.name}-v{self.version}|s={self.input_size}|w={self.width}|d={self.dim}|e={self.epochs}"
                f"|seed={self.seed}|fit={self._fit_print}")

    @property
    def cache_identity(self) -> str | None:
        """Cached when fitted through a scan (keyed by the training data's content digests and labels) and
        training is deterministic: seeded, on a fixed thread count, and run to its last epoch (a run stopped by
        ``max_seconds`` depends on the machine's speed, so its vectors are not stored)."""
        if self._data_print is None or (self.net is not None and not self.complete):
            return None
        torch = _torch()
        return (f"{self.identity}|t={self.temperature}|lw={self.label_weight}|n={self.max_train_items}"
                f"|torch={torch.__version__}|threads={self.threads or torch.get_num_threads()}")

    # --- fitting -----------------------------------------------------------------------------------
    def fit_context(self, context: ScanContext, splits: list[Split]) -> None:
        from splitcheck.embed.pixels import DEFAULT_MAX_PIXELS

        reference = splits[0]
        if reference.paths is None:
            raise InputError(f"split {reference.name!r} holds {reference.modality} items, not images")
        rng = np.random.default_rng(self.seed)
        chosen = np.arange(len(reference))
        if len(chosen) > self.max_train_items:
            chosen = np.sort(rng.choice(len(chosen), self.max_train_items, replace=False))
        paths = [reference.paths[i] for i in chosen]
        labels = reference.items["label"].to_numpy()[chosen] if reference.has_labels else None
        signatures = context.image_signatures(reference)  # content digests (cached: no decode on a rescan)
        self._data_print = fingerprint(signatures.digest[chosen], signatures.valid[chosen],
                                       None if labels is None else tuple(map(str, labels)))
        self._fit_print = f"data:{self._data_print}"
        self._pending = (paths, labels, context.jobs, context.max_image_pixels or DEFAULT_MAX_PIXELS)

    def _train_pending(self) -> None:
        """Decode the training images and train (deferred from fit_context; the identity does not change)."""
        from splitcheck.embed.pixels import load_pixels

        assert self._pending is not None
        paths, labels, jobs, max_pixels = self._pending
        self._pending = None
        pixels, valid = load_pixels(paths, self.input_size, jobs=jobs, max_pixels=max_pixels)
        fit_print = self._fit_print
        self.fit_arrays(pixels[valid], labels[valid] if labels is not None else None)
        self._fit_print = fit_print

    def fit(self, splits: list[Split]) -> None:
        from splitcheck.embed.pixels import load_pixels

        reference = splits[0]
        if reference.paths is None:
            raise InputError(f"split {reference.name!r} holds {reference.modality} items, not images")
        pixels, valid = load_pixels(reference.paths[: self.max_train_items], self.input_size)
        labels = reference.items["label"].to_numpy()[: self.max_train_items]
        self.fit_arrays(pixels[valid], labels[valid] if reference.has_labels else None)

    def fit_arrays(self, pixels: np.ndarray, labels: np.ndarray | None = None) -> LearnedCNNEmbedder:
        """Train on uint8 images ``(n, s, s, 3)`` (``s = input_size``) and optional labels."""
        torch = _torch()
        if len(pixels) < 2:
            raise InputError("the learned embedder needs at least 2 readable training images")
        started = time.perf_counter()
        previous_threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        classes: np.ndarray | None = None
        targets = None
        if labels is not None:
            keep = ~pd.isna(np.asarray(labels, dtype=object))
            classes, codes = np.unique(np.asarray(labels[keep]).astype(str), return_inverse=True)
            full = np.full(len(labels), -1, dtype=np.int64)
            full[np.flatnonzero(keep)] = codes
            targets = torch.from_numpy(full)
            if len(classes) < 2:
                classes, targets = None, None
        self.net = _build(torch, self.width, self.dim, 0 if classes is None else len(classes))
        x_all = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).contiguous()
        opt = torch.optim.AdamW(self.net.parameters(), lr=2e-3, weight_decay=5e-4)
        n = len(x_all)
        batch = min(self.batch_size, n)
        steps_per_epoch = max(1, n // batch)
        total = steps_per_epoch * self.epochs
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=total, pct_start=0.15)
        self.history = []
        step = 0
        self.net.train()
        try:
            for _epoch in range(self.epochs):
                order = torch.from_numpy(rng.permutation(n))
                losses = []
                for s in range(steps_per_epoch):
                    idx = order[s * batch:(s + 1) * batch]
                    if len(idx) < 2:
                        continue
                    x = _to_float(x_all[idx])
                    v1, v2 = _augment(torch, x, rng), _augment(torch, x, rng)
                    f, logits = self.net(torch.cat([v1, v2]))
                    loss = _nt_xent(torch, self.net.project(f), self.temperature)
                    if logits is not None and targets is not None:
                        y = targets[idx].repeat(2)
                        known = y >= 0
                        if known.any():
                            loss = loss + self.label_weight * torch.nn.functional.cross_entropy(logits[known], y[known])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if step < total - 1:
                        sched.step()
                    step += 1
                    losses.append(float(loss.detach()))
                self.history.append(float(np.mean(losses)) if losses else float("nan"))
                if time.perf_counter() - started > self.max_seconds:
                    break
        finally:
            self.net.eval()
            torch.set_num_threads(previous_threads)
        self.seconds = time.perf_counter() - started
        self.complete = len(self.history) == self.epochs
        self._fit_print = fingerprint(len(pixels), pixels[:: max(1, len(pixels) // 256)],
                                      None if classes is None else tuple(classes), len(self.history))
        return self

    # --- embedding ---------------------------------------------------------------------------------
    def embed(self, batch: np.ndarray) -> np.ndarray:
        torch = _torch()
        if self.net is None and self._pending is not None:
            self._train_pending()
        if self.net is None:
            raise RuntimeError("LearnedCNNEmbedder.embed before fit")
        out = []
        with torch.inference_mode():
            for s in range(0, len(batch), 512):
                x = _to_float(torch.from_numpy(np.ascontiguousarray(batch[s:s + 512])).permute(0, 3, 1, 2))
                f, _ = self.net(x)
                g, _ = self.net(torch.flip(x, dims=[3]))
                out.append((f + g).numpy())  # mirror-invariant by construction
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)


def _to_float(x: Any) -> Any:
    """uint8 NCHW -> float, per-channel roughly centred."""
    return x.float().div(255.0).sub(0.5).div(0.25)


def _build(torch: Any, width: int, dim: int, n_classes: int) -> Any:
    nn = torch.nn

    def block(cin: int, cout: int) -> list[Any]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = width
            self.features = nn.Sequential(
                *block(3, w), *block(w, w), nn.MaxPool2d(2),
                *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
                *block(2 * w, 4 * w), *block(4 * w, dim), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.projector = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, 64))
            self.classifier = nn.Linear(dim, n_classes) if n_classes else None

        def forward(self, x: Any) -> tuple[Any, Any]:
            f = self.features(x)
            return f, (self.classifier(f) if self.classifier is not None else None)

        def project(self, f: Any) -> Any:
            return self.projector(f)

    return Net()


def _augment(torch: Any, x: Any, rng: np.random.Generator) -> Any:
    """Near-duplicate views: random resized crop (25-100 % area), mirror, small rotation, colour jitter."""
    n = x.shape[0]
    area = rng.uniform(0.25, 1.0, n)
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3), n))
    sx = np.sqrt(area * aspect).clip(0.2, 1.0)
    sy = np.sqrt(area / aspect).clip(0.2, 1.0)
    tx = rng.uniform(-1, 1, n) * (1 - sx)
    ty = rng.uniform(-1, 1, n) * (1 - sy)
    angle = np.deg2rad(rng.uniform(-12, 12, n))
    flip = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    cos, sin = np.cos(angle), np.sin(angle)
    theta = np.stack([np.stack([sx * cos * flip, -sy * sin, tx], 1), np.stack([sx * sin * flip, sy * cos, ty], 1)], 1)
    grid = torch.nn.functional.affine_grid(torch.from_numpy(theta).float(), list(x.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    bright = torch.from_numpy(rng.uniform(-0.6, 0.6, (n, 1, 1, 1))).float()
    contrast = torch.from_numpy(rng.uniform(0.6, 1.4, (n, 1, 1, 1))).float()
    sat = torch.from_numpy(rng.uniform(0.4, 1.6, (n, 1, 1, 1))).float()
    gray = out.mean(dim=1, keepdim=True)
    out = gray + (out - gray) * sat
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return (out - mean) * contrast + mean + bright


def _nt_xent(torch: Any, z: Any, temperature: float) -> Any:
    z = torch.nn.functional.normalize(z, dim=1)
    n = z.shape[0] // 2
    sim = z @ z.t() / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return torch.nn.functional.cross_entropy(sim, target)
