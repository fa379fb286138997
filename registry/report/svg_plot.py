"""Drawing primitives of the report's figures, written directly as inline SVG.

Why not a plotting library: the figures are a few lines, bands, error bars and labels on
linear axes. Drawn with matplotlib, their layout and PNG rasterisation took about 3 s of a
20,000-patient ``registry analyze`` and importing it another 0.4 s (``bench/bench_figures.py``,
issue 13); written as SVG elements they take milliseconds, stay sharp at any zoom and in
print, and the report stays one self-contained file. Text is measured with the DejaVu Sans
advance widths of :func:`registry.report.flow_diagram.text_width` (an upper bound for the
fonts the SVG asks for first), so legends and labels are laid out without overlap.

A :class:`Figure` holds the elements; a :class:`Panel` maps data coordinates to a
rectangle of it and draws axes, ticks and labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from registry.report.flow_diagram import FONT_FAMILY, text_width

INK = "#222"
GRID = "#e5e5e5"


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 x 10^k) covering ``[low, high]``."""
    if not high > low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + 1e-9 * step:
        ticks.append(round(k * step, 10) + 0.0)
        k += 1
    return ticks


def tick_text(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def _num(v: float) -> str:
    return f"{v:.1f}".removesuffix(".0")


@dataclass
class Figure:
    """An SVG drawing ``width`` x ``height`` CSS pixels (it scales down to narrow screens)."""

    width: float
    height: float
    label: str  # the accessible name (what an <img> alt would say)
    parts: list[str] = field(default_factory=list)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 11,
        anchor: str = "middle",
        colour: str = INK,
        bold: bool = False,
        rotate: bool = False,
    ) -> None:
        """One line of text, vertically centred on ``y`` (``rotate``: reading upwards)."""
        attrs = f'x="{_num(x)}" y="{_num(y)}" font-size="{size:g}" text-anchor="{anchor}"'
        if colour != INK:
            attrs += f' fill="{colour}"'
        if bold:
            attrs += ' font-weight="bold"'
        if rotate:
            attrs += f' transform="rotate(-90 {_num(x)} {_num(y)})"'
        self.parts.append(f'<text {attrs} dy="0.35em">{escape(text)}</text>')

    def legend(self, items: list[tuple[str, str, str]], top: float, size: float = 12) -> float:
        """Legend entries ``(kind, colour, label)`` centred in rows from ``top``; ``kind``:
        ``line``, ``thin``, ``point``, ``line-point``, ``band``, ``light-band``, ``dotted``,
        ``tick``. Returns the y below the legend."""
        key, gap = 26.0, 18.0
        widths = [key + 6 + text_width(label, size=size) for _, _, label in items]
        rows: list[list[int]] = [[]]
        used = 0.0
        for i, w in enumerate(widths):
            if rows[-1] and used + gap + w > self.width - 20:
                rows.append([])
                used = 0.0
            used += (gap if rows[-1] else 0) + w
            rows[-1].append(i)
        y = top + size / 2 + 2
        for row in rows:
            x = (self.width - sum(widths[i] for i in row) - gap * (len(row) - 1)) / 2
            for i in row:
                kind, colour, label = items[i]
                self.parts.append(_legend_key(kind, colour, x, y, key))
                self.text(x + key + 6, y, label, size=size, anchor="start")
                x += widths[i] + gap
            y += size + 8
        return y

    def svg(self) -> Markup:
        """The ``<svg>`` element (safe to insert in the HTML report)."""
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="figure" viewBox="0 0 {_num(self.width)} '
            f'{_num(self.height)}" width="{_num(self.width)}" height="{_num(self.height)}" role="img" '
            f'aria-label="{escape(self.label)}" font-family="{FONT_FAMILY}" fill="{INK}">'
            f"<title>{escape(self.label)}</title>"
        )
        return Markup(head + "".join(self.parts) + "</svg>")


def _legend_key(kind: str, colour: str, x: float, y: float, key: float) -> str:
    line = f'<path d="M{_num(x)},{_num(y)}h{_num(key)}" stroke="{colour}" fill="none" '
    mid = x + key / 2
    if kind in ("band", "light-band"):
        opacity = 0.4 if kind == "band" else 0.15
        return (
            f'<rect x="{_num(x)}" y="{_num(y - 6)}" width="{_num(key)}" height="12" fill="{colour}" '
            f'fill-opacity="{opacity}"/>'
        )
    if kind == "point":
        return f'<circle cx="{_num(mid)}" cy="{_num(y)}" r="4" fill="{colour}"/>'
    if kind == "tick":
        return f'<path d="M{_num(mid)},{_num(y - 6)}v12" stroke="{colour}" stroke-width="1.4"/>'
    if kind == "thin":
        return line + 'stroke-width="1" stroke-opacity="0.6"/>'
    if kind == "dotted":
        return line + 'stroke-width="1" stroke-dasharray="2 3"/>'
    marker = f'<circle cx="{_num(mid)}" cy="{_num(y)}" r="3.5" fill="{colour}"/>' if kind == "line-point" else ""
    return line + 'stroke-width="2.2"/>' + marker


