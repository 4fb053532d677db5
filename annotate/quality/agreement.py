"""Inter-annotator agreement over canonical records: every measure, per pair, over all annotators, against gold.

What is compared: the annotators who completed the same article, with cancelled
(skipped) annotations left out; when one annotator has several annotations of an article,
their latest counts. Units, matches and the F1 measures are those of the matching core
(`annotate.quality.matching`, whose docstring defines them; `DEFINITIONS` names each).
Counts are summed over articles and pairs before a figure is taken (micro-averaging); in
a pair the annotator first in sort order is the reference, which changes no F1.

Chance-corrected measures:
- **Krippendorff's alpha** (nominal, the `krippendorff` package) over all annotators at
  once, annotators who did not annotate a unit's article missing. Units: entity mentions
  on identical spans (value: the label); events paired on identical trigger spans (value:
  the event type); and for each attribute, the paired events (value: the attribute, the
  scheme's default filled in). Across more than two annotators, mentions and events on
  one span are aligned annotator by annotator (`matching.align_units`). Alpha is None
  where it is undefined: no unit with two values, or one value throughout. Per pair, alpha
  is taken on the pair's own units.
- **Gamma** (Mathet, Widlöcher and Métivier 2015, the `pygamma-agreement` package) over the
  entity spans of the articles every compared annotator annotated, laid end to end with a
  gap between articles; combined categorical dissimilarity (alpha 1, beta 1), its chance
  sampling seeded with `GAMMA_SEED` (not computed above `GAMMA_MAX_UNITS` mentions). What it
  adds over F1: it corrects for chance and aligns overlapping spans of different extent or
  label with partial credit, so it is comparable across corpora of other span densities.

Attributes get their alpha with the raw agreement beside it (equal pairs of values within
the paired events over all such pairs) and the count of each value; an alpha under
`LOW_ALPHA` while the values other than the most common make up under `RARE_SHARE` of
all values is flagged: few rare values make alpha swing, whatever the raw agreement.

Each annotator against the gold (when there is gold): the matching core with the gold
record as the reference.

Confidence intervals: a percentile bootstrap over articles (resampled with replacement,
`resamples` times, `seed` reported) for each headline F1 and alpha; the counts and alpha's
coincidence matrices are additive over articles, so a resample sums them.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import math
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np

from annotate.core.errors import AnnotateError, ExportError
from annotate.core.exports import AnnotatedArticle as Article
from annotate.core.exports import group_articles, records_from_file
from annotate.core.records import iter_records
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.urls import redact_url
from annotate.core.workspace import Workspace, normalise_title, project_slug
from annotate.labelstudio.client import connect, find_project, resolve
from annotate.labelstudio.pseudonyms import Pseudonyms
from annotate.labelstudio.passes import MAX_PASSES, pass_title
from annotate.labelstudio.pull import Checkpoint
from annotate.quality import matching
from annotate.quality.matching import ARGUMENT_MEASURES, ENTITY_MEASURES, TRIGGER_MEASURES, Annotation, Comparison

NONE = "(none)"
"""The confusion row/column of a unit one annotator marked and the other did not."""

BOOTSTRAP_SEED = 15
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
GAMMA_SEED = 15
GAMMA_PRECISION = 0.02
GAMMA_GAP = 1000
"""Characters left between articles laid end to end for gamma, beyond any span's reach."""
GAMMA_MAX_UNITS = 5000
"""Above this many entity mentions gamma is not computed: its alignment grows too slow (about 16 s at 1,000)."""
LOW_ALPHA = 0.8
RARE_SHARE = 0.05

ALPHA_KINDS = ("entity_label", "event_type")

DEFINITIONS: dict[str, str] = {
    **matching.DEFINITIONS,
    "entity_label_alpha": "Krippendorff's alpha (nominal) over entity mentions on identical spans; value: the label",
    "event_type_alpha": "Krippendorff's alpha (nominal) over events paired on identical trigger spans; "
    "value: the event type",
    "attribute_alpha": "Krippendorff's alpha (nominal) over events paired on identical trigger spans; "
    "value: the attribute, the scheme's default filled in",
    "raw_agreement": "equal pairs of attribute values over all pairs of values on paired events",
    "entity_gamma": "Mathet et al.'s gamma over entity spans (pygamma-agreement, combined categorical "
    "dissimilarity alpha=1 beta=1), articles every annotator annotated",
    "ci": "percentile bootstrap interval over articles resampled with replacement",
}
"""Every figure of the report is named by one of these keys."""

