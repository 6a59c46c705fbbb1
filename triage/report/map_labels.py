"""Label placement for the report's map: every label gets a slot where it overlaps no other text.

The map is drawn once in Python and shown by a browser (index.html) and by WeasyPrint (report.pdf), so the
layout is computed here, at report time, from the font's own advance widths (DejaVu Sans, the font both
renderers use for the map; the table below was read from DejaVuSans.ttf and DejaVuSans-Bold.ttf, units per
em 1000). A label first tries the eight slots around its point; if all are taken it is put farther out on
rings around the point and joined to it by a leader line (one that crosses no other label where it can).
Points closer together than GROUP_PX share one label ("L10–L13 (4)") and are listed under the map.

Zoom (report.js) changes the SVG viewBox and keeps each label's size on screen by scaling it about a point
inside its own box (where its text starts): boxes apart at the default zoom only move farther apart as the
map is enlarged (the gap between two boxes grows by the distance of their inner points times the zoom), so
labels never collide at the default zoom nor when zoomed in. A leader line keeps its end on its label.

Deterministic: labels are placed in the order given, candidates in a fixed order, no randomness.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

# advance widths per 1000 em of the printable ASCII characters (32 … 126), regular and bold
_REGULAR = (
    "318 401 460 838 636 950 780 275 390 390 500 838 318 361 318 337 636 636 636 636 636 636 636 636 636 "
    "636 337 337 838 838 838 531 1000 684 686 698 770 632 575 775 752 295 295 656 557 863 748 787 603 787 "
    "695 635 611 732 684 989 685 611 685 390 337 390 838 500 500 613 635 550 635 615 352 635 634 278 278 "
    "579 278 974 634 612 635 635 411 521 392 634 592 818 592 592 525 636 337 636 838"
)
_BOLD = (
    "348 456 521 838 696 1002 872 306 457 457 523 838 380 415 380 365 696 696 696 696 696 696 696 696 696 696 "
    "400 400 838 838 838 580 1000 774 762 734 830 683 683 821 837 372 372 775 637 995 837 850 733 850 770 720 "
    "682 812 774 1103 771 724 725 457 365 457 838 500 500 675 716 593 716 678 435 716 712 343 343 665 343 1042 "
    "712 687 716 716 493 595 478 712 652 924 645 652 582 712 365 712 838"
)
_OTHER = {
    "°": (500, 500),
    "–": (500, 500),
    "’": (318, 380),
    "‘": (318, 380),
    "…": (1000, 1000),
    "−": (838, 838),
    "ß": (630, 719),
    "æ": (982, 1048),
    "ø": (612, 687),
    "œ": (1023, 1094),
    "Œ": (1070, 1167),
    "Ø": (787, 850),
    "Æ": (974, 1085),
}  # the other characters labels use (degrees, dashes, quotes)
WIDTHS = {False: [int(w) for w in _REGULAR.split()], True: [int(w) for w in _BOLD.split()]}
ASCENT, DESCENT = 0.929, 0.236  # DejaVu Sans, per em: the height a browser gives a line of SVG text
PAD = 1.5  # map pixels kept free around every label
GROUP_PX = 9.0  # points nearer than this (map pixels) share one label
NEAR_GAP = 3.0  # gap between a point's disc and a label beside it
RINGS = (16, 26, 38, 52, 70, 92, 120, 155, 200)  # leader-line distances tried, in map pixels
ANGLES = 24  # directions tried on each ring


def char_width(ch: str, bold: bool) -> float:
    """Advance of one character in em; letters with accents as their base letter, anything else wide."""
    code = ord(ch)
    if 32 <= code <= 126:
        return WIDTHS[bold][code - 32] / 1000
    base = unicodedata.normalize("NFD", ch)[0]
    if base != ch and 32 <= ord(base) <= 126:
        return WIDTHS[bold][ord(base) - 32] / 1000
    if ch in _OTHER:
        return _OTHER[ch][bold] / 1000
    return 1.1  # other scripts and symbols: wider than any Latin letter of the font, so never too narrow


def text_width(text: str, size: float, bold: bool = False) -> float:
    return sum(char_width(ch, bold) for ch in text) * size


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, width: float, height: float) -> bool:
        return self.x0 >= 0 and self.y0 >= 0 and self.x1 <= width and self.y1 <= height


def text_box(x: float, baseline: float, text: str, size: float, bold: bool) -> Box:
    """The box a renderer gives `text` written from (x, baseline), text-anchor start, with PAD around it."""
    return Box(
        x - PAD, baseline - ASCENT * size - PAD, x + text_width(text, size, bold) + PAD, baseline + DESCENT * size + PAD
    )


@dataclass(frozen=True)
class Label:
    text: str
    ax: float  # the point it names (map pixels): the label is kept beside it
    ay: float
    size: float
    bold: bool = False
    clear: float = 5.0  # radius of the mark at the point, kept free of the label


@dataclass(frozen=True)
class Placed:
    label: Label
    x: float  # where the text starts (text-anchor start) and its baseline
    y: float
    box: Box
    leader: tuple[float, float] | None = None  # end of the leader line at the label, None when beside the point


@dataclass
class Layout:
    """Boxes taken so far (texts placed, fixed texts, marks) in a grid index, so a check costs O(neighbours)."""

    width: float
    height: float
    cell: float = 40.0
    _texts: dict[tuple[int, int], list[Box]] = field(default_factory=dict)
    _marks: dict[tuple[int, int], list[Box]] = field(default_factory=dict)

    def _cells(self, box: Box) -> list[tuple[int, int]]:
        c = self.cell
        return [
            (i, j)
            for i in range(int(box.x0 // c), int(box.x1 // c) + 1)
            for j in range(int(box.y0 // c), int(box.y1 // c) + 1)
        ]

    def add_text(self, box: Box) -> Box:
        """Reserve `box` for a text; returns it (the handle first_clash gives back)."""
        for cell in self._cells(box):
            self._texts.setdefault(cell, []).append(box)
        return box

    def add_mark(self, x: float, y: float, r: float) -> None:
        """A disc drawn on the map: labels keep off it (other labels' points stay visible)."""
        box = Box(x - r, y - r, x + r, y + r)
        for cell in self._cells(box):
            self._marks.setdefault(cell, []).append(box)

    def text_free(self, box: Box) -> bool:
        return self.first_clash(box) is None

    def first_clash(self, box: Box) -> Box | None:
        """The first text placed that `box` would touch, None when it is free."""
        for cell in self._cells(box):
            for taken in self._texts.get(cell, ()):
                if taken.overlaps(box):
                    return taken
        return None

    def marks_free(self, box: Box, own: Box) -> bool:
        return all(not m.overlaps(box) or m == own for cell in self._cells(box) for m in self._marks.get(cell, ()))

    def place(self, label: Label, avoid_marks: bool = True) -> Placed | None:
        """The first free slot for `label`: beside its point, else on a ring with a leader line; None when the
        map has no room for it (the caller lists it)."""
        own = Box(label.ax - label.clear, label.ay - label.clear, label.ax + label.clear, label.ay + label.clear)
        for x, y in _beside(label):
            placed = self._try(label, x, y, None, own, avoid_marks)
            if placed is not None:
                return placed
        for clear_line in (True, False):  # a leader line across other labels only when nothing else is free
            for radius in RINGS:
                for k in range(ANGLES):
                    theta = 2 * math.pi * k / ANGLES
                    end = (label.ax + radius * math.cos(theta), label.ay + radius * math.sin(theta))
                    x, y = _off_end(label, end, theta)
                    placed = self._try(label, x, y, end, own, avoid_marks, clear_line)
                    if placed is not None:
                        return placed
        return None

    def _try(
        self,
        label: Label,
        x: float,
        y: float,
        leader: tuple[float, float] | None,
        own: Box,
        avoid_marks: bool,
        clear_line: bool = True,
    ) -> Placed | None:
        x, y = round(x, 1), round(y, 1)  # the box is that of the text as written (one decimal)
        box = text_box(x, y, label.text, label.size, label.bold)
        if not box.inside(self.width, self.height) or not self.text_free(box):
            return None
        if avoid_marks and not self.marks_free(box, own):
            return None
        if leader is not None and clear_line and self._crosses_text((label.ax, label.ay), leader):
            return None
        self.add_text(box)
        return Placed(label, x, y, box, (round(leader[0], 1), round(leader[1], 1)) if leader else None)

    def _crosses_text(self, start: tuple[float, float], end: tuple[float, float]) -> bool:
        """A leader line from `start` to `end` would run across a text already placed."""
        span = Box(min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]), max(start[1], end[1]))
        return any(
            _segment_meets(start, end, taken) for cell in self._cells(span) for taken in self._texts.get(cell, ())
        )


