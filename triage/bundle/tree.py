"""Walk a bundle folder without following anything: regular files only, everything else named.

A symbolic link (to a file or a folder), a FIFO, a socket or a device inside a bundle is never part of
a sealed bundle; following it would hash something outside the bundle, ignoring it would hide it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from triage.bundle.layout import shown


@dataclass
class FileTree:
    files: dict[str, Path] = field(default_factory=dict)  # '/'-separated path relative to the root → file
    dirs: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # links, special files, folders that cannot be read


def walk(root: Path) -> FileTree:
    tree = FileTree()
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(root / rel_dir if rel_dir else root) as entries:
                listed = list(entries)
        except OSError as e:
            tree.problems.append(f"cannot read folder {shown(rel_dir or '.')}: {e.strerror or e}")
            continue
        for entry in listed:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            _classify(entry, rel, tree, pending)
    return tree


def _classify(entry: os.DirEntry, rel: str, tree: FileTree, pending: list[str]) -> None:
    try:
        if entry.is_symlink():
            tree.problems.append(f"symbolic link (not followed): {shown(rel)} -> {shown(os.readlink(entry.path))}")
        elif entry.is_dir(follow_symlinks=False):
            tree.dirs.add(rel)
            pending.append(rel)
        elif entry.is_file(follow_symlinks=False):
            tree.files[rel] = Path(entry.path)
        else:
            kind = _special_kind(entry.stat(follow_symlinks=False).st_mode)
            tree.problems.append(f"not a regular file ({kind}): {shown(rel)}")
    except OSError as e:
        tree.problems.append(f"cannot read {shown(rel)}: {e.strerror or e}")


def _special_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return f"file type {stat.S_IFMT(mode):o}"
