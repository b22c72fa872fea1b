"""Image embedders: a weights-free default, and any network or callable the user brings.

The default, :class:`ColourGradientEmbedder` (``colour-gradient``), needs no weights and runs at
several hundred 64x64 images per second per core in numpy. It is a spatial pyramid (1x1, 2x2, 4x4 cells)
of soft-binned gradient-orientation histograms of the luminance (each cell L2-normalised), plus 1x1 and
2x2 histograms of opponent colour (6x6 chroma bins, chroma in units of the image's own RMS chroma) and
of luminance (4 bins, in units of the image's own standard deviation around its mean) — so brightness,
contrast and saturation changes move the descriptor little. The whole vector is square-rooted
(Hellinger), made mirror-invariant by adding the histograms of the mirrored image, and finally centred
and PCA-whitened on the reference split (:class:`~splitcheck.embed.base.Whitener`). In the signature decode it is
also computed for 5 sub-windows of the thumbnail (4 corners and the centre, 3/4 of the side; from the same
pass over the pixels, :meth:`ColourGradientEmbedder.embed_views`), which the embedding scanner matches strong
crops and rotations against (:mod:`splitcheck.embed.views`). It was chosen over
a 16x16 tiny image, a random-convolution network, the learned CNN of :mod:`splitcheck.embed.learned`
and a 64-bit pHash by ``benchmarks/embeddings/bench_planted.py``.

User models: :func:`torch_embedder` wraps any ``torch.nn.Module`` (its output, flattened, is the
embedding), :func:`torchscript_embedder` a TorchScript file, :class:`CallableImageEmbedder` any function
from a uint8 batch to vectors. :func:`named_image_embedder` builds torchvision / timm / open_clip models
by name only when their weights are already on disk; it never downloads.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from splitcheck.embed.base import check_output, file_digest, fingerprint
from splitcheck.errors import InputError, MissingExtraError

#: ImageNet normalisation used by torchvision and timm models.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: CLIP's normalisation (open_clip models).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ColourGradientEmbedder:
    """Weights-free descriptor: multi-scale gradient-orientation and colour histograms (see module doc)."""

    name = "colour-gradient"
    modality = "image"
    version = 3

    def __init__(self, *, input_size: int = 64, orientation_bins: int = 9, colour_bins: int = 6,
                 levels: tuple[int, ...] = (1, 2, 4), whiten: int = 128, colour: str = "both",
                 windows: int = 5) -> None:
        if input_size < 8 or any(input_size % g for g in levels):
            raise ValueError(f"input_size must be >= 8 and divisible by every pyramid level; got {input_size}")
        if windows not in (0, 5):
            raise ValueError(f"windows must be 0 or 5; got {windows}")
        #: Sub-windows described besides the whole image by :meth:`embed_views`: the 4 corner squares and the
        #: centre square of 3/4 of the side. A strong crop or a rotation of an image matches one of them.
        self.windows = windows
        self.input_size = input_size
        self.orientation_bins = orientation_bins
        self.colour_bins = colour_bins
        self.levels = tuple(levels)
        if colour not in ("absolute", "relative", "both"):
            raise ValueError(f"colour must be absolute, relative or both; got {colour!r}")
        self.colour = colour
        #: PCA-whitened output dimension (0 keeps the raw descriptor); applied by embed.context.
        self.whiten = whiten
        self.raw_dim = (orientation_bins * sum(g * g for g in levels)
                        + (colour_bins * colour_bins + 4) * (1 + 4) * (2 if colour == "both" else 1))
        self.dim = self.raw_dim

    @property
    def identity(self) -> str:
        return (f"{self.name}-v{self.version}|s={self.input_size}|o={self.orientation_bins}|"
                f"c={self.colour_bins}|l={','.join(map(str, self.levels))}|col={self.colour}|w={self.windows}")

    @property
    def cache_identity(self) -> str:
        """Deterministic pure numpy: its vectors are cached under its identity (see splitcheck.embed.store)."""
        return self.identity

    @property
    def parts(self) -> dict[str, slice]:
        """Columns of the raw vector searched and calibrated on their own by the embedding scanner: the
        gradient-orientation histograms, which colour jitter (brightness, contrast, saturation, hue) barely moves."""
        return {"orientation": slice(0, self.orientation_bins * sum(g * g for g in self.levels))}

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """``(n, raw_dim)`` raw vectors of the whole images."""
        batch = self._check(batch, 1)
        if len(batch) == 0:
            return np.zeros((0, self.raw_dim), np.float32)
        step = self._step()
        orient, colour = self._cells(batch, step)
        return self._vector(orient, colour, batch.shape[1] ** 2)

    def embed_views(self, batch: np.ndarray) -> np.ndarray:
        """``(n, (1 + windows) * raw_dim)``: the whole image's vector, then the 4 corner windows' and the centre
        window's (squares of 3/4 of the side). The windows' histograms are sums of the whole image's finer cells
        (one pass over the pixels; the relative colour bins use the whole image's statistics)."""
        if not self.windows:
            return self.embed(batch)
        step = self._step()
        batch = self._check(batch, 4 * step)
        if len(batch) == 0:
            return np.zeros((0, self.raw_dim * (1 + self.windows)), np.float32)
        orient, colour = self._cells(batch, 4 * step)  # 4L x 4L cells; a window is 3L x 3L of them
        size = batch.shape[1]
        cell, side = size // (4 * step), size * 3 // 4
        views = [self._vector(orient, colour, size * size)]
        relative = None
        if self.colour in ("relative", "both"):  # binned again in each window by the window's own statistics
            x = batch.astype(np.float32) * (1.0 / 255.0)
            relative = ((x[..., 0] - x[..., 1]) * (1.0 / np.sqrt(2.0)),
                        (x[..., 0] + x[..., 1] - 2.0 * x[..., 2]) * (1.0 / np.sqrt(6.0)), x.mean(axis=3))
        n_colour = self.colour_bins ** 2 + 4
        for y, x0 in ((0, 0), (0, step), (step, 0), (step, step), (step // 2, step // 2)):
            region = (slice(None), slice(y, y + 3 * step), slice(x0, x0 + 3 * step))
            window_colour = colour[region]
            if relative is not None:
                # every other pixel of the window: a colour histogram barely changes, at a quarter of the work
                pixels = (slice(None), slice(y * cell, y * cell + side, 2), slice(x0 * cell, x0 * cell + side, 2))
                own = self._colour_cells(*(np.ascontiguousarray(v[pixels]) for v in relative), 3 * step, "relative")
                own *= 4.0  # every other pixel each way: a quarter of the window's counts
                window_colour = np.concatenate([window_colour[..., :-n_colour], own], axis=3)
            views.append(self._vector(orient[region], window_colour, side * side))
        return np.concatenate(views, axis=1)

    def _step(self) -> int:
        return int(np.lcm.reduce(self.levels + (2,)))

    def _check(self, batch: np.ndarray, multiple: int) -> np.ndarray:
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[3] != 3:
            raise ValueError(f"expected a (n, h, w, 3) uint8 batch; got shape {batch.shape}")
        if len(batch) and (batch.shape[1] != batch.shape[2] or batch.shape[1] % (self._step() * multiple)):
            raise ValueError(f"expected square images with a side divisible by {self._step() * multiple}; "
                             f"got {batch.shape}")
        return batch

    def _vector(self, orient: np.ndarray, colour: np.ndarray, pixels: int) -> np.ndarray:
        """Raw vectors of a square region from its cells' histogram sums ``(n, cells, cells, bins)``."""
        hist = [("orient", _pool(orient, g) * (g * g / pixels)) for g in self.levels]
        hist += [("colour", _pool(colour, g) * (g * g / pixels)) for g in (1, 2)]
        out = []
        n, bins = orient.shape[0], self.orientation_bins
        for kind, h in hist:
            # the mirrored image's histograms are the same cells mirrored left-right, with orientation bin b
            # moved to -b (mod bins): adding them makes the descriptor mirror-invariant at no extra cost
            h = h + _mirror(h, orientation=kind == "orient")
            grid = h.shape[1]
            if kind == "orient":
                h = h / (np.linalg.norm(h, axis=3, keepdims=True) + 1e-3)
                out.append(h.reshape(n, grid * grid * bins) / grid)
            else:
                out.append(h.reshape(n, -1) / grid)
        return np.sqrt(np.maximum(np.concatenate(out, axis=1), 0.0)).astype(np.float32)

    def _cells(self, batch: np.ndarray, finest: int) -> tuple[np.ndarray, np.ndarray]:
        """Histogram sums per cell of a ``finest`` x ``finest`` grid: orientation ``(n, f, f, bins)`` (gradient
        magnitude, soft-binned), colour ``(n, f, f, colour bins)`` (pixel counts, scaled by 1/sqrt(variants))."""
        x = batch.astype(np.float32) * (1.0 / 255.0)
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        lum = (r + g + b) * (1.0 / 3.0)
        o1 = (r - g) * (1.0 / np.sqrt(2.0))
        o2 = (r + g - 2.0 * b) * (1.0 / np.sqrt(6.0))
        n, h, w = lum.shape
        gy, gx = np.gradient(lum, axis=(1, 2))
        mag = np.sqrt(gx * gx + gy * gy).ravel()
        bins = self.orientation_bins
        pos = ((np.arctan2(gy, gx) % np.pi) * (bins / np.pi)).ravel()
        lo = np.floor(pos).astype(np.intp)
        frac = pos - lo
        lo %= bins
        hi = (lo + 1) % bins
        cell = _cell_index(n, h, w, finest)
        size = n * finest * finest * bins
        orient = np.bincount(cell * bins + lo, weights=mag * (1.0 - frac), minlength=size)
        orient += np.bincount(cell * bins + hi, weights=mag * frac, minlength=size)
        variants = [v for v in ("absolute", "relative") if self.colour in (v, "both")]
        colour = np.concatenate([self._colour_cells(o1, o2, lum, finest, v, cell) for v in variants], axis=3)
        return orient.reshape(n, finest, finest, bins), colour

    def _colour_cells(self, o1: np.ndarray, o2: np.ndarray, lum: np.ndarray, finest: int, variant: str,
                      cell: np.ndarray | None = None) -> np.ndarray:
        """Colour histogram counts per cell ``(n, f, f, colour bins)``, scaled by 1/sqrt(variants): absolute
        colour, or colour that brightness, contrast and saturation changes leave unchanged (luminance in units of
        the region's own standard deviation around its mean, chroma in units of its own RMS chroma)."""
        cb = self.colour_bins
        n, h, w = lum.shape
        if variant == "absolute":
            v1, v2, vl = o1, o2, lum * 4
        else:
            lum_n = (lum - lum.mean(axis=(1, 2), keepdims=True)) / (lum.std(axis=(1, 2), keepdims=True) + 1e-3)
            chroma = np.sqrt((o1 * o1 + o2 * o2).mean(axis=(1, 2), keepdims=True)) + 1e-3
            v1, v2, vl = o1 / chroma * 0.25, o2 / chroma * 0.25, (lum_n / 2.0 + 0.5) * 4
        c1 = np.clip((v1 / 0.7 + 0.5) * cb, 0, cb - 1e-3).astype(np.intp).ravel()
        c2 = np.clip((v2 / 0.8 + 0.5) * cb, 0, cb - 1e-3).astype(np.intp).ravel()
        lb = np.clip(vl, 0, 4 - 1e-3).astype(np.intp).ravel()
        n_colour = cb * cb + 4
        cell = _cell_index(n, h, w, finest) if cell is None else cell
        size = n * finest * finest * n_colour
        counts = np.bincount(cell * n_colour + c1 * cb + c2, minlength=size).astype(np.float64)
        counts += np.bincount(cell * n_colour + cb * cb + lb, minlength=size)
        return counts.reshape(n, finest, finest, n_colour) / np.sqrt(2.0 if self.colour == "both" else 1.0)


@functools.lru_cache(maxsize=16)
def _cell_index(n: int, h: int, w: int, finest: int) -> np.ndarray:
    """Flat index (image, cell row, cell column) of every pixel of ``n`` images on a ``finest`` grid (read-only,
    shared by the batches of one shape)."""
    image = np.repeat(np.arange(n, dtype=np.intp), h * w)
    rows = np.tile(np.repeat(np.arange(h, dtype=np.intp), w), n)
    cols = np.tile(np.arange(w, dtype=np.intp), n * h)
    index = (image * finest + rows * finest // h) * finest + cols * finest // w
    index.flags.writeable = False
    return index


def _pool(hist: np.ndarray, grid: int) -> np.ndarray:
    n, f, _, c = hist.shape
    step = f // grid
    return hist.reshape(n, grid, step, grid, step, c).sum(axis=(2, 4))


def _mirror(hist: np.ndarray, *, orientation: bool) -> np.ndarray:
    """Histograms of the left-right mirrored image (cells mirrored; orientation bin b becomes -b)."""
    mirrored = hist[:, :, ::-1, :]
    if orientation:
        bins = hist.shape[3]
        mirrored = mirrored[..., (-np.arange(bins)) % bins]
    return mirrored


class CallableImageEmbedder:
    """Wraps ``fn(batch) -> (n, dim)`` as an embedder: for images the batch is uint8 ``(n, s, s, 3)``
    (``s = input_size``); with ``modality="text"`` a list of strings, ``"table"`` a DataFrame,
    ``"vector"`` a 2-D array.

    ``identity`` should name the model and its weights; by default it is the function's qualified name,
    so give ``identity=`` when the same function can carry different weights.
    """

    whiten = 0

    def __init__(self, fn: Callable[[Any], Any], *, input_size: int = 224, name: str | None = None,
                 identity: str | None = None, dim: int | None = None, modality: str = "image") -> None:
        if not callable(fn):
            raise InputError(f"the embedder must be callable; got {type(fn).__name__}")
        self.fn = fn
        self.modality = modality
        self.input_size = int(input_size)
        self.name = name or getattr(fn, "__qualname__", type(fn).__name__)
        self._identity = identity or f"callable:{getattr(fn, '__module__', '?')}.{self.name}"
        self._declared = identity is not None
        self.dim = dim if dim is not None else 0  # 0: learned from the first batch

    @property
    def identity(self) -> str:
        return f"{self._identity}|s={self.input_size}"

    @property
    def cache_identity(self) -> str | None:
        """Cached in the signature cache only when ``identity=`` was given (the function's name says nothing
        about its weights)."""
        return f"callable:{self.identity}" if self._declared and self.modality == "image" else None

    def embed(self, batch: np.ndarray) -> np.ndarray:
        out = check_output(self.fn(batch), len(batch), self.dim or None, self.name)
        self.dim = out.shape[1]
        return out


class TorchImageEmbedder:
    """A ``torch.nn.Module`` (eval mode, no gradients, CPU) as an image embedder.

    Pixels are scaled to [0, 1], normalised with ``mean``/``std`` and given as ``(n, 3, s, s)`` float32;
    the output (a tensor, or the first tensor of a tuple) is flattened per item.
    """

    modality = "image"
    whiten = 0

    def __init__(self, module: Any, *, input_size: int = 224, mean: tuple[float, ...] = IMAGENET_MEAN,
                 std: tuple[float, ...] = IMAGENET_STD, name: str | None = None, identity: str | None = None,
                 batch_size: int = 64) -> None:
        torch = _torch()
        self._declared = identity is not None
        if not isinstance(module, torch.nn.Module):
            raise InputError(f"expected a torch.nn.Module; got {type(module).__name__}")
        self.module = module.eval()
        self.input_size = int(input_size)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.name = name or type(module).__name__
        self.batch_size = batch_size
        if identity is None:
            state = module.state_dict()
            identity = f"torch:{self.name}:" + fingerprint(
                *[(k, tuple(v.shape)) for k, v in state.items()],
                *[v.detach().cpu().float().numpy().ravel()[:4096] for v in state.values()])
        self._identity = identity
        self.dim = 0

    @property
    def identity(self) -> str:
        return f"{self._identity}|s={self.input_size}|m={self.mean}|sd={self.std}"

    @property
    def cache_identity(self) -> str | None:
        """Cached only with a declared identity: TorchScript files and named models carry a digest of their file;
        a module passed without ``identity=`` is not cached (its code could change with its weights unchanged)."""
        return f"torch:{self.identity}" if self._declared else None

    def embed(self, batch: np.ndarray) -> np.ndarray:
        torch = _torch()
        outs = []
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)
        with torch.inference_mode():
            for start in range(0, len(batch), self.batch_size):
                x = torch.from_numpy(np.ascontiguousarray(batch[start:start + self.batch_size]))
                x = x.permute(0, 3, 1, 2).float().div_(255.0).sub_(mean).div_(std)
                y = self.module(x)
                if isinstance(y, (tuple, list)):
                    y = y[0]
                if isinstance(y, dict):
                    y = next(iter(y.values()))
                outs.append(y.reshape(len(x), -1).float().cpu().numpy())
        out = check_output(np.concatenate(outs) if outs else np.zeros((0, self.dim or 1), np.float32),
                           len(batch), self.dim or None, self.name)
        self.dim = out.shape[1]
        return out


def torch_embedder(module: Any, **kwargs: Any) -> TorchImageEmbedder:
    """Wrap a ``torch.nn.Module``; keyword arguments as :class:`TorchImageEmbedder`."""
    return TorchImageEmbedder(module, **kwargs)


def torchscript_embedder(path: str | os.PathLike[str], **kwargs: Any) -> TorchImageEmbedder:
    """Load a TorchScript file (``torch.jit.save``) or an exported program (``torch.export.save``, ``.pt2``)
    on the CPU and wrap it."""
    import warnings

    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: TorchScript file not found (--embedder)")
    exported = path.suffix.lower() == ".pt2"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still supported
            if exported:
                module = torch.export.load(str(path)).module()
            else:
                module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError/ValueError/pickle errors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        what = "an exported program torch.export.load" if exported else "a TorchScript file torch.jit.load"
        raise InputError(f"{path}: not {what} can read ({reason})") from None
    digest = file_digest(path)
    kwargs.setdefault("name", path.stem)
    kwargs.setdefault("identity", f"torchscript:{path.name}:{digest}")
    return TorchImageEmbedder(module, **kwargs)


def named_image_embedder(spec: str) -> TorchImageEmbedder:
    """``torchvision:NAME``, ``timm:NAME`` or ``open_clip:ARCH``, each optionally ``@/path/to/weights``.

    The weights must already be on disk (the path after ``@``, or the library's own cache); a missing
    file is an :class:`InputError` naming it and where to put it. Nothing is downloaded.
    """
    library, _, rest = spec.partition(":")
    model, _, weights = rest.partition("@")
    if not model:
        raise InputError(f"embedder {spec!r}: expected LIBRARY:MODEL[@WEIGHTS], e.g. torchvision:resnet18")
    if library == "torchvision":
        return _torchvision(model, weights or None)
    if library == "timm":
        return _timm(model, weights or None)
    if library == "open_clip":
        return _open_clip(model, weights or None)
    raise InputError(f"embedder {spec!r}: unknown library {library!r}; use torchvision:, timm: or open_clip:")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingExtraError("this embedder needs torch: pip install 'splitcheck[torch]'") from None
    return torch


def _import(name: str, pip: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingExtraError(f"embedder needs {name}: pip install {pip} ({exc})") from None


def _weights_file(explicit: str | None, default: Path, spec: str, source: str) -> Path:
    path = Path(explicit).expanduser() if explicit else default
    if not path.is_file():
        raise InputError(
            f"embedder {spec}: weights file {path} not found; splitcheck never downloads weights. "
            f"Fetch it on a machine with network ({source}) and put it at {path}, or give its path as "
            f"{spec}@/path/to/file")
    return path


def _torchvision(model: str, weights: str | None) -> TorchImageEmbedder:
    torch = _torch()
    tv = _import("torchvision.models", "torchvision (the build matching your torch)")
    try:
        default = tv.get_model_weights(model).DEFAULT
    except (ValueError, KeyError):
        raise InputError(f"embedder torchvision:{model}: torchvision has no model named {model!r}") from None
    filename = os.path.basename(default.url)
    expected = Path(torch.hub.get_dir()) / "checkpoints" / filename
    path = _weights_file(weights, expected, f"torchvision:{model}", default.url)
    net = tv.get_model(model, weights=None)
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:
        raise InputError(f"{path}: not the weights of torchvision {model} ({str(exc).splitlines()[0]})") from None
    _drop_head(net, torch)
    size = int(getattr(default.transforms(), "crop_size", [224])[0])
    return TorchImageEmbedder(net, input_size=size, name=f"torchvision:{model}",
                              identity=f"torchvision:{model}:{path.name}:{file_digest(path)}")


def _timm(model: str, weights: str | None) -> TorchImageEmbedder:
    _torch()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a network call that could hang
    timm = _import("timm", "timm")
    if weights is None:
        hub = _import("huggingface_hub", "huggingface_hub")
        found = hub.try_to_load_from_cache(f"timm/{model}", "model.safetensors")
        if not isinstance(found, str):
            cache = Path(hub.constants.HF_HUB_CACHE) / f"models--timm--{model}"
            raise InputError(
                f"embedder timm:{model}: weights not found in the Hugging Face cache ({cache}); splitcheck "
                f"never downloads. Fetch timm/{model} model.safetensors elsewhere and give its path as "
                f"timm:{model}@/path/to/model.safetensors")
        weights = found
    path = _weights_file(weights, Path(weights), f"timm:{model}", f"timm/{model}")
    net = timm.create_model(model, pretrained=True, num_classes=0, pretrained_cfg_overlay={"file": str(path)})
    cfg = net.pretrained_cfg
    return TorchImageEmbedder(net, input_size=int(cfg.get("input_size", (3, 224, 224))[-1]),
                              mean=tuple(cfg.get("mean", IMAGENET_MEAN)), std=tuple(cfg.get("std", IMAGENET_STD)),
                              name=f"timm:{model}", identity=f"timm:{model}:{path.name}:{file_digest(path)}")


def _open_clip(arch: str, weights: str | None) -> TorchImageEmbedder:
    _torch()
    open_clip = _import("open_clip", "open_clip_torch")
    if weights is None:
        raise InputError(f"embedder open_clip:{arch}: give the weights file as open_clip:{arch}@/path/to/"
                         "open_clip_pytorch_model.bin; splitcheck never downloads weights")
    path = _weights_file(weights, Path(weights), f"open_clip:{arch}", "the open_clip model card")
    model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=str(path))

    visual = model.visual  # only the image tower
    size = visual.image_size[0] if isinstance(visual.image_size, (tuple, list)) else int(visual.image_size)
    return TorchImageEmbedder(visual, input_size=int(size), mean=CLIP_MEAN, std=CLIP_STD,
                              name=f"open_clip:{arch}", identity=f"open_clip:{arch}:{path.name}:{file_digest(path)}")


def _drop_head(net: Any, torch: Any) -> None:
    """Replace the classification layer so the network returns its penultimate features."""
    for attr in ("fc", "classifier", "heads", "head"):
        if hasattr(net, attr):
            setattr(net, attr, torch.nn.Identity())
            return
