"""The dataset card (README.md of a published version): YAML header for the Hub, then prose for people.

Everything in it comes from the scheme, the project settings and the manifest of the
version being written, so the card cannot disagree with the data beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any

import yaml

from annotate.core import derive
from annotate.core.markup import json_in_code_block, markdown_prose, markdown_text
from annotate.core.scheme import Scheme
from annotate.core.settings import DatasetSettings
from annotate.dataset.citation import bibtex

_EXAMPLE_CHARS = 300
_GOLD_FROM = {
    "curator": "decided by a curator",
    "majority": "merged from what most annotators agreed on",
    "ground_truth": "taken from a ground-truth annotation",
    "single": "from a single annotator",
}


@dataclass
class CardFacts:
    settings: DatasetSettings
    scheme: Scheme
    manifest: dict[str, Any]
    dataset_info: list[dict[str, Any]]
    example: Mapping[str, Any] | None
    agreement: dict[str, Any] | None
    corpus_size: int
    local_path: str
    hub_repo: str | None


def load_line(where: str, *, revision: str | None = None, config: str = "documents") -> str:
    """The one line that loads a config of the dataset, from the Hub (with a revision) or a folder."""
    pinned = f", revision={json.dumps(revision)}" if revision else ""
    return f"load_dataset({json.dumps(where)}, {json.dumps(config)}{pinned})"


def size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "n>1M"


def header(facts: CardFacts) -> dict[str, Any]:
    """The YAML metadata the Hub reads: configs with their files, features, licence, language, tasks."""
    documents = sum(facts.manifest["rows"].get("documents", {}).values())
    configs = []
    for info in facts.dataset_info:
        name = info["config_name"]
        entry: dict[str, Any] = {"config_name": name}
        if name == "documents":
            entry["default"] = True
        entry["data_files"] = [{"split": s["name"], "path": f"data/{name}/{s['name']}.parquet"} for s in info["splits"]]
        configs.append(entry)
    return {
        "pretty_name": facts.settings.pretty_name,
        "license": facts.settings.license,
        "language": list(facts.settings.language),
        "multilinguality": "monolingual" if len(facts.settings.language) == 1 else "multilingual",
        "annotations_creators": list(facts.settings.annotations_creators),
        "language_creators": ["found"],
        "source_datasets": ["original"],
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "tags": ["event-extraction", "news", "plover"],
        "size_categories": [size_category(documents)],
        "configs": configs,
        "dataset_info": facts.dataset_info,
    }


def render_card(facts: CardFacts) -> str:
    meta = yaml.safe_dump(header(facts), sort_keys=False, allow_unicode=True, width=1000)
    sections = [
        _summary(facts),
        _loading(facts),
        _uses(),
        _structure(facts),
        _statistics(facts),
        _formats(facts),
        _creation(facts),
        _benchmark(facts),
        _labels(facts.scheme),
        _personal(),
        _limitations(facts),
        _changes(facts),
        _citation(facts),
        _integrity(facts),
    ]
    return f"---\n{meta}---\n\n" + "\n\n".join(s.strip() for s in sections) + "\n"


def _totals(facts: CardFacts) -> tuple[int, int, int]:
    counts = facts.manifest["label_counts"]
    return len(facts.manifest["articles"]), sum(counts["entities"].values()), sum(counts["events"].values())


def _summary(facts: CardFacts) -> str:
    m = facts.manifest
    articles, entities, events = _totals(facts)
    return f"""
# {markdown_text(facts.settings.pretty_name)}

Version **{m['version']}** of `{m['name']}`: {articles} news article(s) annotated with {entities} entity
mention(s) and {events} event(s), each event with its trigger, its arguments by role and its
attributes (polarity, modality, tense). Entity and event types come from the labelling scheme
"{markdown_text(facts.scheme.name)}", version {facts.scheme.version}; every event type carries its PLOVER category.

