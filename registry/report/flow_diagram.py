"""The CONSORT-style flow of subjects as an inline SVG, built from ``results.json`` alone.

Steps, per cohort of the plan: records in the registry -> the analysis set (the plan's
``[population] name``) -> with a baseline total of the relapse scale -> analysed at each
follow-up visit (paired change, with the reasons the others were left out) -> at risk of
relapse (and not at risk, with reasons). Every count is one in ``results.json``:
``population.flow``, ``time_to_response.left_out``, ``paired`` and ``relapse``.

The SVG is written directly (no plotting library). Text is wrapped to its box with the
advance widths of DejaVu Sans (matplotlib's bundled font, wider than Helvetica, Arial or
Liberation Sans, which the SVG asks for first), so a line never overflows its box whatever
sans-serif font the browser picks; the drawing scales down to narrower screens and paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape

from registry.report.tables import LEFT_OUT, set_name
from registry.report.time_to_event_section import reason_words

WIDTH = 720  # natural width in CSS pixels; scales down with max-width: 100%
FONT = 12.5
LINE = 16.0
PAD = 7.0
GAP = 16.0  # between cohort columns
ARROW = 22.0  # vertical room for an arrow between boxes
FONT_FAMILY = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
NOT_COUNTED = {"n", "n_population", "n_for_power"}


@dataclass
class Box:
    """One box: its lines (text, bold) and whether it lists subjects left out (dashed)."""

    lines: list[tuple[str, bool]]
    excluded: bool = False
    wrapped: list[tuple[str, bool]] = field(default_factory=list)


@lru_cache(maxsize=2)
def _advances(bold: bool) -> dict[int, float]:
    """Advance width in em of every character of DejaVu Sans (the copy bundled with
    matplotlib), read with fontTools: a few hundredths of a second, where importing
    matplotlib's font machinery took several tenths."""
    import importlib.util
    from pathlib import Path

    from fontTools.ttLib import TTFont

    folder = Path(importlib.util.find_spec("matplotlib").submodule_search_locations[0])
    font = TTFont(folder / "mpl-data" / "fonts" / "ttf" / f"DejaVuSans{'-Bold' if bold else ''}.ttf", lazy=True)
    em, metrics = font["head"].unitsPerEm, font["hmtx"]
    return {code: metrics[glyph][0] / em for code, glyph in font.getBestCmap().items()}


def _advance(char: str, bold: bool) -> float:
    """Advance width of one character in em (DejaVu Sans; 1 em if the font lacks the glyph)."""
    return _advances(bold).get(ord(char), 1.0)


def text_width(text: str, bold: bool = False, size: float = FONT) -> float:
    """Width of ``text`` in pixels at ``size``, by DejaVu Sans advances (no kerning: an upper bound)."""
    return sum(_advance(ch, bold) for ch in text) * size * 1.02


