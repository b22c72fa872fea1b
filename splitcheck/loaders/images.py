"""List image files: ImageFolder layout (class sub-folders are labels) or a flat folder."""

from __future__ import annotations

import os
from pathlib import Path

from splitcheck.splits import Split, make_items

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_images(root: Path) -> list[str]:
    """Relative POSIX paths of the image files under ``root``, sorted; hidden entries are skipped.

    Directory symlinks are not followed (no loops); file symlinks are listed as they are.
    """
    found: list[str] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        base = root / rel if rel else root
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append(child)
            elif is_image_name(entry.name):
                found.append(child)
    found.sort()
    return found


def folder_has_images(root: Path, limit: int = 2000) -> bool:
    """True if an image file sits anywhere below ``root`` (stops after ``limit`` entries)."""
    seen = 0
    for _dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if is_image_name(name):
                return True
            seen += 1
            if seen > limit:
                return False
    return False


def load_image_folder(name: str, root: Path) -> Split:
    """An image folder as a split. When every image sits in a sub-folder, the first sub-folder is the label."""
    rel_paths = list_images(root)
    nested = bool(rel_paths) and all("/" in p for p in rel_paths)
    labels = [p.split("/", 1)[0] for p in rel_paths] if nested else None
    items = make_items(rel_paths, labels=labels)
    split = Split(
        name=name,
        modality="image",
        items=items,
        source=str(root),
        root=root,
        paths=[str(root / p) for p in rel_paths],
    )
    split.notes.append("layout: ImageFolder (labels from class folders)" if nested else "layout: flat image folder")
    return split