The dataset has four configurations: `documents` (one row per article, the default), `tokens`
(words with BIO tags for token classifiers), `windows` (the same tokens cut into sentence windows
short enough for encoder models) and `annotations` (every annotator's own record, for agreement
research). Beside them: TextEE/OneIE-style JSON Lines (`textee/`), an ontology file
(`ontology.json`), `croissant.json` and `CITATION.cff`.
"""


def _loading(facts: CardFacts) -> str:
    """Load lines for the Hub repository when one is set, otherwise for this folder only."""
    tag = f"v{facts.manifest['version']}"
    configs = [c for c in ("documents", "tokens", "windows", "annotations") if c in facts.manifest["rows"]]
    lines = ["## How to load it", "", "```python", "from datasets import load_dataset", ""]
    if facts.hub_repo:
        lines += [f"{c} = {load_line(facts.hub_repo, revision=tag, config=c)}" for c in configs]
        lines += ["", "# the same version from a copy of this folder, without the Hub:"]
        lines += [f"documents = {load_line(facts.local_path)}", "```"]
        lines += ["", f"The tag `{tag}` pins this exact version; a later version never changes it."]
    else:
        lines += [f"{c} = {load_line(facts.local_path, config=c)}" for c in configs]
        lines += ["```", "", f"This folder is version {facts.manifest['version']}; a later version never changes it."]
    return "\n".join(lines)


def _uses() -> str:
    return """
## Intended uses

- Training and evaluating named-entity recognisers (`tokens`) and event extractors (`documents`:
  triggers, typed arguments and attributes over character offsets).
- Studying how annotators agree and disagree (`annotations` holds each one's record beside the gold).
- Coding news into PLOVER categories of political interaction.

Out of scope: the labels describe what the articles *say*, not what happened. The dataset is no
source of facts about any person, state or organisation, and too small to measure anything about
the world.
"""


def _structure(facts: CardFacts) -> str:
    rows = facts.manifest["rows"]
    table = ["| configuration | train | validation | test |", "|---|---|---|---|"]
    for config, splits in rows.items():
        counts = " | ".join(str(splits.get(s, 0)) for s in ("train", "validation", "test"))
        table.append(f"| `{config}` | {counts} |")
    missing = sorted({"train", "validation", "test"} - {s for splits in rows.values() for s in splits})
    empty = (
        f"\nA split with no article ({', '.join(missing)}) has no file and is not declared, so it is absent "
        "from what `load_dataset` returns until an article falls into it."
        if missing
        else ""
    )
    return f"""
## Dataset structure

{chr(10).join(table)}

Splits: {facts.manifest['split_rule']}{empty}

### `documents`

- `id`: the article's id in the corpus (stable across versions); `title`, `date`, `source`, `url`
  from the article's metadata where known; `text`: the article as annotated.
- `entities`: `id`, `start`, `end` (Python string indices into `text`, end exclusive), `text`
  (equals `text[start:end]`) and `label` (a `ClassLabel` of the entity types below).
- `events`: `id`, `type` (a `ClassLabel` of the event types), `trigger` (`start`, `end`, `text`),
  `arguments` (each a `role` `ClassLabel` and a `target`: the `id` of an entity, or of another event
  for roles that point at events), and one `ClassLabel` column per attribute with its default filled in.
- `gold_from`: how the article's gold was decided: `ground_truth` (an annotation marked as ground
  truth in Label Studio), `majority` (what most of its annotators marked), `curator` (a curator
  settled what they disagreed on), `single` (one annotator, allowed explicitly), or `adjudicated`
  when the gold record does not say.

### `tokens`

`id`, `tokens`, `token_starts`, `token_ends` (character offsets of each token in the article text)
and `ner_tags` (BIO tags as a `ClassLabel` sequence). Tokens are words and single punctuation marks,
and every entity boundary is also a token boundary, so the tags give back the exact entity spans of
`documents`. Nested or overlapping mentions cannot be written in BIO: the outermost is kept;
{facts.manifest['entity_mentions_not_in_tokens']} mention(s) of this version are in `documents` only.

### `windows`