FIGURE_CAPTIONS: dict[str, str] = {
    "strict": "Entity F1, strict",
    "exact": "Entity F1, exact",
    "partial": "Entity F1, partial",
    "type": "Entity F1, type",
    "trigger_identification": "Trigger identification F1",
    "trigger_classification": "Trigger classification F1",
    "argument_identification": "Argument identification F1",
    "argument_classification": "Argument classification F1",
    "argument_identification_attached": "Argument identification F1, attached",
    "argument_classification_attached": "Argument classification F1, attached",
    "entity_label_alpha": "Krippendorff's alpha, entity labels",
    "event_type_alpha": "Krippendorff's alpha, event types",
    "attribute_alpha": "Krippendorff's alpha, attribute",
    "entity_gamma": "Gamma, entity spans",
}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- alpha -------------------------------------------------------------------------------

Unit = dict[str, str]
"""One unit's values: annotator → value."""


def krippendorff_alpha(units: Sequence[Unit], annotators: Sequence[str]) -> float | None:
    """Nominal alpha of the `krippendorff` package over the units; None where undefined."""
    pairable = [u for u in units if sum(name in u for name in annotators) >= 2]
    domain = sorted({u[name] for u in pairable for name in annotators if name in u})
    if not pairable or len(domain) < 2:
        return None
    code = {value: index for index, value in enumerate(domain)}
    matrix = np.array(
        [[code[u[name]] if name in u else np.nan for u in pairable] for name in annotators],
        dtype=float,
    )
    value = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    return None if math.isnan(value) else float(value)


def coincidences(units: Iterable[Unit]) -> Counter[tuple[str, str]]:
    """Krippendorff's coincidence counts: each ordered pair of values in a unit of m values adds 1/(m-1)."""
    table: Counter[tuple[str, str]] = Counter()
    for unit in units:
        values = list(unit.values())
        if len(values) < 2:
            continue
        for i, j in itertools.permutations(range(len(values)), 2):
            table[(values[i], values[j])] += 1 / (len(values) - 1)  # type: ignore[assignment]
    return table


def alpha_from_coincidences(matrix: np.ndarray) -> float | None:
    """Nominal alpha = 1 - (n - 1)·(n - Σ o_cc) / (n² - Σ n_c²); None where the expected disagreement is 0."""
    n_c = matrix.sum(axis=1)
    n = float(n_c.sum())
    expected = n * n - float((n_c**2).sum())
    if n < 2 or expected <= 1e-12:
        return None
    return 1 - (n - 1) * (n - float(np.trace(matrix))) / expected


def _alpha_units(annotations: Mapping[str, Annotation], attribute_names: Iterable[str]) -> dict[str, list[Unit]]:
    """Units for each kind of alpha ("entity_label", "event_type", "attribute:<name>") of one article."""
    entities = matching.entity_units(annotations)
    events = matching.event_units(annotations)
    kinds: dict[str, list[Unit]] = {
        "entity_label": [{name: m.label for name, m in unit.items()} for unit in entities],
        "event_type": [{name: e.type for name, e in unit.items()} for unit in events],
    }
    paired = [unit for unit in events if len(unit) >= 2]
    for attribute in attribute_names:
        kinds[f"attribute:{attribute}"] = [
            {name: value for name, e in unit.items() if (value := e.attribute(attribute)) is not None}
            for unit in paired
        ]
    return kinds


def _raw_agreement(units: Iterable[Unit]) -> tuple[int, int]:
    """(equal pairs of values, pairs of values) within units."""
    equal = total = 0
    for unit in units:
        for x, y in itertools.combinations(unit.values(), 2):
            total += 1
            equal += x == y
    return equal, total