def _segment_meets(a: tuple[float, float], b: tuple[float, float], box: Box) -> bool:
    """The segment a–b passes through `box` (Liang–Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - box.x0), (dx, box.x1 - a[0]), (-dy, a[1] - box.y0), (dy, box.y1 - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _beside(label: Label) -> list[tuple[float, float]]:
    """(x, baseline) of the eight slots around the point: right, left, above, below, then the corners."""
    w = text_width(label.text, label.size, label.bold)
    g = label.clear + NEAR_GAP
    mid = label.ay + (ASCENT - DESCENT) * label.size / 2  # baseline that centres the text on the point
    top = label.ay - g - DESCENT * label.size  # baseline of a label just above the point
    low = label.ay + g + ASCENT * label.size
    return [
        (label.ax + g, mid),
        (label.ax - g - w, mid),
        (label.ax - w / 2, top),
        (label.ax - w / 2, low),
        (label.ax + g * 0.7, top),
        (label.ax - g * 0.7 - w, top),
        (label.ax + g * 0.7, low),
        (label.ax - g * 0.7 - w, low),
    ]


def _off_end(label: Label, end: tuple[float, float], theta: float) -> tuple[float, float]:
    """(x, baseline) of a label whose nearest corner or edge touches the leader's end, on the far side."""
    w = text_width(label.text, label.size, label.bold)
    h = (ASCENT + DESCENT) * label.size
    cos, sin = math.cos(theta), math.sin(theta)
    x = end[0] if cos > 0.3 else end[0] - w if cos < -0.3 else end[0] - w / 2
    top = end[1] if sin > 0.3 else end[1] - h if sin < -0.3 else end[1] - h / 2
    return x, top + ASCENT * label.size


