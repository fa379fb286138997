"""The HTML report's layout, as a reader on a narrow screen or on paper meets it: every table
scrolls inside its wrapper, the CONSORT flow diagram carries the counts of results.json and
its text stays inside its boxes, the power column lives in the planning appendix only, the
analysis set is named as the plan names it, and the page has print rules."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from adam_fixtures import sample_registry
from analysis_registry import build_registry, plan_variant, reference_subjects

from registry.report.flow_diagram import FONT, PAD, text_width
from registry.workflow import analyze


class Page(HTMLParser):
    """Tables with the classes of their enclosing elements; SVG rects and texts; h2 headings."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.tables: list[list[tuple[str, str]]] = []
        self.rects: list[dict] = []
        self.texts: list[dict] = []
        self.h2: list[str] = []
        self._text: dict | None = None
        self._h2: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append(list(self.stack))
        if tag == "rect":
            self.rects.append({k: float(a[k]) for k in ("x", "y", "width", "height")})
        if tag == "text":
            self._text = {"x": float(a["x"]), "y": float(a["y"]), "bold": a.get("font-weight") == "bold", "s": ""}
        if tag == "h2":
            self._h2 = []
        if tag not in ("rect", "path", "img", "br", "meta"):
            self.stack.append((tag, a.get("class") or ""))

    def handle_endtag(self, tag):
        if tag == "text" and self._text is not None:
            self.texts.append(self._text)
            self._text = None
        if tag == "h2" and self._h2 is not None:
            self.h2.append("".join(self._h2).strip())
            self._h2 = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._text is not None:
            self._text["s"] += data
        if self._h2 is not None:
            self._h2.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db, results = sample_registry(tmp_path_factory.mktemp("layout"))
    out = db.parent / "analysis"
    return results, (out / "report.html").read_text(), (out / "report.md").read_text()


def svg_of(html: str) -> str:
    match = re.search(r'<svg [^>]*class="flow".*?</svg>', html, flags=re.S)
    assert match, "no flow diagram"
    return match.group(0)


def test_every_table_scrolls_inside_a_wrapper_so_nothing_is_cut_at_800_px(sample):
    _, html, _ = sample
    page = parse(html)
    assert len(page.tables) > 10
    for ancestors in page.tables:
        assert ancestors[-1] == ("div", "scroll") or ("div", "scroll") in ancestors, ancestors
    assert re.search(r"\.scroll\s*\{[^}]*overflow-x:\s*auto", html)


def test_the_flow_diagram_shows_the_counts_of_results_json_at_each_step(sample):
    results, html, _ = sample
    svg = svg_of(html)
    lines = [t["s"] for t in parse(svg).texts]
    text = " ".join(lines)
    flow = {f["cohort"]: f for f in results["population"]["flow"]}
    assert f"Records in the registry: {sum(f['records'] for f in flow.values())}" in lines
    rel = results["relapse"]
    for code, label in results["population"]["cohorts"].items():
        f = flow[int(code)]
        assert label in text
        assert f"Records: {f['records']} (eligible: {f['eligible']})" in text
        assert f"Per-protocol set: {f['included']}" in text
        assert f"Not in the per-protocol set: {f['records'] - f['included']}" in text
        for p in results["paired"]:
            if p["cohort"] == int(code) and p["scale"] == "madrs":
                visit = {"week_8_arm_1": "Week 8", "week_16_arm_1": "Week 16"}[p["visit"]]
                assert f"MADRS change analysed at {visit}: {p['n']} of {p['n_population']}" in text
                assert f"Left out at {visit}: {p['n_population'] - p['n']}" in text
        not_at_risk = rel["population"]["not_at_risk"][code]
        at_risk = sum(1 for s in rel["subjects"] if s["cohort"] == int(code))
        assert f"Not at risk of relapse: {not_at_risk}" in text and f"At risk of relapse: {at_risk}" in text
        assert at_risk + not_at_risk == f["included"]
    assert "never responded" in text  # the reason, in words


