"""Builders the test modules share: project files, projects annotated in Label Studio, seed spans.

Test modules import from here (and from helpers.py), never from one another.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from annotate.core.corpus import article_from_text, load_corpus, write_article
from annotate.core.records import record_to_results, write_records
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core import generated
from annotate.core.workspace import Workspace
from annotate.dataset.tokens import Span
from annotate.labelstudio.client import connect
from annotate.labelstudio.projects import project_tasks
from annotate.labelstudio.push import push
from annotate.labelstudio.team import team_add

REPO = Path(__file__).resolve().parent.parent


SEED_1_0_0 = REPO / "corpus" / "annotations" / "1.0.0"
"""The seed's version 1.0.0 as it was made: its scheme, guidelines, two passes, curation and provenance."""


def as_seed_1_0_0(workspace: Workspace) -> Workspace:
    """Turn a copy of the project into the seed as it stood at 1.0.0 (scheme 1.0.0, guidelines 1.1, pass-a/-b).

    The tests of work made under the first scheme (migrations, rebuilding 1.0.0) start here, so they
    keep testing what they did when the project's own scheme moves on.
    """
    shutil.copy2(SEED_1_0_0 / "scheme.yaml", workspace.scheme_path)
    shutil.copy2(SEED_1_0_0 / "annotation-guidelines.md", workspace.guidelines / "annotation-guidelines.md")
    shutil.rmtree(workspace.labels / "migrations", ignore_errors=True)
    recorded = workspace.corpus / "annotations"
    shutil.rmtree(recorded)
    recorded.mkdir()
    for name in ("pass-a.jsonl", "pass-b.jsonl", "curation.jsonl", "provenance.yaml"):
        shutil.copy2(SEED_1_0_0 / name, recorded / name)
    generated.scheme(workspace)
    return workspace


def copy_project_files(root: Path) -> Workspace:
    """A fresh workspace with the repository's scheme, guidelines and corpus."""
    for name in ("labels", "guidelines", "corpus"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "annotate.yaml", root / "annotate.yaml")
    (root / "exports").mkdir()
    return Workspace(root)


# --- projects annotated in Label Studio, for the agreement, adjudication and team tests ---


def new_annotators(workspace, label_studio, count: int) -> list[int]:
    """Fresh annotator accounts made by `team add`; their Label Studio user ids."""
    emails = [f"annotator-{uuid.uuid4().hex[:8]}@example.org" for _ in range(count)]
    team_add(workspace, emails)
    users = {u.email: u.id for u in label_studio.connection().client.users.list()}
    return [users[email] for email in emails]