@dataclass
class Panel:
    """A plotting rectangle of ``fig`` (``left``, ``top``, ``width``, ``height`` in pixels)
    showing data ``xlim`` x ``ylim``."""

    fig: Figure
    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        return self.left + (v - lo) / ((hi - lo) or 1) * self.width

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        return self.top + self.height - (v - lo) / ((hi - lo) or 1) * self.height

    def _d(self, xs, ys) -> str:
        """Path data through the points, broken where a value is missing."""
        out, pen = [], "M"
        for a, b in zip(xs, ys, strict=True):
            if a is None or b is None or a != a or b != b:
                pen = "M"
                continue
            out.append(f"{pen}{_num(self.x(a))},{_num(self.y(b))}")
            pen = "L"
        return "".join(out)

    def line(self, xs, ys, colour: str, width: float = 1.8, dash: str | None = None, opacity: float = 1) -> None:
        d = self._d(xs, ys)
        if d:
            extra = (f' stroke-dasharray="{dash}"' if dash else "") + (
                f' stroke-opacity="{opacity:g}"' if opacity < 1 else ""
            )
            self.fig.parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width:g}"{extra}/>')

    def lines(self, series, colour: str, width: float = 0.8, opacity: float = 0.35) -> None:
        """Many thin polylines ``[(xs, ys), ...]`` in one group (overlaps darken)."""
        paths = "".join(f'<path d="{d}"/>' for d in (self._d(xs, ys) for xs, ys in series) if d)
        self.fig.parts.append(
            f'<g fill="none" stroke="{colour}" stroke-width="{width:g}" stroke-opacity="{opacity:g}">{paths}</g>'
        )

    def band(self, xs, low, high, colour: str, opacity: float) -> None:
        """A filled band between ``low`` and ``high`` (points in order of ``xs``)."""
        upper = [f"{_num(self.x(a))},{_num(self.y(b))}" for a, b in zip(xs, high, strict=True)]
        lower = [f"{_num(self.x(a))},{_num(self.y(b))}" for a, b in zip(xs, low, strict=True)]
        if upper:
            points = " ".join(upper + lower[::-1])
            self.fig.parts.append(f'<polygon points="{points}" fill="{colour}" fill-opacity="{opacity:g}"/>')

    def hline(self, value: float, colour: str = "grey", dash: str | None = "4 3", width: float = 0.9) -> None:
        self.line([self.xlim[0], self.xlim[1]], [value, value], colour, width, dash)

    def points(self, xs, ys, colour: str, radius: float = 3.5) -> None:
        self.fig.parts.append(
            "".join(
                f'<circle cx="{_num(self.x(a))}" cy="{_num(self.y(b))}" r="{radius:g}" fill="{colour}"/>'
                for a, b in zip(xs, ys, strict=True)
            )
        )

    def ticks_at(self, xs, ys, colour: str, half: float = 4) -> None:
        """Short vertical marks (censoring) centred on the points."""
        d = "".join(
            f"M{_num(self.x(a))},{_num(self.y(b) - half)}v{_num(2 * half)}" for a, b in zip(xs, ys, strict=True)
        )
        if d:
            self.fig.parts.append(f'<path d="{d}" stroke="{colour}" stroke-width="1"/>')

    def error_bar(self, x: float, y: float, low: float, high: float, colour: str, cap: float = 4) -> None:
        px, lo, hi = self.x(x), self.y(low), self.y(high)
        caps = "".join(f"M{_num(px - cap)},{_num(end)}h{_num(2 * cap)}" for end in (lo, hi))
        d = f"M{_num(px)},{_num(lo)}V{_num(hi)}{caps}"
        self.fig.parts.append(f'<path d="{d}" stroke="{colour}" stroke-width="1.4" fill="none"/>')
        self.points([x], [y], colour)

    def axes(
        self,
        *,
        xticks: list[tuple[float, str]] | None = None,
        yticks: list[float] | None = None,
        xlabel: str = "",
        ylabel: str = "",
        title: list[tuple[str, str]] | None = None,
        size: float = 12,
        ygrid: bool = True,
    ) -> None:
        """Frame, ticks (``xticks`` labelled; ``yticks`` default: round values), axis labels
        and ``title`` lines ``(text, colour)`` above the panel."""
        fig, bottom, right = self.fig, self.top + self.height, self.left + self.width
        yticks = nice_ticks(*self.ylim) if yticks is None else yticks
        for v in yticks:
            if not self.ylim[0] - 1e-9 <= v <= self.ylim[1] + 1e-9:
                continue
            py = self.y(v)
            if ygrid:
                fig.parts.append(f'<path d="M{_num(self.left)},{_num(py)}H{_num(right)}" stroke="{GRID}"/>')
            fig.parts.append(f'<path d="M{_num(self.left - 4)},{_num(py)}h4" stroke="{INK}"/>')
            fig.text(self.left - 7, py, tick_text(v), size=size - 1, anchor="end")
        for v, label in xticks or []:
            px = self.x(v)
            fig.parts.append(f'<path d="M{_num(px)},{_num(bottom)}v4" stroke="{INK}"/>')
            fig.text(px, bottom + 13, label, size=size - 1)
        fig.parts.append(
            f'<rect x="{_num(self.left)}" y="{_num(self.top)}" width="{_num(self.width)}" '
            f'height="{_num(self.height)}" fill="none" stroke="#888"/>'
        )
        if xlabel:
            fig.text(self.left + self.width / 2, bottom + 31, xlabel, size=size)
        if ylabel:
            widest = max((text_width(tick_text(v), size=size - 1) for v in yticks), default=0)
            fig.text(self.left - widest - 18, self.top + self.height / 2, ylabel, size=size, rotate=True)
        for i, (line, colour) in enumerate(reversed(title or [])):
            fig.text(
                self.left + self.width / 2, self.top - 10 - i * (size + 4), line, size=size, colour=colour, bold=True
            )