def wrap(text: str, width: float, bold: bool = False) -> list[str]:
    """Break ``text`` at spaces into lines no wider than ``width`` px (a word longer than
    the line is cut at characters)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current, bold) > width:  # a word wider than the box: cut it
            cut = len(current)
            while cut > 1 and text_width(current[:cut], bold) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current or not lines:
        lines.append(current)
    return lines


def _left_out_text(row: dict) -> str:
    """``"12 (no follow-up 12)"`` from a ``paired`` row's counts of subjects left out (any
    ``n_*`` count besides ``n``, ``n_population`` and ``n_for_power`` is a reason)."""
    reasons = {k: v for k, v in row.items() if k.startswith("n_") and k not in NOT_COUNTED and isinstance(v, int)}
    total = row["n_population"] - row["n"]
    words = [f"{LEFT_OUT.get(k, k[2:].replace('_', ' '))} {v}" for k, v in reasons.items() if v]
    return f"{total}" + (f" ({', '.join(words)})" if words else "")


def _reasons(counts: dict, words: dict[str, str]) -> str:
    return ", ".join(f"{words.get(k, k)} {v}" for k, v in counts.items() if v)


def flow_steps(results: dict, plan) -> dict:
    """The diagram's content: ``top`` (the records box lines) and ``columns`` (per cohort of
    the plan, the boxes from the cohort's records to those at risk of relapse).

    Returns
    -------
    dict
        ``top``: list of (text, bold); ``columns``: per cohort, a list of :class:`Box`
        (main boxes and dashed boxes of subjects left out, alternating).
    """
    name = results["population"]["name"]
    flow = results["population"]["flow"]
    scale = plan.relapse.scale
    scale_label = next((o.label for o in plan.outcomes if o.scale == scale), scale)
    labels = dict(plan.cohorts)
    total = sum(int(f["records"]) for f in flow)
    parts = []
    for f in flow:
        if f["cohort"] is None:
            parts.append(f"no cohort code {f['records']} (not analysed)")
        elif int(f["cohort"]) not in labels:
            parts.append(f"cohort code {f['cohort']} {f['records']} (not in the plan; not analysed)")
        else:
            parts.append(f"{labels[int(f['cohort'])]} {f['records']}")
    top = [(f"Records in the registry: {total}", True), ("; ".join(parts), False)]

    rel = results["relapse"]
    pop = rel["population"]
    onset = {"responders": "response", "remitters": "remission"}.get(pop["at_risk"])
    who = (
        "every subject of the set, from day 0"
        if onset is None
        else f"{pop['at_risk']}, from " + (f"the onset of {onset}" if pop["origin"] == "onset" else "day 0")
    )
    words = reason_words(pop["at_risk"], plan)
    left_baseline = (results.get("time_to_response") or {}).get("left_out", {})
    columns = []
    for code, label in plan.cohorts:
        f = next((x for x in flow if x["cohort"] is not None and int(x["cohort"]) == code), None)
        if f is None:
            continue
        records, eligible, included = int(f["records"]), int(f["eligible"]), int(f["included"])
        no_baseline = int(left_baseline.get(str(code), {}).get("no baseline", 0))
        boxes = [
            Box([(label, True), (f"Records: {records} (eligible: {eligible})", False)]),
            Box([(f"Not in the {name} set: {records - included}", False)], excluded=True),
            Box([(f"{set_name(results)} set: {included}", True)]),
            Box([(f"No baseline {scale_label}: {no_baseline}", False)], excluded=True),
            Box([(f"With a baseline {scale_label}: {included - no_baseline}", True)]),
        ]
        for visit in plan.followup_visits:
            row = next(
                (r for r in results["paired"] if r["cohort"] == code and r["scale"] == scale and r["visit"] == visit),
                None,
            )
            if row is None:
                continue
            visit_label = plan.visit_label(visit)
            boxes.append(Box([(f"Left out at {visit_label}: {_left_out_text(row)}", False)], excluded=True))
            boxes.append(
                Box([(f"{scale_label} change analysed at {visit_label}: {row['n']} of {row['n_population']}", True)])
            )
        at_risk = sum(1 for s in rel["subjects"] if s["cohort"] == code)
        not_at_risk = int(pop["not_at_risk"].get(str(code), 0))
        why = _reasons(pop.get("not_at_risk_reasons", {}).get(str(code), {}), words)
        boxes.append(Box([(f"Not at risk of relapse: {not_at_risk}" + (f" ({why})" if why else ""), False)], True))
        boxes.append(Box([(f"At risk of relapse: {at_risk}", True), (f"({who})", False)]))
        columns.append(boxes)
    return {"top": top, "columns": columns}


def flow_text(results: dict, plan) -> dict:
    """The diagram as text for report.md: ``top`` (the records line, its cohort breakdown)
    and ``cohorts``, per cohort its ``label`` and ``steps``: each step's ``text`` (a main
    box) and ``left_out`` (the dashed boxes after it: subjects not carried to the next step).
    """
    steps = flow_steps(results, plan)
    cohorts = []
    for boxes in steps["columns"]:
        first, *rest = boxes
        entries = [{"text": " ".join(t for t, _ in first.lines[1:]), "left_out": []}]
        for box in rest:
            text = " ".join(t for t, _ in box.lines)
            if box.excluded:
                entries[-1]["left_out"].append(text)
            else:
                entries.append({"text": text, "left_out": []})
        cohorts.append({"label": first.lines[0][0], "steps": entries})
    return {"top": [t for t, _ in steps["top"]], "cohorts": cohorts}


def _text(x: float, y: float, lines: list[tuple[str, bool]]) -> list[str]:
    out = []
    for i, (line, bold) in enumerate(lines):
        weight = ' font-weight="bold"' if bold else ""
        out.append(f'<text x="{x:.1f}" y="{y + PAD + FONT + i * LINE:.1f}"{weight}>{escape(line)}</text>')
    return out


def _fit(box: Box, width: float) -> float:
    """Wrap the box's lines to ``width`` (inner) and return the box's height."""
    box.wrapped = [(part, bold) for text, bold in box.lines for part in wrap(text, width - 2 * PAD, bold)]
    return 2 * PAD + (len(box.wrapped) - 1) * LINE + FONT + 3


def render_flow_svg(results: dict, plan) -> Markup:
    """The flow diagram as an ``<svg>`` element (safe to insert in the HTML report).

    The records box spans the width; below it one column per cohort: main boxes full
    width, boxes of subjects left out (dashed) indented right of the column's arrow.
    """
    steps = flow_steps(results, plan)
    columns = steps["columns"]
    k = max(len(columns), 1)
    col_w = (WIDTH - 2 - GAP * (k - 1)) / k
    indent = min(40.0, col_w / 6)
    top = Box(steps["top"])
    top_h = _fit(top, WIDTH - 2)
    parts = [
        f'<rect x="1" y="1" width="{WIDTH - 2}" height="{top_h:.1f}" class="box"/>',
        *_text(1 + PAD, 1, top.wrapped),
    ]
    rows = max((len(c) for c in columns), default=0)
    heights = [
        max((_fit(c[i], col_w - (indent if c[i].excluded else 0)) for c in columns if i < len(c)), default=0.0)
        for i in range(rows)
    ]
    y_of = [1 + top_h + ARROW + sum(heights[:i]) + ARROW * i for i in range(rows)]
    for j, c in enumerate(columns):
        x = 1 + j * (col_w + GAP)
        mid = x + indent / 2
        split, first = 1 + top_h + ARROW / 2, y_of[0] - 1
        parts.append(f'<path d="M{WIDTH / 2:.1f},{1 + top_h:.1f} V{split:.1f} H{mid:.1f} V{first:.1f}" class="arrow"/>')
        for i, box in enumerate(c):
            y, h = y_of[i], heights[i]
            if box.excluded:
                bx = x + indent
                parts.append(f'<path d="M{mid:.1f},{y + h / 2:.1f} H{bx - 1:.1f}" class="arrow"/>')
                parts.append(
                    f'<rect x="{bx:.1f}" y="{y:.1f}" width="{col_w - indent:.1f}" height="{h:.1f}" class="box out"/>'
                )
                parts += _text(bx + PAD, y, box.wrapped)
            else:
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" class="box"/>')
                parts += _text(x + PAD, y, box.wrapped)
                after = next((n for n in range(i + 1, len(c)) if not c[n].excluded), None)
                if after is not None:  # the column's arrow, down past the boxes of those left out
                    parts.insert(0, f'<path d="M{mid:.1f},{y + h:.1f} V{y_of[after] - 1:.1f}" class="arrow"/>')
    height = (y_of[-1] + heights[-1] if rows else top_h) + 2
    title = f"Flow of subjects: records, {results['population']['name']} set, analysed, at risk of relapse"
    style = (  # scoped to the diagram: an inline <svg>'s style sheet applies to the whole page
        "svg.flow .box{fill:#fff;stroke:#555;stroke-width:1} svg.flow .out{fill:#f5f5f5;stroke-dasharray:4 3} "
        "svg.flow .arrow{fill:none;stroke:#555;stroke-width:1.2;marker-end:url(#flow-arrow)} "
        f"svg.flow text{{font-family:{FONT_FAMILY};font-size:{FONT}px;fill:#222}}"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-labelledby="flow-title">'
        f'<title id="flow-title">{escape(title)}</title><style>{style}</style>'
        '<defs><marker id="flow-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>' + "".join(parts) + "</svg>"
    )
    return Markup(svg)