def project_with(workspace, title: str, texts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A project holding exactly these articles (pushed from a corpus of them): name → {task, text}."""
    shutil.rmtree(workspace.corpus)
    articles = {name: article_from_text(text, title=name) for name, text in texts.items()}
    for article in articles.values():
        write_article(workspace.corpus, article)
    result = push(workspace, project=title, annotators_per_task=3)
    tasks = project_tasks(connect(workspace), result.project_id)
    return {
        name: {"task": tasks[a.id].id, "text": a.text, "project": result.project_id, "article_id": a.id}
        for name, a in articles.items()
    }


def span(text: str, words: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(words, start + 1)
    return start, start + len(words)


def entity(text: str, region: str, words: str, label: str) -> dict[str, Any]:
    start, end = span(text, words)
    return {"id": region, "start": start, "end": end, "text": words, "label": label}


def event(text: str, region: str, words: str, kind: str, arguments=(), **attributes) -> dict[str, Any]:
    start, end = span(text, words)
    return {
        "id": region,
        "type": kind,
        "trigger": {"start": start, "end": end, "text": words},
        "arguments": [{"role": role, "target": target} for role, target in arguments],
        "attributes": attributes,
    }


def annotate_in_label_studio(label_studio, task: int, user: int, entities=(), events=(), **flags) -> int:
    """Submit an annotation to the task as `user` (ground_truth / was_cancelled in flags)."""
    results = record_to_results({"entities": list(entities), "events": list(events)})
    client = label_studio.connection().client
    made = client.annotations.create(id=task, result=results, completed_by=user, **flags)
    return made.id


# --- spans of the seed articles -------------------------------------------------------------


def seed_entity_spans(text: str) -> list[Span]:
    """Every occurrence of some names in a seed article, longest first, never overlapping."""
    names = {
        "Kim Jong Un": "PER", "Kim Jong-un": "PER", "Vladimir Putin": "PER", "Putin": "PER", "Kim": "PER",
        "North Korea": "GPE", "Russia": "GPE", "Pyongyang": "GPE", "Moscow": "GPE", "Vladivostok": "GPE",
        "Ukraine": "GPE", "United States": "GPE", "U.S.": "GPE", "Kremlin": "ORG", "White House": "ORG",
        "artillery shells": "WEA", "missiles": "WEA", "train": "VEH",
    }
    taken = [False] * len(text)
    spans = []
    for name in sorted(names, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:
            end = start + len(name)
            if not any(taken[start:end]):
                taken[start:end] = [True] * len(name)
                spans.append(Span(start, end, names[name]))
            start = text.find(name, end)
    return sorted(spans, key=lambda s: s.start)


# --- gold and records of the seed articles, written without a server -----------------------

ANNOTATORS = ("a3f91c0d2e7b", "5be04a9d11c6")
# Trigger words of the seed articles, with the event type they stand for and the role of a PER/GPE argument.
TRIGGERS = {
    "meet": ("Contact.Meet", "Participant"),
    "visit": ("Movement.Travel", "Traveler"),
    "denied": ("Statement.Deny", "Denier"),
    "sanctions": ("Sanction.Impose", "Imposer"),
}


def _events(text: str, entities: list[dict]) -> list[dict]:
    """A few events per article: the first occurrence of each trigger word not inside an entity."""
    agents = [e for e in entities if e["label"] in ("PER", "GPE")]
    taken = {i for e in entities for i in range(e["start"], e["end"])}
    events = []
    for word, (kind, role) in TRIGGERS.items():
        start = text.find(word)
        if start < 0 or taken & set(range(start, start + len(word))):
            continue
        nearest = min(agents, key=lambda e: abs(e["start"] - start), default=None)
        if kind == "Movement.Travel" and nearest and nearest["label"] != "PER":
            nearest = next((e for e in agents if e["label"] == "PER"), None)
        arguments = [{"role": role, "target": nearest["id"]}] if nearest else []
        attributes = {"modality": "Other", "tense": "Future"} if word == "visit" else {}
        events.append(
            {
                "id": f"v{len(events) + 1}",
                "type": kind,
                "trigger": {"start": start, "end": start + len(word), "text": word},
                "arguments": arguments,
                "attributes": attributes,
            }
        )
    if len(events) >= 2 and events[-1]["type"] == "Statement.Deny":
        events[-1]["arguments"].append({"role": "Topic", "target": events[0]["id"]})
    return events


def make_record(article, annotator: str, *, keep_every: int = 1, ground_truth: bool = False, number: int = 1) -> dict:
    spans = seed_entity_spans(article.text)[::keep_every]
    entities = [
        {"id": f"e{i}", "start": s.start, "end": s.end, "text": article.text[s.start : s.end], "label": s.label}
        for i, s in enumerate(spans, 1)
    ]
    return {
        "article_id": article.id,
        "annotation_id": f"{article.id[:6]}-{number}",
        "task_id": number,
        "annotator": annotator,
        "ground_truth": ground_truth,
        "cancelled": False,
        "lead_time": 120.5,
        "created_at": "2024-06-01T10:00:00Z",
        "updated_at": "2024-06-01T10:00:00Z",
        "title": article.title,
        "text": article.text,
        "entities": entities,
        "events": _events(article.text, entities),
        "scheme_version": current_scheme(Workspace(REPO)).version,  # made under the project's scheme
    }


def write_gold_and_records(ws: Workspace) -> dict[str, dict]:
    """Records of two annotators on four seed articles (one marked ground truth), gold for the rest;
    the fifth article has neither. Returns the expected gold record per article id."""
    slug = load_project_settings(ws).project_slug
    articles = load_corpus(ws)
    annotated, skipped = articles[:4], articles[4]
    records, gold, expected = [], [], {}
    for n, article in enumerate(annotated):
        first = make_record(article, ANNOTATORS[0], ground_truth=(n == 0), number=2 * n + 1)
        second = make_record(article, ANNOTATORS[1], keep_every=2, number=2 * n + 2)
        records += [first, second]
        how = {"method": "majority" if n % 2 else "curator", "annotators": list(ANNOTATORS)}
        adjudicated = {**make_record(article, "gold", keep_every=3 if n == 0 else 1), "provenance": how}
        gold.append(adjudicated)
        expected[article.id] = first if n == 0 else adjudicated
    write_records(ws.records_path(slug), records)
    write_records(ws.gold_path(slug), gold)
    assert skipped.id not in expected
    return expected
