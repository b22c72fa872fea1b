"""Small inline thumbnails (``data:`` URIs) of the user's images, for the HTML report.

The user's files are only opened for reading. Every thumbnail is bounded: files larger than
``max_file_bytes`` or images with more than ``max_pixels`` pixels are not decoded, the picture is shrunk to
at most ``max_side`` pixels on its longer side and re-encoded as JPEG, so one thumbnail costs a few
kilobytes of HTML whatever the source. A file that is missing, unreadable or not an image gets a
placeholder drawn by splitcheck (never the file's bytes).
"""

from __future__ import annotations

import base64
import io
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from splitcheck.loaders.images import is_image_name
from splitcheck.signatures.digests import DEFAULT_MAX_IMAGE_PIXELS

#: Longer side of a thumbnail, in pixels.
DEFAULT_MAX_SIDE = 128
#: Files larger than this are not opened (bytes).
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
#: JPEG quality of the thumbnails (1-95): small files, faces and textures still recognisable.
JPEG_QUALITY = 75


def resolve_item_path(split: Mapping[str, Any], item_id: str) -> Path | None:
    """Where the file of item ``item_id`` of a split summary (``Report.splits`` entry) is, or None.

    Image folders use the item id as the path relative to the folder, and the file must lie inside the
    folder (an id such as ``../../etc/passwd`` resolves to nothing). Image manifests use the path column
    as the id when no id column was given: relative ids are read from the manifest's folder. Only names
    with an image extension are ever resolved.
    """
    if split.get("modality") != "image" or not is_image_name(str(item_id)):
        return None
    source = Path(str(split.get("source", "")))
    if not str(split.get("source", "")) or str(split.get("source", "")).startswith("<"):
        return None
    if source.is_dir():
        root = source.resolve()
        candidate = (root / str(item_id)).resolve()
        try:
            candidate.relative_to(root)
        except ValueError:
            return None
    else:
        item = Path(str(item_id))
        candidate = item if item.is_absolute() else source.parent / item
    return candidate if candidate.is_file() else None


def thumbnail_data_uri(
    path: str | os.PathLike[str] | None,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> str:
    """A ``data:image/jpeg;base64,...`` thumbnail of the image at ``path``, or a placeholder SVG URI."""
    if path is None:
        return placeholder_data_uri("no file")
    try:
        size = os.stat(path).st_size
    except OSError:
        return placeholder_data_uri("not found")
    if size > max_file_bytes:
        return placeholder_data_uri("too large")
    try:
        return _encode(Path(path), max_side, max_pixels)
    except _TooLarge:
        return placeholder_data_uri("too large")
    except Exception:  # noqa: BLE001 - any decoding problem: the report still renders
        return placeholder_data_uri("unreadable")


def placeholder_data_uri(reason: str) -> str:
    """A grey square naming why there is no picture (``reason`` is one of splitcheck's own words)."""
    words = {"no file": "no file", "not found": "not found", "too large": "too large"}.get(reason, "unreadable")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{DEFAULT_MAX_SIDE}" height="{DEFAULT_MAX_SIDE}" '
           f'viewBox="0 0 128 128"><rect width="128" height="128" fill="#e5e7eb"/>'
           f'<text x="64" y="68" font-family="sans-serif" font-size="14" fill="#6b7280" '
           f'text-anchor="middle">{words}</text></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")


class _TooLarge(Exception):
    pass


def _encode(path: Path, max_side: int, max_pixels: int) -> str:
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DecompressionBombWarning and friends: the size check below decides
        with open(path, "rb") as handle, Image.open(handle) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise _TooLarge
            if image.format == "JPEG":
                image.draft("RGB", (max_side, max_side))
            image.load()
            picture = ImageOps.exif_transpose(image)
            picture = _to_rgb(picture)
            picture.thumbnail((max_side, max_side))
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _to_rgb(image: Any) -> Any:
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        values = np.asarray(image, dtype=np.float64)
        lo, hi = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if hi <= lo else (values - lo) * (255.0 / (hi - lo))
        return Image.fromarray(scaled.astype(np.uint8)).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")
