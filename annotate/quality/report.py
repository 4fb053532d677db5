"""The agreement report as one self-contained HTML page: inline SVG charts, inline CSS, nothing fetched.

Charts are drawn here as SVG text so the page opens anywhere, offline, with no
script at all: bars of F1 per entity label and per event type, the label confusion as a
heat map, and the articles with the lowest agreement linked to their Label Studio task.
"""

from __future__ import annotations

from html import escape
from typing import Any

from annotate.quality.agreement import AgreementReport

BAR_HEIGHT = 14
BAR_GAP = 4
LABEL_WIDTH = 170
PLOT_WIDTH = 360
CELL = 30
LOWEST_ARTICLES = 15

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.muted { color: #666; } table { border-collapse: collapse; margin: .5rem 0; }
td, th { padding: .2rem .6rem; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .5rem .9rem; min-width: 8rem; }
.card b { display: block; font-size: 1.4rem; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: middle; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
.maps { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; } figcaption { font-weight: 600; }
"""

SERIES_COLOURS = ("#3b6fb6", "#e69f00")


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def bar_chart(title: str, rows: dict[str, dict[str, Any]], series: tuple[tuple[str, str], ...]) -> str:
    """Horizontal grouped bars of F1 (0 to 1) per label; `series` names (key, caption) inside each row."""
    if not rows:
        return f'<p class="muted">No {escape(title.lower())} to compare.</p>'
    group = len(series) * (BAR_HEIGHT + BAR_GAP) + 8
    height = len(rows) * group + 24
    parts = [
        f'<svg class="chart bars" role="img" aria-label="{escape(title)}" width="{LABEL_WIDTH + PLOT_WIDTH + 60}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in (0, 0.5, 1):
        x = LABEL_WIDTH + tick * PLOT_WIDTH
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 18}" stroke="#ccc"/>')
        parts.append(f'<text x="{x}" y="{height - 4}" text-anchor="middle">{tick:g}</text>')
    for index, (label, row) in enumerate(rows.items()):
        top = index * group
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{top + group / 2}" text-anchor="end">{escape(label)}</text>')
        for offset, ((key, caption), colour) in enumerate(zip(series, SERIES_COLOURS, strict=False)):
            figures = row.get(key) or {}
            value = figures.get("f1")
            y = top + offset * (BAR_HEIGHT + BAR_GAP)
            width = (value or 0) * PLOT_WIDTH
            counts = f"{figures.get('matched', 0)} matched of {figures.get('units_a', 0)} + {figures.get('units_b', 0)}"
            tip = f"{label} {caption}: F1 {fmt(value)} ({counts})"
            parts.append(
                f'<rect class="bar" data-label="{escape(label)}" data-series="{escape(key)}" x="{LABEL_WIDTH}" y="{y}" '
                f'width="{width:.1f}" height="{BAR_HEIGHT}" fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
            parts.append(f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + BAR_HEIGHT - 3}">{fmt(value)}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span style="background:{colour}"></span>{escape(caption)}'
        for (_, caption), colour in zip(series, SERIES_COLOURS, strict=False)
    )
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def heat_map(title: str, matrix: dict[str, Any]) -> str:
    """Cells coloured by count: agreement (diagonal) in green, swaps between labels in red."""
    labels, counts = matrix.get("labels") or [], matrix.get("counts") or []
    if not labels:
        return f'<p class="muted">No {escape(title.lower())} to compare.</p>'
    # Column names are written slanted above the grid; leave room for the longest one.
    longest = max(len(label) for label in labels)
    left, top = LABEL_WIDTH, min(LABEL_WIDTH, 6 * longest + 16)
    width, height = left + CELL * len(labels) + 4 * longest + 10, top + CELL * len(labels) + 10
    largest = max((c for row in counts for c in row), default=0) or 1
    parts = [
        f'<svg class="chart heatmap" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, label in enumerate(labels):
        centre = i * CELL + CELL / 2
        parts.append(f'<text x="{left - 6}" y="{top + centre + 4}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<text transform="translate({left + centre + 4},{top - 6}) rotate(-60)">{escape(label)}</text>')
    for i, row_label in enumerate(labels):
        for j, col_label in enumerate(labels):
            count = counts[i][j]
            hue = 130 if i == j else 5
            light = 97 - 55 * (count / largest) if count else 99
            x, y = left + j * CELL, top + i * CELL
            parts.append(
                f'<rect class="cell" data-row="{escape(row_label)}" data-col="{escape(col_label)}" '
                f'data-count="{count}" '
                f'x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" '
                f'fill="hsl({hue},65%,{light:.0f}%)">'
                f"<title>{escape(row_label)} / {escape(col_label)}: {count}</title></rect>"
            )
            if count:
                parts.append(f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" text-anchor="middle">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cards(overall: dict[str, Any]) -> str:
    names = (
        ("entity_f1_exact", "Entity F1, exact"),
        ("entity_f1_partial", "Entity F1, partial"),
        ("trigger_f1", "Trigger F1"),
        ("argument_f1", "Argument F1"),
        ("entity_label_alpha", "α entity labels"),
        ("event_type_alpha", "α event types"),
    )
    cards = [f'<div class="card">{escape(caption)}<b>{fmt(overall.get(key))}</b></div>' for key, caption in names]
    for name, value in (overall.get("attribute_alpha") or {}).items():
        cards.append(f'<div class="card">α {escape(name)}<b>{fmt(value)}</b></div>')
    return '<div class="cards">' + "".join(cards) + "</div>"


PAIR_COLUMNS = (
    ("entity_f1_exact", "Entity exact"),
    ("entity_f1_partial", "Entity partial"),
    ("trigger_f1", "Trigger"),
    ("argument_f1", "Argument"),
    ("entity_label_alpha", "α labels"),
    ("event_type_alpha", "α types"),
)
ARTICLE_COLUMNS = (
    ("f1", "F1 pooled"),
    ("entity_f1_exact", "Entities"),
    ("trigger_f1", "Triggers"),
    ("argument_f1", "Arguments"),
)


def _table(first: str, counted: str, columns: tuple, rows: list[tuple[str, Any, dict]], css: str = "") -> str:
    """A table: a text column, a count column, then the figures named by `columns`."""
    head = f"<tr><th>{escape(first)}</th><th class=num>{escape(counted)}</th>"
    head += "".join(f"<th class=num>{escape(caption)}</th>" for _, caption in columns) + "</tr>"
    body = [
        f"<tr><td>{cell}</td><td class=num>{count}</td>"
        + "".join(f"<td class=num>{fmt(figures.get(key))}</td>" for key, _ in columns)
        + "</tr>"
        for cell, count, figures in rows
    ]
    return f'<table class="{css}">{head}{"".join(body)}</table>'


def _pairs_table(pairs: list[dict[str, Any]]) -> str:
    rows = [(escape(" · ".join(p["annotators"])), p["articles"], p) for p in pairs]
    return _table("Annotators", "Articles", PAIR_COLUMNS, rows, "pairs")


def _articles_table(articles: list[dict[str, Any]]) -> str:
    if not articles:
        return '<p class="muted">No article was annotated by two annotators yet.</p>'
    rows = []
    for article in articles[:LOWEST_ARTICLES]:
        name = escape(article.get("title") or article["article_id"])
        link = f'<a class="task" href="{escape(article["url"])}">{name}</a>' if article.get("url") else name
        rows.append((link, article["annotators"], article))
    return _table("Article (opens the task in Label Studio)", "Annotators", ARTICLE_COLUMNS, rows, "articles")


def render_html(report: AgreementReport) -> str:
    """The whole page."""
    overall = report.overall
    sections = [
        f"<h1>Inter-annotator agreement · {escape(report.project)}</h1>",
        f'<p class="muted">{overall.get("articles", 0)} article(s) compared by {overall.get("pairs", 0)} pair(s) of '
        f'{overall.get("annotators", 0)} annotator(s); {report.excluded.get("cancelled_annotations", 0)} cancelled '
        f"annotation(s) left out; source: {escape(report.source)}. F1 is micro-averaged over articles.</p>",
        _cards(overall),
        "<h2>Entity labels</h2>",
        bar_chart("Entity labels", report.entity_labels, (("exact", "exact span"), ("partial", "overlapping span"))),
        "<h2>Event types</h2>",
        bar_chart("Event types", report.event_types, (("trigger", "trigger"), ("argument", "arguments"))),
        "<h2>Which labels annotators swap</h2>",
        "<p class=\"muted\">Spans both marked, by one annotator's label (row) and the other's (column); "
        f"{escape('(none)')} is a span only one of them marked. A disagreement counts in both of its cells.</p>",
        '<div class="maps"><figure><figcaption>Entity labels</figcaption>',
        heat_map("Entity label confusion", report.confusion.get("entities", {})),
        "</figure><figure><figcaption>Event types</figcaption>",
        heat_map("Event type confusion", report.confusion.get("events", {})),
        "</figure></div>",
        "<h2>Pairs of annotators</h2>",
        _pairs_table(report.pairs),
        "<h2>Articles with the lowest agreement</h2>",
        _articles_table(report.articles),
    ]
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Agreement · {escape(report.project)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def render_text(report: AgreementReport) -> str:
    """A terminal summary: overall figures, then per pair, label and event type."""
    overall = report.overall
    lines = [
        f"Agreement on {report.project!r} from {report.source}: {overall.get('articles', 0)} article(s), "
        f"{overall.get('pairs', 0)} pair(s) of annotators; {report.excluded.get('cancelled_annotations', 0)} cancelled "
        f"and {report.excluded.get('invalid_annotations', 0)} invalid annotation(s) left out.",
        f"  entity F1 exact {fmt(overall.get('entity_f1_exact'))}, partial {fmt(overall.get('entity_f1_partial'))}; "
        f"trigger F1 {fmt(overall.get('trigger_f1'))}; argument F1 {fmt(overall.get('argument_f1'))}",
        f"  alpha: entity labels {fmt(overall.get('entity_label_alpha'))}, "
        f"event types {fmt(overall.get('event_type_alpha'))}, "
        + ", ".join(f"{name} {fmt(value)}" for name, value in (overall.get("attribute_alpha") or {}).items()),
        "Pairs:",
    ]
    for pair in report.pairs:
        lines.append(
            f"  {' · '.join(pair['annotators'])}  {pair['articles']} article(s)  "
            f"entities {fmt(pair['entity_f1_exact'])}/{fmt(pair['entity_f1_partial'])}  "
            f"triggers {fmt(pair['trigger_f1'])}  arguments {fmt(pair['argument_f1'])}"
        )
    lines.append("Entity labels (F1 exact / partial):")
    for label, row in report.entity_labels.items():
        lines.append(f"  {label:<12} {fmt(row.get('exact', {}).get('f1'))} / {fmt(row.get('partial', {}).get('f1'))}")
    lines.append("Event types (F1 trigger / arguments):")
    for label, row in report.event_types.items():
        lines.append(
            f"  {label:<22} {fmt(row.get('trigger', {}).get('f1'))} / {fmt(row.get('argument', {}).get('f1'))}"
        )
    return "\n".join(lines)
