"""`annotate suggest`: pre-annotations from the gold, for tasks nobody has labelled yet.

A string matcher learns from the gold of a published version, leaving its held-out split
(`test` by default) out:

- **entities**: every gold mention's text, with the label the gold gives it most often. A
  string is left out as ambiguous when no label has at least 3/4 of its mentions, or when
  the gold leaves it unlabelled (as a whole word, outside any longer mention) more often
  than it labels it.
- **triggers**: a gold trigger word is kept when the gold gives it one event type only and
  marks it as a trigger in at least half of its whole-word occurrences. Events get no
  arguments and no attributes (the scheme's defaults apply).

Matching is case-sensitive, whole words only, longest string first, never overlapping; a
trigger match inside an entity match is dropped.

Its quality is measured with `annotate score` on the held-out split, which it never
learnt from, and the report saved beside other systems' (exports/scores/). The same
matcher's suggestions go to Label Studio as predictions with a `model_version` naming
the matcher and the version it learnt from, only on tasks that have no annotation (submitted
or skipped) and no prediction of that model version yet: an annotator's work is never
touched and nothing is added twice. The project is set to show that model version's
predictions in the labelling view.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.core.errors import SuggestError
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.validate import validate_record
from annotate.core.workspace import Workspace, write_private
from annotate.quality.score import ScoreReport, row_as_record, load_gold, resolve_version, score
from annotate.quality.status import title_projects
from annotate.labelstudio.push import NO_RETRY
from annotate.labelstudio.client import connect
from annotate.core.records import record_to_results

MATCHER = "string-matcher"
LABEL_SHARE = 0.75
"""A string's most frequent label must have at least this share of its gold mentions."""
LABELLED_SHARE = 0.5
"""A string (or trigger word) must be labelled in at least this share of its whole-word occurrences."""
PAGE_SIZE = 100


@dataclass
class Matcher:
    """Strings with the entity label they get, and trigger words with the event type they get."""

    entities: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)
    left_out: int = 0
    """Strings and trigger words seen in the gold but left out as ambiguous."""

    def predict(self, article_id: str, text: str) -> dict[str, Any]:
        """A canonical record of this article holding the matcher's entities and triggers."""
        entity_spans = _matches(self.entities, text)
        taken = [(start, end) for start, end, _ in entity_spans]
        trigger_spans = [m for m in _matches(self.triggers, text) if not any(s < m[1] and m[0] < e for s, e in taken)]
        entities = [
            {"id": f"e{n}", "start": s, "end": e, "text": text[s:e], "label": self.entities[text[s:e]]}
            for n, (s, e, _) in enumerate(entity_spans, 1)
        ]
        events = [
            {
                "id": f"v{n}",
                "type": self.triggers[text[s:e]],
                "trigger": {"start": s, "end": e, "text": text[s:e]},
                "arguments": [],
                "attributes": {},
            }
            for n, (s, e, _) in enumerate(trigger_spans, 1)
        ]
        return {"article_id": article_id, "text": text, "entities": entities, "events": events}


def _pattern(strings: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(strings), key=lambda s: (-len(s), s))  # the longest string wins at a position
    if not ordered:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")


def _matches(strings: Mapping[str, str], text: str) -> list[tuple[int, int, str]]:
    pattern = _pattern(strings)
    return [] if pattern is None else [(m.start(), m.end(), m.group()) for m in pattern.finditer(text)]


def _occurrences(word: str, texts: Iterable[tuple[str, list[tuple[int, int]]]]) -> int:
    """Whole-word occurrences of `word` that are not inside a longer gold span of their text."""
    pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)")
    count = 0
    for text, spans in texts:
        for m in pattern.finditer(text):
            inside = any(s <= m.start() and m.end() <= e and (e - s) > (m.end() - m.start()) for s, e in spans)
            count += not inside
    return count


def learn(records: Iterable[Mapping[str, Any]]) -> Matcher:
    """The string matcher of these gold records (see the module docstring for its rules)."""
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    types: dict[str, Counter[str]] = defaultdict(Counter)
    texts: list[tuple[str, list[tuple[int, int]]]] = []
    for record in records:
        spans = [(e["start"], e["end"]) for e in record.get("entities") or []]
        for entity in record.get("entities") or []:
            labels[entity["text"]][entity["label"]] += 1
        for event in record.get("events") or []:
            types[event["trigger"]["text"]][event["type"]] += 1
            spans.append((event["trigger"]["start"], event["trigger"]["end"]))
        texts.append((str(record.get("text") or ""), spans))
    matcher = Matcher()
    for words, counts in labels.items():
        label, top = counts.most_common(1)[0]
        mentions = sum(counts.values())
        clear = top >= LABEL_SHARE * mentions and mentions >= LABELLED_SHARE * _occurrences(words, texts)
        if clear and words.strip():
            matcher.entities[words] = label
        else:
            matcher.left_out += 1
    for words, counts in types.items():
        uses = sum(counts.values())
        if len(counts) == 1 and uses >= LABELLED_SHARE * _occurrences(words, texts) and words.strip():
            matcher.triggers[words] = next(iter(counts))
        else:
            matcher.left_out += 1
    return matcher