def leader_start(label: Label, end: tuple[float, float]) -> tuple[float, float]:
    """Where a leader line leaves the point: on the edge of its mark, towards the label."""
    dx, dy = end[0] - label.ax, end[1] - label.ay
    d = math.hypot(dx, dy) or 1.0
    return round(label.ax + dx / d * label.clear, 1), round(label.ay + dy / d * label.clear, 1)


def group_near(points: list[tuple[float, float]], within: float = GROUP_PX) -> list[list[int]]:
    """Indexes of `points` gathered into groups: each point joins the first group whose first point lies
    within `within` pixels, else starts one (in input order, so the result is deterministic and a group
    never stretches along a chain of points)."""
    groups: list[list[int]] = []
    seeds: dict[tuple[int, int], list[int]] = {}  # grid cell -> indexes of groups seeded there
    for i, (x, y) in enumerate(points):
        cx, cy = int(x // within), int(y // within)
        found = None
        for cell in ((cx + a, cy + b) for a in (-1, 0, 1) for b in (-1, 0, 1)):
            for g in seeds.get(cell, ()):
                sx, sy = points[groups[g][0]]
                if math.hypot(x - sx, y - sy) < within and (found is None or g < found):
                    found = g
        if found is None:
            seeds.setdefault((cx, cy), []).append(len(groups))
            groups.append([i])
        else:
            groups[found].append(i)
    return groups


def group_text(keys: list[str], ids: list[int]) -> str:
    """'L10' for one point; 'L10–L13 (4)' when the ids run without a gap; 'L3, L9' for two or three others;
    'L10 +3 (4)' past that (the table under the map lists every member)."""
    if len(keys) == 1:
        return keys[0]
    ordered = sorted(zip(ids, keys, strict=True))
    if ordered[-1][0] - ordered[0][0] == len(ordered) - 1:
        return f"{ordered[0][1]}–{ordered[-1][1]} ({len(keys)})"
    if len(keys) <= 3:
        return ", ".join(key for _, key in ordered)
    return f"{ordered[0][1]} +{len(keys) - 1} ({len(keys)})"
