"""The agreement report saved and shown: JSON, one self-contained HTML page, a terminal summary.

`save_report` writes both files; the library's `agreement()` only computes. Charts are
drawn here as SVG text so the page opens anywhere, offline, with no script at all: bars
of F1 per entity label, event type, role and annotator against the gold, the label
confusion as a heat map, and the articles with the lowest agreement with their Label
Studio task (a link, unless the server was on a loopback address no other machine
reaches). Every figure carries its confidence interval and the name of its definition.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from annotate.core.urls import only_this_machine
from annotate.core.workspace import slugify
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
table { display: block; overflow-x: auto; max-width: 100%; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .5rem .9rem; min-width: 8rem; }
.card b { display: block; font-size: 1.4rem; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: middle; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
.maps { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; } figcaption { font-weight: 600; }
.card small { color: #666; } .flag { color: #a33; } dt { font-weight: 600; margin-top: .4rem; } dd { margin-left: 1rem; }
"""  # noqa: E501 - the style sheet, as the page gets it

SERIES_COLOURS = ("#3b6fb6", "#e69f00")


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def bar_chart(title: str, rows: dict[str, dict[str, Any]], series: tuple[tuple[str, str], ...]) -> str:
    """Horizontal grouped bars of F1 (0 to 1) per label; `series` names (key, caption) inside each row."""
    if not rows:
        return f'<p class="muted">No {escape(title.lower())} to compare.</p>'
    group = len(series) * (BAR_HEIGHT + BAR_GAP) + 8
    height = len(rows) * group + 24
    parts = [
        (
            f'<svg class="chart bars" role="img" aria-label="{escape(title)}" width="{LABEL_WIDTH + PLOT_WIDTH + 60}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
        )
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
            counts = f"{figures.get('correct', 0)} correct of {figures.get('possible', 0)} / {figures.get('actual', 0)}"
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
        (
            f'<svg class="chart heatmap" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
            'xmlns="http://www.w3.org/2000/svg">'
        )
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


def fmt_ci(ci: list[float] | None) -> str:
    return "" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _cards(headline: list[dict[str, Any]], definitions: dict[str, str]) -> str:
    cards = [
        f'<div class="card" data-figure="{escape(row["name"])}" '
        f'title="{escape(definitions.get(row["definition"], ""))}">'
        f"{escape(row['caption'])}<b>{fmt(row['value'])}</b><small>{fmt_ci(row.get('ci'))}</small></div>"
        for row in headline
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _table(
    first: str,
    counted: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[tuple[str, Any, dict[str, Any]]],
    css: str = "",
) -> str:
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


MEASURE_COLUMNS = (
    ("strict", "Entity strict"),
    ("partial", "Entity partial"),
    ("trigger_identification", "Trigger I"),
    ("trigger_classification", "Trigger C"),
    ("argument_identification", "Arg I"),
    ("argument_classification", "Arg C"),
    ("argument_classification_attached", "Arg C+"),
)
ARTICLE_COLUMNS = (
    ("f1", "F1 pooled"),
    ("strict_f1", "Entities strict"),
    ("trigger_classification_f1", "Triggers C"),
    ("argument_classification_f1", "Arguments C"),
)


def _f1s(row: dict[str, Any]) -> dict[str, Any]:
    """measure name → F1 of a row holding `entities` and `events` figures, with its alphas beside."""
    figures = {name: f["f1"] for group in ("entities", "events") for name, f in (row.get(group) or {}).items()}
    return {**figures, **(row.get("alpha") or {})}


def _alpha_caption(name: str) -> str:
    """ "entity_label_alpha" → "α labels", "attribute_alpha:tense" → "α tense"."""
    short = {"entity_label_alpha": "labels", "event_type_alpha": "types"}
    return "α " + short.get(name, name.removeprefix("attribute_alpha:"))


def _pairs_table(pairs: list[dict[str, Any]], alpha_names: list[str]) -> str:
    rows = [(escape(" · ".join(p["annotators"])), p["articles"], _f1s(p)) for p in pairs]
    columns = MEASURE_COLUMNS + tuple((name, _alpha_caption(name)) for name in alpha_names)
    return _table("Annotators", "Articles", columns, rows, "pairs")


def _gold_section(against_gold: list[dict[str, Any]]) -> str:
    if not against_gold:
        return (
            '<p class="muted">No gold yet: run <code>annotate adjudicate</code> to compare each annotator with it.</p>'
        )
    rows = [(escape(row["annotator"]), row["articles"], _f1s(row)) for row in against_gold]
    bars = {
        row["annotator"]: {"strict": row["entities"]["strict"], "trigger": row["events"]["trigger_classification"]}
        for row in against_gold
    }
    return (
        '<p class="muted">Gold is the reference: precision is how much of what the annotator marked the gold has, '
        "recall how much of the gold the annotator marked. Where the gold was merged from these annotators' "
        "agreed units, it favours them.</p>"
        + _table("Annotator (pseudonym)", "Articles", MEASURE_COLUMNS, rows, "gold")
        + bar_chart(
            "Annotators against gold", bars, (("strict", "entities, strict"), ("trigger", "triggers, classified"))
        )
    )


def _attributes_table(attributes: dict[str, Any]) -> str:
    if not attributes:
        return '<p class="muted">The scheme declares no attributes.</p>'
    head = (
        "<tr><th>Attribute</th><th class=num>α</th><th>95% interval</th><th class=num>Raw agreement</th>"
        "<th class=num>Paired events</th><th>Values</th><th>Note</th></tr>"
    )
    body = []
    for name, row in attributes.items():
        values = ", ".join(f"{escape(str(v))} {n}" for v, n in (row.get("values") or {}).items())
        note = f'<span class="flag">{escape(row["rare_values"])}</span>' if row.get("rare_values") else ""
        body.append(
            f'<tr data-attribute="{escape(name)}"><td>{escape(name)}</td><td class=num>{fmt(row.get("alpha"))}</td>'
            f"<td>{fmt_ci(row.get('ci'))}</td><td class=num>{fmt(row.get('raw_agreement'))}</td>"
            f"<td class=num>{row.get('paired_events', 0)}</td><td>{values}</td><td>{note}</td></tr>"
        )
    return f'<table class="attributes">{head}{"".join(body)}</table>'


def _articles_table(articles: list[dict[str, Any]]) -> str:
    if not articles:
        return '<p class="muted">No article was annotated by two annotators yet.</p>'
    shown = articles[:LOWEST_ARTICLES]
    rows = [(_article_cell(article), article["annotators"], article) for article in shown]
    linked = any(_reachable(article.get("url")) for article in shown)
    heading = "Article (opens the task in Label Studio)" if linked else "Article and its Label Studio task"
    table = _table(heading, "Annotators", ARTICLE_COLUMNS, rows, "articles")
    local = sorted({_server_of(a["url"]) for a in shown if a.get("url") and not _reachable(a["url"])})
    if not local:
        return table
    where = ", ".join(escape(server) for server in local)
    return table + (
        f'<p class="muted local">Tasks are shown by number, not linked: the report was made with the Label Studio '
        f"at {where}, an address only the machine that made it reaches. There, a task is "
        "…/projects/&lt;project&gt;/data?task=&lt;number&gt;.</p>"
    )


def _article_cell(article: dict[str, Any]) -> str:
    """The article's title, linked to its task only where any reader can follow the link; else the task number."""
    name = escape(article.get("title") or article["article_id"])
    url, task = article.get("url"), article.get("task_id")
    if _reachable(url):
        return f'<a class="task" href="{escape(str(url))}">{name}</a>'
    if task is None:
        return name
    return f'{name} <span class="task muted">task {escape(str(task))}</span>'


def _reachable(url: Any) -> bool:
    return isinstance(url, str) and bool(url) and not only_this_machine(url)


def _server_of(url: str) -> str:
    return url.split("/projects/", 1)[0]


def _gamma_note(overall: dict[str, Any]) -> str:
    gamma = overall.get("entity_gamma")
    if not gamma:
        return ""
    if gamma.get("skipped"):
        return f'<p class="gamma muted">Gamma over entity spans was not computed: {escape(gamma["skipped"])}.</p>'
    return (
        f'<p class="gamma">Gamma over entity spans: <b>{fmt(gamma.get("value"))}</b> on {gamma.get("articles", 0)} '
        f"article(s) every annotator annotated (chance sampling seed {gamma.get('seed')}). Unlike F1 it is corrected "
        "for chance and gives partial credit to spans that overlap or differ in label, so it compares across corpora "
        "of other span densities; 1 is perfect agreement, 0 what chance gives.</p>"
    )


def _definitions(definitions: dict[str, str]) -> str:
    items = "".join(f"<dt>{escape(name)}</dt><dd>{escape(text)}</dd>" for name, text in definitions.items())
    return f'<dl class="definitions">{items}</dl>'


def render_html(report: AgreementReport) -> str:
    """The whole page."""
    data = report.as_dict()
    overall, boot = report.overall, report.bootstrap
    alpha_names = [row["name"] for row in report.headline if row["definition"].endswith("_alpha")]
    sections = [
        f"<h1>Inter-annotator agreement · {escape(report.project)}</h1>",
        (
            f'<p class="muted">{overall.get("articles", 0)} article(s) compared by '
            f'{overall.get("pairs", 0)} pair(s) of '
            f"{overall.get('annotators', 0)} annotator(s); {report.excluded.get('cancelled_annotations', 0)} cancelled "
            f"annotation(s) left out; source: {escape(report.source)}. F1 is micro-averaged over articles and pairs; "
            f"intervals are {boot.get('confidence', 0):.0%} percentile bootstraps over articles "
            f"({boot.get('resamples')} resamples, seed {boot.get('seed')}). Hover a figure for its definition.</p>"
        ),
        _cards(report.headline, data["definitions"]),
        _gamma_note(overall),
        "<h2>Entity labels</h2>",
        bar_chart(
            "Entity labels", report.entity_labels, (("strict", "strict"), ("type", "type (overlap, same label)"))
        ),
        "<h2>Event types</h2>",
        bar_chart(
            "Event types",
            report.event_types,
            (
                ("trigger_classification", "trigger classification"),
                ("argument_classification", "argument classification"),
            ),
        ),
        "<h2>Roles</h2>",
        bar_chart(
            "Roles",
            report.roles,
            (("argument_classification", "argument classification"), ("argument_classification_attached", "attached")),
        ),
        "<h2>Attributes, on paired events</h2>",
        _attributes_table(overall.get("attributes") or {}),
        "<h2>Each annotator against the gold</h2>",
        _gold_section(report.against_gold),
        "<h2>Which labels annotators swap</h2>",
        (
            '<p class="muted">Entity labels on identical spans and event types on paired events, by one annotator\'s '
            f"label (row) and the other's (column); {escape('(none)')} is a unit only one of them marked. "
            "A disagreement "
            "counts in both of its cells.</p>"
        ),
        '<div class="maps"><figure><figcaption>Entity labels</figcaption>',
        heat_map("Entity label confusion", report.confusion.get("entities", {})),
        "</figure><figure><figcaption>Event types</figcaption>",
        heat_map("Event type confusion", report.confusion.get("events", {})),
        "</figure></div>",
        "<h2>Pairs of annotators</h2>",
        _pairs_table(report.pairs, alpha_names),
        "<h2>Articles with the lowest agreement</h2>",
        _articles_table(report.articles),
        "<h2>Definitions</h2>",
        _definitions(data["definitions"]),
    ]
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Agreement · {escape(report.project)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _three_f1s(row: dict[str, Any]) -> str:
    """A pair's or an annotator's articles, then entity strict / trigger / argument classification F1."""
    f1 = _f1s(row)
    return (
        f"{row['articles']} article(s)  {fmt(f1['strict'])} / "
        f"{fmt(f1['trigger_classification'])} / {fmt(f1['argument_classification'])}"
    )


def render_text(report: AgreementReport) -> str:
    """A terminal summary: the headline figures with their intervals, then per pair and against gold."""
    overall, boot = report.overall, report.bootstrap
    lines = [
        (
            f"Agreement on {report.project!r} from {report.source}: {overall.get('articles', 0)} article(s), "
            f"{overall.get('pairs', 0)} pair(s) of {overall.get('annotators', 0)} annotator(s); "
            f"{report.excluded.get('cancelled_annotations', 0)} cancelled and "
            f"{report.excluded.get('invalid_annotations', 0)} invalid annotation(s) left out."
        ),
        (
            f"Intervals: {boot.get('confidence', 0):.0%} bootstrap over articles, {boot.get('resamples')} resamples, "
            f"seed {boot.get('seed')}."
        ),
    ]
    for row in report.headline:
        lines.append(f"  {row['caption']:<42} {fmt(row['value'])}  {fmt_ci(row.get('ci'))}")
    for name, row in (overall.get("attributes") or {}).items():
        if row.get("rare_values"):
            lines.append(f"  note, {name}: {row['rare_values']}")
    lines.append("Pairs (entity strict / trigger classification / argument classification F1):")
    for pair in report.pairs:
        lines.append(f"  {' · '.join(pair['annotators'])}  {_three_f1s(pair)}")
    if report.against_gold:
        lines.append("Against the gold (entity strict / trigger classification / argument classification F1):")
        for row in report.against_gold:
            lines.append(f"  {row['annotator']}  {_three_f1s(row)}")
    return "\n".join(lines)


def save_report(report: AgreementReport, folder: Path) -> list[Path]:
    """Write the JSON and the HTML report to `folder` as <project slug>.json and .html; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    slug = slugify(report.project)
    json_path, html_path = folder / f"{slug}.json", folder / f"{slug}.html"
    json_path.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return [json_path, html_path]