# --- the command ----------------------------------------------------------------------------


@dataclass
class SuggestResult:
    project: str
    model_version: str
    learnt_from: dict[str, int]
    """Split → gold articles the matcher learnt from."""
    held_out: str
    strings: int
    trigger_words: int
    left_out: int
    report: ScoreReport
    uploaded: list[int] = field(default_factory=list)
    """Tasks that got a suggestion now."""
    already: int = 0
    """Tasks that already hold this model version's suggestion."""
    annotated: int = 0
    """Tasks left alone because an annotator has labelled (or skipped) them."""
    invalid: list[str] = field(default_factory=list)
    """Tasks whose suggestion broke the scheme and was not sent, with why."""

    def figure(self, measure: str, name: str) -> float | None:
        value = self.report.as_dict()["headline"][measure][name]
        return None if value is None else float(value)


def model_version(folder: Path, manifest: Mapping[str, Any]) -> str:
    return f"{MATCHER}-{manifest.get('name') or folder.parent.name}-{manifest.get('version') or folder.name}"


def suggest(
    workspace: Workspace,
    *,
    project: str | None = None,
    dataset: Path | None = None,
    held_out: str = "test",
) -> SuggestResult:
    """Learn the matcher, score it on the held-out split, push its suggestions to unlabelled tasks."""
    folder = resolve_version(workspace, dataset)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    splits = sorted({str(v.get("split")) for v in manifest.get("articles", {}).values() if isinstance(v, dict)})
    if held_out not in splits:
        raise SuggestError(
            f"Version {manifest.get('version')} has no {held_out!r} split to measure on (it has {', '.join(splits)})."
        )
    learnt: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    for split in splits:
        if split == held_out:
            continue
        gold = load_gold(folder, split, workspace)
        names = list(gold.ontology["attributes"])
        records += [row_as_record(doc, names) for doc in gold.documents.values()]
        learnt[split] = len(gold.documents)
    if not records:
        raise SuggestError(
            f"Version {manifest.get('version')} has no gold outside its {held_out!r} split to learn from."
        )
    matcher = learn(records)
    version = model_version(folder, manifest)
    report = _measure(workspace, matcher, folder, held_out, version)
    title = project or load_project_settings(workspace).project
    result = SuggestResult(
        title, version, learnt, held_out, len(matcher.entities), len(matcher.triggers), matcher.left_out, report
    )
    _push(workspace, title, matcher, result)
    return result


def _measure(workspace: Workspace, matcher: Matcher, folder: Path, split: str, version: str) -> ScoreReport:
    """`annotate score` of the matcher's output on the held-out split (saved under exports/scores/)."""
    gold = load_gold(folder, split, workspace)
    lines = [
        json.dumps(matcher.predict(a, str(doc["text"])), ensure_ascii=False)
        for a, doc in sorted(gold.documents.items())
    ]
    path = workspace.project_state("suggest") / f"{version}.{split}.jsonl"
    write_private(path, "\n".join(lines) + "\n")
    return score(path, dataset=folder, split=split, system=version, workspace=workspace)


def _push(workspace: Workspace, title: str, matcher: Matcher, result: SuggestResult) -> None:
    connection = connect(workspace)
    projects, _ = title_projects(connection, title)
    if not projects:
        raise SuggestError(
            f"Label Studio at {connection.url} has no project titled {title!r}; run `annotate push` first."
        )
    scheme = current_scheme(workspace)
    for remote in projects:  # the one project, or each blind pass
        before = (len(result.uploaded), result.already)
        for task in _tasks(connection, remote.id):
            _suggest_task(connection, task, matcher, scheme, result)
        if (len(result.uploaded), result.already) != before:
            with connection.errors(f"setting {remote.title!r} to show the suggestions"):
                connection.client.projects.update(
                    id=remote.id, model_version=result.model_version, show_collab_predictions=True
                )


def _suggest_task(connection: Any, task: Any, matcher: Matcher, scheme: Any, result: SuggestResult) -> None:
    data = task.data or {}
    if not isinstance(data.get("text"), str) or data.get("article_id") is None:
        return
    if (task.total_annotations or 0) or (task.cancelled_annotations or 0):
        result.annotated += 1
        return
    if result.model_version in {p.model_version for p in task.predictions or []}:
        result.already += 1
        return
    record = matcher.predict(str(data["article_id"]), data["text"])
    full = {"annotation_id": "suggestion", "annotator": MATCHER, "ground_truth": False, "cancelled": False, **record}
    problems = validate_record(full, scheme)
    if problems:
        result.invalid.append(f"task {task.id}: " + "; ".join(p.message for p in problems))
        return
    with connection.errors(f"uploading the suggestion for task {task.id}"):
        connection.client.predictions.create(
            task=task.id, result=record_to_results(record), model_version=result.model_version, request_options=NO_RETRY
        )
    result.uploaded.append(task.id)


def _tasks(connection: Any, project_id: int) -> list[Any]:
    include = "id,data,predictions,total_annotations,cancelled_annotations"
    with connection.errors(f"listing the tasks of project {project_id}"):
        return list(connection.client.tasks.list(project=project_id, page_size=PAGE_SIZE, include=include))