def attribute_figures(name: str, units: Sequence[Unit], annotators: Sequence[str]) -> dict[str, Any]:
    """Alpha, raw agreement and value counts of one attribute, with the rare-values flag."""
    pairable = [u for u in units if len(u) >= 2]
    alpha = krippendorff_alpha(pairable, annotators)
    equal, total = _raw_agreement(pairable)
    values = Counter(v for u in pairable for v in u.values())
    count = sum(values.values())
    note = None
    if values and alpha is not None and alpha < LOW_ALPHA:
        common, most = values.most_common(1)[0]
        rare = count - most
        if 0 < rare < RARE_SHARE * count:
            others = [f"{n} {v}" for v, n in values.most_common() if v != common]
            which = others[0].split(" ", 1)[1] if len(others) == 1 else f"not {common} ({', '.join(others)})"
            note = f"{rare} of {count} values are {which}: alpha rests on a handful of rare values"
    return {
        "definition": "attribute_alpha",
        "alpha": _round(alpha),
        "raw_agreement": _round(equal / total if total else None),
        "pairs_of_values": total,
        "paired_events": len(pairable),
        "values": dict(values.most_common()),
        "rare_values": note,
    }


# --- gamma -------------------------------------------------------------------------------


@contextmanager
def _silenced() -> Iterator[None]:
    """Keep pygamma-agreement's solver quiet: it logs on the root logger and GLPK writes to the process's stdout.

    The library must not print, and GLPK's C output bypasses Python, so the two file
    descriptors are pointed at the null device while it runs.
    """
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    logging.disable(logging.WARNING)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                libc.fflush(None)
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for descriptor in saved:
            os.close(descriptor)
        logging.disable(logging.NOTSET)


def entity_gamma(
    articles: Sequence[Mapping[str, Annotation]], annotators: Sequence[str], *, seed: int = GAMMA_SEED
) -> dict[str, Any]:
    """Gamma over the entity spans of the articles every annotator annotated (pygamma-agreement)."""
    complete = [a for a in articles if all(name in a for name in annotators)]
    result: dict[str, Any] = {
        "definition": "entity_gamma",
        "value": None,
        "articles": len(complete),
        "seed": seed,
        "precision_level": GAMMA_PRECISION,
    }
    if len(annotators) < 2 or not any(a[name].entities for a in complete for name in annotators):
        return result
    # lazy: pyannote and pygamma-agreement take seconds to import, and only gamma needs them
    from pyannote.core import Segment  # type: ignore[import-untyped]
    from pygamma_agreement import CombinedCategoricalDissimilarity, Continuum  # type: ignore[import-untyped]

    continuum = Continuum()
    offset = 0
    for article in complete:
        for name in annotators:
            for mention in article[name].entities:
                continuum.add(name, Segment(offset + mention.start, offset + mention.end), mention.label)
        offset += max((m.end for name in annotators for m in article[name].entities), default=0) + GAMMA_GAP
    if any(not continuum[name] for name in annotators):
        return result
    if continuum.num_units > GAMMA_MAX_UNITS:
        result["skipped"] = (
            f"{continuum.num_units} entity mentions, more than the {GAMMA_MAX_UNITS} gamma is computed for"
        )
        return result
    state = np.random.get_state()
    try:
        with _silenced():
            np.random.seed(seed)
            gamma = continuum.compute_gamma(
                CombinedCategoricalDissimilarity(alpha=1, beta=1), precision_level=GAMMA_PRECISION
            ).gamma
    finally:
        np.random.set_state(state)
    result["value"] = _round(float(gamma))
    return result


# --- articles ----------------------------------------------------------------------------


@dataclass
class ArticleTally:
    """One article: its annotators' units, every pair's comparison, and the alpha units over all of them."""

    article: Article
    annotations: dict[str, Annotation]
    pairs: dict[tuple[str, str], Comparison]
    comparison: Comparison
    units: dict[str, list[Unit]]


def tally_article(article: Article, defaults: Mapping[str, str]) -> ArticleTally:
    annotations = {name: matching.annotation_of(r, defaults) for name, r in sorted(article.records.items())}
    pairs = {
        (x, y): matching.compare(annotations[x], annotations[y]) for x, y in itertools.combinations(annotations, 2)
    }
    summed = Comparison()
    for comparison in pairs.values():
        summed.add(comparison)
    return ArticleTally(article, annotations, pairs, summed, _alpha_units(annotations, defaults))