`id` (`<article id>-<window index>`), `article_id`, `window` (its index in the article, from 0),
`start` and `end` (character offsets of the window in the article's `text`), `text`
(`text[start:end]` of the article), and `tokens`, `token_starts`, `token_ends`, `ner_tags` as in
`tokens`, with offsets into the article, not the window: a prediction on a window is already a
prediction on the article. Windows are whole sentences (split by sentencex) packed up to
{_window_limit(facts)} tokens; a sentence boundary inside an entity mention or an event trigger is never
used, and a sentence longer than the limit is cut between tokens outside every mention, so no
window cuts an entity or a trigger. Joined in order, an article's windows give its `tokens` row.

### `annotations`

`article_id`, `annotation_id`, `annotator` (a pseudonym), `ground_truth`, `cancelled`, `lead_time`
(seconds spent) and the annotator's `entities` and `events` in the same form as `documents`. Rows
follow the split of their article.

### Example (`documents`, text shortened)

```json
{_example(facts.example)}
```
"""


def _window_limit(facts: CardFacts) -> str:
    return str((facts.manifest.get("windows") or {}).get("max_tokens", "N"))


def _statistics(facts: CardFacts) -> str:
    """The per-split table papers print, from the manifest's `statistics`."""
    stats = facts.manifest.get("statistics") or {}
    if not stats:
        return ""
    splits = list(stats)
    rows = [f"| | {' | '.join(splits)} |", "|---|" + "---|" * len(splits)]
    for key, name in (
        ("documents", "documents"),
        ("windows", "windows"),
        ("tokens", "tokens"),
        ("entity_mentions", "entity mentions"),
        ("event_mentions", "event mentions"),
        ("arguments", "arguments"),
        ("event_types_occurring", "event types occurring"),
        ("roles_occurring", "roles occurring"),
    ):
        rows.append(f"| {name} | {' | '.join(str(stats[s][key]) for s in splits)} |")
    detail = []
    for key, name in (
        ("entity_mentions_per_type", "entity mentions"),
        ("event_mentions_per_type", "event mentions"),
        ("arguments_per_role", "arguments"),
    ):
        labels = sorted({label for s in splits for label in stats[s][key]})
        for label in labels:
            detail.append(f"| {name}: `{label}` | {' | '.join(str(stats[s][key].get(label, 0)) for s in splits)} |")
    return "\n".join(["## Statistics", "", *rows, *detail, "", "Also in `manifest.json` under `statistics`."])


def _formats(facts: CardFacts) -> str:
    textee = facts.manifest.get("textee") or {}
    if not textee:
        return ""
    return f"""
## Formats for event-extraction code

`textee/<split>.jsonl` holds one JSON object per window (the windows of `windows`) in the processed
format of TextEE and OneIE: `doc_id`, `wnd_id`, `text`, `lang`, `tokens`, `entity_mentions` (`id`,
`entity_type`, `text`, `start`, `end`) and `event_mentions` (`id`, `event_type`, `trigger` with `text`,
`start`, `end`, and `arguments` by `entity_id` and `role`); `start`/`end` are token indices into the
window's `tokens`, end exclusive. `ontology.json` gives each event type's PLOVER category and its roles
with the entity types each role may point at.

What that format cannot carry, and where it is instead (extra keys TextEE's readers ignore):

- roles that point at another event (for example `Topic`): in each event mention's `event_arguments`,
  by the other event's id ({textee.get('arguments_pointing_at_events', 0)} in this version);
- arguments whose entity lies in another window of the article: in `outside_arguments`, by entity id
  and window id ({textee.get('arguments_outside_window', 0)} in this version);
- the event attributes (polarity, modality, tense): in each event mention's `attributes`;
- character offsets: `start`, `end`, `token_starts` and `token_ends` of each line, into the article.
"""


_HEADLINE = (
    ("strict", "entities, strict"),
    ("partial", "entities, partial"),
    ("trigger_identification", "trigger identification"),
    ("trigger_classification", "trigger classification"),
    ("argument_identification", "argument identification"),
    ("argument_classification", "argument classification"),
    ("argument_classification_attached", "argument classification, attached"),
)


def _benchmark(facts: CardFacts) -> str:
    """Systems scored with `annotate score` on this version's gold, beside the annotators in the same measures."""
    scores = facts.manifest.get("scores") or []
    head = "## Benchmark: systems and annotators in the scorer's measures"
    if not scores:
        return f"{head}\n\nNo system has been scored on this version's gold yet (`annotate score`)."
    first = scores[0]
    human = first.get("human") or {}
    references = [name for name in ("annotators vs gold", "annotator vs annotator") if name in human]
    columns = [s["system"] for s in scores] + references
    rows = [f"| F1 on `{first['split']}` | {' | '.join(columns)} |", "|---|" + "---:|" * len(columns)]
    for key, name in _HEADLINE:
        figures = [_f1(s.get("headline", {}).get(key)) for s in scores]
        figures += [_f1(human[c].get(key)) for c in ("annotators vs gold", "annotator vs annotator") if c in human]
        rows.append(f"| {name} | {' | '.join(figures)} |")
    return f"""
{head}

{chr(10).join(rows)}

F1 with its 95% bootstrap interval over the split's {first.get('articles', '?')} article(s){_point_note(first)}. Systems are scored against the gold of the split;
"annotators vs gold" scores each annotator's own record against the same gold and pools the counts;
"annotator vs annotator" scores every pair of annotators against each other (F1 is symmetric). Where
the gold was adjudicated from these same annotators' work, "annotators vs gold" flatters them and
"annotator vs annotator" is the fairer human reference. The
measures are those of `annotate score` and `annotate agreement` (one matching core): entity measures
as nervaluate names them, trigger and argument measures as TextEE defines them. These figures are in
`manifest.json` under `scores`; `annotate score --format json` gives the full report (per label, per
role, attributes). How the baseline is trained and run: `examples/crf_baseline.py` in the project.
"""  # noqa: E501 - the card's text, whose lines are output as they stand


def _point_note(score: dict[str, Any]) -> str:
    if score.get("articles", 2) >= 2:
        return ""
    return " (over one article the interval is a single point: it cannot show the uncertainty, which is large)"


def _f1(figure: Any) -> str:
    if not isinstance(figure, dict) or figure.get("f1") is None:
        return "n/a"
    low, high = figure.get("ci") or (None, None)
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return f"{figure['f1']:.3f}{interval}"


def _citation(facts: CardFacts) -> str:
    m = facts.manifest
    entry = bibtex(facts.settings, m["version"], m["published_at"][:10], facts.hub_repo)
    return f"""
## Citation

```bibtex
{entry.strip()}
```

The same in Citation File Format: `CITATION.cff` beside this card. Machine-readable metadata with the
Responsible-AI fields (data collection, annotation, annotators, biases, personal information):
`croissant.json`.
"""


def _example(document: Mapping[str, Any] | None) -> str:
    if document is None:
        return "{}"
    cut = _EXAMPLE_CHARS
    shown = {
        **{k: document[k] for k in ("id", "title", "date", "source")},
        "text": document["text"][:cut] + ("…" if len(document["text"]) > cut else ""),
        "entities": [e for e in document["entities"] if e["end"] <= cut][:4],
        "events": [e for e in document["events"] if e["trigger"]["end"] <= cut][:2],
        "gold_from": document["gold_from"],
    }
    return json_in_code_block(json.dumps(shown, indent=2, ensure_ascii=False))


def _creation(facts: CardFacts) -> str:
    m = facts.manifest
    sources = ", ".join(f"{markdown_text(name)} ({count})" for name, count in m.get("sources", {}).items())
    sources = sources or "not recorded"
    return f"""
## Dataset creation

### Curation rationale

News reporting mixes facts with allegations, denials, expectations and plans. The dataset marks
who does what to whom in such reports, and whether the text asserts it, so that models can be trained
and tested on telling those apart.

### Source data

The corpus holds {facts.corpus_size} article(s), {len(m['articles'])} of them in this version. Articles
come from online news outlets (by outlet: {sources}). Each text was cleaned of site furniture, normalised
(Unicode NFC, one newline convention) and given an id derived from its text; offsets index that text.
The `source` and `url` columns name where each article came from.

### Annotation process

{_process(facts)}

Inter-annotator agreement (from `annotate agreement`; every figure and count, with its definition, is in
`agreement.json` beside this card):

{_agreement_table(facts.agreement)}
"""


def _guidelines(manifest: dict[str, Any]) -> str:
    digest = (manifest.get("guidelines_sha256") or "")[:12]
    version = manifest.get("guidelines_version")
    return (f"version {version}, " if version else "") + (f"sha256 `{digest}…`" if digest else "not recorded")


def _process(facts: CardFacts) -> str:
    """Who annotated and how gold was decided, as the records (and provenance.yaml) of this version say."""
    m = facts.manifest
    made = m.get("annotation") or {}
    parts = [
        f"The annotations follow the project's guidelines ({_guidelines(m)}) and labelling scheme version "
        f"{facts.scheme.version}, and went through Label Studio.",
        _who_annotated(m["annotators"], made.get("annotators") or {}),
    ]
    # The recorded passes are described only where this version holds imported work they can describe.
    if made.get("recorded") and any(w["untimed"] for w in (made.get("annotators") or {}).values()):
        parts.append(_recorded(made["recorded"]))
    parts.append(_how_gold(m, made.get("decided_by") or {}))
    return "\n\n".join(parts)


def _who_annotated(count: int, work: dict[str, dict[str, int]]) -> str:
    if not work:
        return "**Who annotated.** No annotator's record is in this version."
    total = sum(w["annotations"] for w in work.values())
    rows = [
        "| annotator (pseudonym) | annotations | made in the labelling view | imported finished | cancelled |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| `{name}` | {w['annotations']} | {w['timed']} | {w['untimed']} | {w['cancelled']} |"
        for name, w in sorted(work.items())
    ]
    return (
        f"**Who annotated.** {total} annotation(s) by {count} pseudonymous annotator(s); the `annotations` "
        "configuration holds each one.\n\n" + "\n".join(rows) + "\n\nAn annotation made in Label Studio's "
        "labelling view records the time its annotator spent on it (`lead_time`); one imported finished, as a "
        "recorded pass, has none."
    )


def _pass_facts(recorded_pass: dict[str, Any]) -> str:
    """What the provenance file records of a pass beyond its description: blindness, date, versions."""
    facts = []
    if recorded_pass.get("blind") is True:
        facts.append("blind (saw only the scheme, the guidelines and the article text)")
    elif recorded_pass.get("blind") is False:
        facts.append("not blind")
    for key, said in (("made_at", "made"), ("guidelines", "guidelines"), ("scheme", "scheme")):
        if recorded_pass.get(key):
            facts.append(f"{said} {markdown_text(str(recorded_pass[key]))}")
    return f" ({'; '.join(facts)})" if facts else ""


def _recorded(recorded: dict[str, Any]) -> str:
    lines = ["**Recorded passes**, as `corpus/annotations/provenance.yaml` describes them:", ""]
    lines += [
        f"- `{p['file']}`: made by {markdown_text(p['made_by'])}; {markdown_prose(p['how'])}{_pass_facts(p)}"
        for p in recorded.get("passes", [])
    ]
    if recorded.get("curation"):
        c = recorded["curation"]
        made_by, how = markdown_text(c["made_by"]), markdown_prose(c["how"])
        lines.append(f"- curation, `{c['file']}`: made by {made_by}; {how}{_pass_facts(c)}")
    if recorded.get("note"):
        lines += ["", markdown_prose(recorded["note"])]
    return "\n".join(lines)


def _how_gold(m: dict[str, Any], deciders: dict[str, dict[str, int]]) -> str:
    gold = ", ".join(
        f"{count} {_GOLD_FROM.get(how, how.replace('_', ' '))}" for how, count in sorted(m["gold_from"].items())
    )
    text = f"**How gold was decided.** Gold in this version: {gold}."
    who = {"curator": "Curator decisions by", "ground_truth": "Ground-truth annotations by"}
    for method, people in sorted(deciders.items()):
        named = ", ".join(f"`{name}` ({n} article(s))" for name, n in sorted(people.items()))
        text += f" {who.get(method, f'Decided ({method}) by')} {len(people)} pseudonymous account(s): {named}."
    left = len(m["left_out"])
    return text + (
        f" {left} corpus article(s) had neither a ground-truth annotation nor an adjudicated record and are left out."
    )


def _agreement_table(report: dict[str, Any] | None) -> str:
    if not report:
        return "Not computed for this version."
    definitions = report.get("definitions") or {}
    rows = ["| measure | value | 95% interval | definition |", "|---|---|---|---|"]
    for row in report.get("headline") or []:
        value, ci = row.get("value"), row.get("ci")
        shown = "n/a" if value is None else f"{value:.3f}"
        interval = f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else ""
        rows.append(f"| {row['caption']} | {shown} | {interval} | {definitions.get(row['definition'], '')} |")
    overall, boot = report.get("overall") or {}, report.get("bootstrap") or {}
    rows.append("")
    rows.append(
        f"{overall.get('articles', 0)} article(s) compared, {overall.get('annotators', 0)} annotator(s). "
        f"Intervals: bootstrap over articles, {boot.get('resamples')} resamples, seed {boot.get('seed')}."
    )
    return "\n".join(rows)


def _labels(scheme: Scheme) -> str:
    return f"""
## Labels

### Entity types

{derive.entity_table(scheme)}

### Event types, their PLOVER categories and roles

{derive.event_table(scheme)}

### Event attributes

{derive.attribute_table(scheme)}
"""


def _personal() -> str:
    return """
## Personal and sensitive information

Annotators appear only as pseudonyms (keyed hashes); no e-mail address, name or Label Studio user id
is published. The articles themselves name public figures and officials, as published news does,
and report allegations about them.
"""


def _limitations(facts: CardFacts) -> str:
    return f"""
## Bias, risks and limitations

- The articles report allegations, denials, expectations and plans alongside events that took place.
  An event in the data is an event *mentioned*: read its `modality` (asserted or other) and `polarity`
  before treating it as something that happened.
- The articles come from {len(facts.manifest.get('sources', {}))} outlet(s) (see `source`), in
  {', '.join(facts.settings.language)}; their framing and their choice of what to report carry through to the labels.
- {len(facts.manifest['articles'])} article(s) is a small sample: figures measured on it have wide
  uncertainty, and the test split may be tiny or absent.
- Licence: the annotations are released under `{facts.settings.license.replace('`', '')}`. The article texts remain
  the work of their publishers; check their terms before redistributing the texts.
"""


def _changes(facts: CardFacts) -> str:
    log = facts.manifest["changelog"]
    if not log.get("previous"):
        return "## Changes\n\nFirst published version."
    rows = ["| label | previous | now |", "|---|---|---|"]
    for kind in ("entities", "events"):
        for label, pair in log["label_counts"].get(kind, {}).items():
            if pair["previous"] != pair["current"]:
                rows.append(f"| `{label}` | {pair['previous']} | {pair['current']} |")
    counts = "\n".join(rows) if len(rows) > 2 else "No label count changed."
    return f"""
## Changes since {log['previous']}

{len(log['added'])} article(s) added, {len(log['removed'])} removed, {len(log['changed'])} changed
(the ids are listed in `manifest.json`).

{counts}
{_scheme_changes(log.get("scheme"))}"""


def _scheme_changes(log: dict[str, Any] | None) -> str:
    """The scheme's changes since the previous version, each with the gold mentions it touched."""
    if not log or not log.get("previous") or log["previous"] == log.get("current"):
        return ""
    rows = ["| change | mentions in gold |", "|---|---|"]
    for change in log.get("changes") or []:
        mentions = change.get("mentions")
        rows.append(f"| {change['description']} | {'-' if mentions is None else mentions} |")
    table = "\n".join(rows) if len(rows) > 2 else "Definitions only; no label changed."
    return f"""
The labelling scheme moved from version {log['previous']} to {log['current']}:

{table}
"""


def _integrity(facts: CardFacts) -> str:
    m = facts.manifest
    if m.get("source_commit"):
        dirty = " (with uncommitted changes)" if m.get("source_has_uncommitted_changes") else ""
        origin = f"from source commit `{m['source_commit']}`{dirty}"
    else:
        origin = "outside a git repository (no source commit recorded)"
    return f"""
## Version and integrity

`manifest.json` lists the sha256 of every file of this version, the scheme version, and the changes
against the previous version. Built {origin} on {m['published_at'][:10]}.
"""
