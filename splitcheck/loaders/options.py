"""Options that say how to read a split: which columns hold labels, groups, times, ids, texts, paths."""

from __future__ import annotations

from dataclasses import dataclass

#: Column names tried, in order, when an option is not given.
LABEL_CANDIDATES = ("label", "labels", "target", "class", "y")
ID_CANDIDATES = ("id",)
PATH_CANDIDATES = ("path", "filepath", "file_path", "filename", "file", "image", "image_path")
TEXT_CANDIDATES = ("text",)


@dataclass(frozen=True)
class LoadOptions:
    """How to read the splits. ``None`` means "detect"; group and time columns are never guessed."""

    label_column: str | None = None
    group_column: str | None = None
    time_column: str | None = None
    id_column: str | None = None
    text_column: str | None = None
    path_column: str | None = None
    modality: str | None = None