# --- the bootstrap -----------------------------------------------------------------------

F1_MEASURES = ENTITY_MEASURES + TRIGGER_MEASURES + ARGUMENT_MEASURES


def _alpha_name(kind: str) -> str:
    return f"attribute_alpha:{kind.split(':', 1)[1]}" if kind.startswith("attribute:") else f"{kind}_alpha"


def _coincidence_arrays(tallies: Sequence[ArticleTally], kind: str) -> np.ndarray:
    """Per article, the coincidence matrix of one kind of alpha over a shared value order."""
    tables = [coincidences(t.units.get(kind, [])) for t in tallies]
    domain = sorted({value for table in tables for pair in table for value in pair})
    index = {value: i for i, value in enumerate(domain)}
    arrays = np.zeros((len(tallies), len(domain), len(domain)))
    for a, table in enumerate(tables):
        for (x, y), count in table.items():
            arrays[a, index[x], index[y]] += count
    return arrays


def bootstrap(
    tallies: Sequence[ArticleTally], kinds: Sequence[str], *, seed: int, resamples: int
) -> dict[str, list[float] | None]:
    """Percentile intervals (at CONFIDENCE) of every F1 measure and alpha, articles resampled with replacement.

    Keys are the measure names and `<kind>_alpha` / `attribute_alpha:<name>`; an interval is
    None when fewer than half of the resamples define the figure.
    """
    if not tallies or resamples <= 0:
        return {}
    credit = np.array([[t.comparison.measure(m).total.credit for m in F1_MEASURES] for t in tallies], dtype=float)
    units = np.array(
        [
            [t.comparison.measure(m).total.actual + t.comparison.measure(m).total.possible for m in F1_MEASURES]
            for t in tallies
        ],
        dtype=float,
    )
    arrays = {kind: _coincidence_arrays(tallies, kind) for kind in kinds}
    samples: dict[str, list[float]] = defaultdict(list)
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        picked = rng.integers(0, len(tallies), len(tallies))
        got_credit, got_units = credit[picked].sum(axis=0), units[picked].sum(axis=0)
        for i, name in enumerate(F1_MEASURES):
            if got_units[i] > 0:
                samples[name].append(2 * got_credit[i] / got_units[i])
        for kind, matrix in arrays.items():
            value = alpha_from_coincidences(matrix[picked].sum(axis=0))
            if value is not None:
                samples[_alpha_name(kind)].append(value)
    tail = (1 - CONFIDENCE) / 2 * 100
    intervals: dict[str, list[float] | None] = {}
    for name in [*F1_MEASURES, *(_alpha_name(k) for k in kinds)]:
        values = samples.get(name, [])
        intervals[name] = (
            [round(float(np.percentile(values, tail)), 4), round(float(np.percentile(values, 100 - tail)), 4)]
            if len(values) * 2 >= resamples
            else None
        )
    return intervals


# --- the whole report --------------------------------------------------------------------


def _figure(name: str, counts: matching.Counts, ci: list[float] | None = None) -> dict[str, Any]:
    return {"definition": name, **counts.as_dict(), "ci": ci}


def _measures(comparison: Comparison, cis: Mapping[str, list[float] | None] | None = None) -> dict[str, Any]:
    cis = cis or {}
    return {
        "entities": {m: _figure(m, comparison.entities[m].total, cis.get(m)) for m in ENTITY_MEASURES},
        "events": {m: _figure(m, comparison.events[m].total, cis.get(m)) for m in TRIGGER_MEASURES + ARGUMENT_MEASURES},
    }


def _alphas(units: Mapping[str, list[Unit]], annotators: Sequence[str]) -> dict[str, float | None]:
    return {_alpha_name(kind): _round(krippendorff_alpha(found, annotators)) for kind, found in units.items()}


def _merge_units(
    tallies: Iterable[ArticleTally], pick: Callable[[ArticleTally], dict[str, list[Unit]]]
) -> dict[str, list[Unit]]:
    merged: dict[str, list[Unit]] = defaultdict(list)
    for tally in tallies:
        for kind, units in pick(tally).items():
            merged[kind] += units
    return merged