def test_the_markdown_report_has_the_flow_diagram_as_numbered_steps(sample):
    results, html, md = sample
    flow = md[md.index("### Flow of subjects") : md.index("## Change from baseline")]
    total = sum(f["records"] for f in results["population"]["flow"])
    assert f"**Records in the registry: {total}**" in flow
    boxes = {t["s"] for t in parse(svg_of(html)).texts}
    for code, label in results["population"]["cohorts"].items():
        part = flow[flow.index(f"\n{label}:\n") :]
        f = next(x for x in results["population"]["flow"] if x["cohort"] == int(code))
        at_risk = sum(1 for s in results["relapse"]["subjects"] if s["cohort"] == int(code))
        assert f"1. **Records: {f['records']} (eligible: {f['eligible']})**" in part
        assert f"   - Not in the per-protocol set: {f['records'] - f['included']}" in part
        assert f"2. **Per-protocol set: {f['included']}**" in part
        assert f"**At risk of relapse: {at_risk} (" in part
    # the same steps as the HTML diagram's boxes
    assert all(b in flow for b in boxes if b.startswith(("Records:", "Per-protocol set:", "Not at risk")))


def test_every_line_of_the_flow_diagram_fits_inside_its_box(sample):
    _, html, _ = sample
    svg = parse(svg_of(html))
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg_of(html))
    width, height = float(view.group(1)), float(view.group(2))
    assert len(svg.texts) > 20
    for t in svg.texts:
        box = [
            r
            for r in svg.rects
            if r["x"] <= t["x"] <= r["x"] + r["width"] and r["y"] < t["y"] - FONT / 2 < r["y"] + r["height"]
        ]
        assert len(box) == 1, t
        r = box[0]
        assert t["x"] - r["x"] >= PAD - 0.01
        assert t["x"] + text_width(t["s"], t["bold"]) <= r["x"] + r["width"] - PAD + 0.01, t
        assert t["y"] + 4 <= r["y"] + r["height"], t  # descenders stay inside
    assert all(r["x"] >= 0 and r["x"] + r["width"] <= width and r["y"] + r["height"] <= height for r in svg.rects)


def test_the_power_column_is_only_in_the_planning_appendix_at_the_end(sample):
    results, html, md = sample
    page = parse(html)
    assert page.h2[-1].startswith("Appendix: planning")
    main, appendix = html.split("<h2>Appendix: planning", 1)
    assert "power" not in re.sub(
        r"<p class=\"note\">.*?</p>", "", main.split("<h2>Change from baseline")[1].split("<h2>")[0]
    )
    assert "n for 80% power" in appendix
    mains, app = md.split("## Appendix: planning", 1)
    assert "n for 80% power" not in mains.split("## Change from baseline")[1].split("\n## ")[0]
    for p in results["paired"]:
        if p["n_for_power"] is not None:
            assert f"| {p['n']} | {p['cohens_dz']:.2f} | {p['n_for_power']} |".replace("-", "−") in app


def test_the_page_has_print_rules_for_tables_figures_and_collapsed_details(sample):
    _, html, _ = sample
    style = html.split("<style>")[1].split("</style>")[0]
    printing = style[style.index("@media print") :]
    for rule in ("break-inside: avoid", "details::details-content", "font-size", "break-after: avoid"):
        assert rule in printing, rule
    assert "<details" in html
    for kind in ("flow", "figure"):  # every drawing scales down to the screen
        assert re.search(kind.join((r"svg\.", r"\s*\{[^}]*max-width:\s*100%")), style), kind


def test_the_analysis_set_is_named_as_the_plan_names_it(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    plan = plan_variant(tmp_path, ('name = "per-protocol"', 'name = "full analysis"'))
    analyze(db, plan, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    md = (tmp_path / "out" / "report.md").read_text()
    for text in (html, md):
        assert "per-protocol" not in text.lower()
        assert "Full analysis set" in text or "full analysis set" in text
    assert "Full analysis set: 12" in svg_of(html)
    assert "| Cohort | Records | Eligible | Full analysis set |" in md