def _pair_rows(tallies: Sequence[ArticleTally], attribute_names: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for pair in sorted({p for t in tallies for p in t.pairs}):
        mine = [t for t in tallies if pair in t.pairs]
        summed = Comparison()
        for tally in mine:
            summed.add(tally.pairs[pair])
        units: dict[str, list[Unit]] = defaultdict(list)
        for tally in mine:
            for kind, found in _alpha_units({name: tally.annotations[name] for name in pair}, attribute_names).items():
                units[kind] += found
        rows.append(
            {"annotators": list(pair), "articles": len(mine), **_measures(summed), "alpha": _alphas(units, pair)}
        )
    return rows


def _per_label(breakdowns: Mapping[str, matching.Breakdown], names: Sequence[str]) -> dict[str, Any]:
    """{label: {measure: figure}} for the labels that occur, in the scheme's order."""
    table: dict[str, Any] = {}
    for label in names:
        row = {m: _figure(m, b.by_label[label]) for m, b in breakdowns.items() if label in b.by_label}
        if row:
            table[label] = row
    return table


def _confusion(table: Counter[tuple[str | None, str | None]], order: Sequence[str]) -> dict[str, Any]:
    """Symmetric counts: a disagreement counts in both its cells; NONE for a unit only one side has."""
    cells: Counter[tuple[str, str]] = Counter()
    for (x, y), count in table.items():
        row, col = x or NONE, y or NONE
        cells[(row, col)] += count
        if row != col:
            cells[(col, row)] += count
    seen = {label for pair in cells for label in pair}
    labels = [label for label in order if label in seen] + ([NONE] if NONE in seen else [])
    return {"labels": labels, "counts": [[cells.get((r, c), 0) for c in labels] for r in labels]}


def _against_gold(
    articles: Sequence[Article], gold: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Per annotator, every measure with the gold record as the reference, over the articles with gold."""
    by_annotator: dict[str, Comparison] = defaultdict(Comparison)
    for article in articles:
        reference = gold.get(article.article_id)
        if reference is None:
            continue
        expected = matching.annotation_of(reference, defaults)
        for name, record in sorted(article.records.items()):
            by_annotator[name].add(matching.compare(expected, matching.annotation_of(record, defaults)))
    return [
        {"annotator": name, "articles": comparison.articles, **_measures(comparison)}
        for name, comparison in sorted(by_annotator.items())
    ]


def article_f1(comparison: Comparison) -> float | None:
    """One figure for ranking articles: strict entities, classified triggers and arguments pooled."""
    pooled = matching.Counts()
    for name in ("strict", "trigger_classification", "argument_classification"):
        pooled.add(comparison.measure(name).total)
    return pooled.f1


def _article_row(tally: ArticleTally, task_url: Callable[[Any], str | None]) -> dict[str, Any]:
    article, comparison = tally.article, tally.comparison
    return {
        "article_id": article.article_id,
        "title": article.title,
        "task_id": article.task_id,
        "url": task_url(article.task_id),
        "annotators": len(tally.annotations),
        "f1": _round(article_f1(comparison)),
        **{
            f"{m}_f1": _round(comparison.measure(m).total.f1)
            for m in ("strict", "trigger_classification", "argument_classification")
        },
    }


def _headline(overall: Mapping[str, Any], attribute_names: Sequence[str]) -> list[dict[str, Any]]:
    """The figures a reader looks at first, each with its definition name and interval."""

    def row(name: str, definition: str, caption: str, value: Any, ci: Any) -> dict[str, Any]:
        return {"name": name, "definition": definition, "caption": caption, "value": value, "ci": ci}

    rows = [
        row(f"{name}_f1", name, FIGURE_CAPTIONS[name], figure["f1"], figure["ci"])
        for group in ("entities", "events")
        for name, figure in overall[group].items()
    ]
    for kind in ALPHA_KINDS:
        figure = overall["alpha"][kind]
        name = f"{kind}_alpha"
        rows.append(row(name, name, FIGURE_CAPTIONS[name], figure["value"], figure["ci"]))
    for name in attribute_names:
        figure = overall["attributes"][name]
        caption = f"Krippendorff's alpha, {name}"
        rows.append(row(f"attribute_alpha:{name}", "attribute_alpha", caption, figure["alpha"], figure["ci"]))
    gamma = overall.get("entity_gamma")
    if gamma is not None:
        rows.append(row("entity_gamma", "entity_gamma", FIGURE_CAPTIONS["entity_gamma"], gamma["value"], None))
    return rows


@dataclass
class AgreementReport:
    """The agreement figures; `as_dict()` is the JSON report (`annotate.quality.report` saves it)."""

    project: str
    source: str
    annotators: list[str]
    overall: dict[str, Any]
    headline: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    entity_labels: dict[str, Any]
    event_types: dict[str, Any]
    roles: dict[str, Any]
    confusion: dict[str, Any]
    against_gold: list[dict[str, Any]]
    articles: list[dict[str, Any]]
    excluded: dict[str, int]
    bootstrap: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "source": self.source,
            "annotators": self.annotators,
            "definitions": DEFINITIONS,
            "bootstrap": self.bootstrap,
            "headline": self.headline,
            "overall": self.overall,
            "pairs": self.pairs,
            "entity_labels": self.entity_labels,
            "event_types": self.event_types,
            "roles": self.roles,
            "confusion": self.confusion,
            "against_gold": self.against_gold,
            "articles": self.articles,
            "excluded": self.excluded,
        }


def _no_link(task_id: Any) -> str | None:
    return None


def compute_agreement(
    records: Iterable[dict[str, Any]],
    *,
    defaults: dict[str, str],
    entity_names: Iterable[str],
    event_names: Iterable[str],
    role_names: Iterable[str] = (),
    project: str = "",
    source: str = "",
    task_url: Callable[[Any], str | None] = _no_link,
    gold: Iterable[dict[str, Any]] = (),
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
    gamma: bool = True,
) -> AgreementReport:
    """The agreement report of a set of canonical records (no I/O; `agreement()` finds the records)."""
    articles, cancelled = group_articles(records)
    compared = [a for a in articles if len(a.records) >= 2]
    tallies = [tally_article(a, defaults) for a in compared]
    annotators = sorted({name for a in compared for name in a.records})
    attribute_names = tuple(defaults)
    kinds = [*ALPHA_KINDS, *(f"attribute:{n}" for n in attribute_names)]
    total = Comparison()
    for tally in tallies:
        total.add(tally.comparison)
    units = _merge_units(tallies, lambda t: t.units)
    cis = bootstrap(tallies, kinds, seed=seed, resamples=resamples)
    overall: dict[str, Any] = {
        "articles": len(compared),
        "pairs": len({p for t in tallies for p in t.pairs}),
        "annotators": len(annotators),
        **_measures(total, cis),
        "alpha": {
            kind: {
                "definition": f"{kind}_alpha",
                "value": _round(krippendorff_alpha(units[kind], annotators)),
                "ci": cis.get(f"{kind}_alpha"),
                "units": sum(len(u) >= 2 for u in units[kind]),
            }
            for kind in ALPHA_KINDS
        },
        "attributes": {
            name: {
                **attribute_figures(name, units[f"attribute:{name}"], annotators),
                "ci": cis.get(f"attribute_alpha:{name}"),
            }
            for name in attribute_names
        },
    }
    if gamma:
        overall["entity_gamma"] = entity_gamma([t.annotations for t in tallies], annotators)
    entity_names, event_names = list(entity_names), list(event_names)
    gold_by_article = {g["article_id"]: g for g in gold}
    return AgreementReport(
        project=project,
        source=source,
        annotators=annotators,
        overall=overall,
        headline=_headline(overall, attribute_names),
        pairs=_pair_rows(tallies, attribute_names),
        entity_labels=_per_label(total.entities, entity_names),
        event_types=_per_label(total.events, event_names),
        roles=_per_label(total.roles, list(role_names)),
        confusion={
            "entities": _confusion(total.entity_confusion, entity_names),
            "events": _confusion(total.event_confusion, event_names),
        },
        against_gold=_against_gold(articles, gold_by_article, defaults) if gold_by_article else [],
        articles=sorted(
            (_article_row(t, task_url) for t in tallies),
            key=lambda row: (row["f1"] is None, row["f1"] or 0.0, row["article_id"]),
        ),
        excluded={"cancelled_annotations": cancelled, "articles_with_one_annotator": len(articles) - len(compared)},
        bootstrap={
            "definition": "ci",
            "seed": seed,
            "resamples": resamples,
            "confidence": CONFIDENCE,
            "unit": "article",
        },
    )


# --- the command -------------------------------------------------------------------------


def _project_title(workspace: Workspace, project: str | None) -> str:
    return normalise_title(project or load_project_settings(workspace).project)


def _read_records(workspace: Workspace, title: str, from_file: Path | None) -> tuple[list[dict], int, str, Any]:
    """(records, invalid ones left out, where they came from, project id or None): a file or the last pull."""
    if from_file is not None:
        scheme = current_scheme(workspace)
        records, invalid, project_id = records_from_file(Path(from_file), scheme, annotator=Pseudonyms(workspace))
        return records, invalid, str(from_file), project_id
    path = workspace.records_path(project_slug(workspace, title))
    if not path.exists():
        raise ExportError(
            f"No pulled records for the project {title!r} ({path} is missing). "
            "Run `annotate pull` first, or give a Label Studio export with --from-file."
        )
    try:
        return list(iter_records(path)), 0, str(path.relative_to(workspace.root)), None
    except ValueError as exc:
        raise ExportError(f"{path} is not canonical records ({exc}). Run `annotate pull` again.") from None


def _task_links(workspace: Workspace, title: str, project_id: Any):
    """A function task id → its Label Studio page, or → None when the project cannot be found.

    The last pull's checkpoint names the server and project, so no request is needed;
    only for an export file without one does this ask the server.
    """
    checkpoint = Checkpoint.load(workspace, project_slug(workspace, title))
    if checkpoint is None and project_id is None:
        by_task = _pass_links(workspace, title)
        if by_task:
            return lambda task_id: by_task.get(str(task_id))
    url = None
    if project_id is None and checkpoint is not None:
        url, project_id = checkpoint.server, checkpoint.project_id
    try:
        url = redact_url(url or resolve(workspace)[0])
        if project_id is None:
            found = find_project(connect(workspace), title)
            project_id = found.id if found else None
    except AnnotateError:
        project_id = None
    if project_id is None:
        return lambda task_id: None
    return lambda task_id: None if task_id is None else f"{url}/projects/{project_id}/data?task={task_id}"


def _pass_links(workspace: Workspace, title: str) -> dict[str, str]:
    """Task id → page for a title annotated blind: each pass's last pull names its project and tasks."""
    links: dict[str, str] = {}
    for number in range(MAX_PASSES):
        found = Checkpoint.load(workspace, project_slug(workspace, pass_title(title, number)))
        if found is None:
            break
        for task_id in found.tasks:
            links[task_id] = f"{found.server}/projects/{found.project_id}/data?task={task_id}"
    return links


def _gold_records(workspace: Workspace, title: str) -> list[dict[str, Any]]:
    """The gold set of the project when `annotate adjudicate` has made one; empty otherwise."""
    path = workspace.gold_path(project_slug(workspace, title))
    if not path.exists():
        return []
    try:
        return list(iter_records(path, remedy="run `annotate adjudicate` to write it again"))
    except ValueError as exc:
        raise ExportError(f"{path} is not canonical records ({exc}). Run `annotate adjudicate` again.") from None


def agreement(
    workspace: Workspace,
    *,
    project: str | None = None,
    from_file: Path | None = None,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> AgreementReport:
    """Agreement over the last pull of `project` (or an export file), with each annotator against the gold.

    Nothing is written: `annotate.quality.report.save_report` saves the JSON and HTML.
    """
    title = _project_title(workspace, project)
    scheme = current_scheme(workspace)
    records, invalid, source, project_id = _read_records(workspace, title, from_file)
    report = compute_agreement(
        records,
        defaults=scheme.defaults(),
        entity_names=scheme.entity_names,
        event_names=scheme.event_names,
        role_names=scheme.role_names,
        project=title,
        source=source,
        task_url=_task_links(workspace, title, project_id),
        gold=_gold_records(workspace, title),
        seed=seed,
        resamples=resamples,
    )
    report.excluded["invalid_annotations"] = invalid
    return report
