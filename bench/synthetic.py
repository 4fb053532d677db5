"""A synthetic corpus and synthetic annotations, reproducible from one random seed.

Articles are made of sentences drawn from the seed articles in corpus/, so their text
looks like the real corpus (length, punctuation, quotes) without copying any article
whole. Annotations are canonical records that the scheme accepts: word spans labelled
with entity types, event triggers on other words, arguments pointing only at entities a
role allows, attribute values from the scheme. Two annotators agree on most of it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Iterator

from annotate.core.corpus import Article, iter_articles
from annotate.core.scheme import EVENT_TARGET, EventType, Scheme
from annotate.core.workspace import Workspace

SEED = 20240614
ARTICLE_CHARS = 3000
ENTITIES = 30
EVENTS = 6
ANNOTATORS = ("ana@bench.local", "ben@bench.local")
_SENTENCE_END = re.compile(r"(?<=[.!?…”\"])\s+(?=[A-Z“\"])")
_WORD = re.compile(r"[A-Za-z][\w’'-]*\w|[A-Za-z]")


def seed_sentences(workspace: Workspace) -> list[str]:
    """Every sentence of the seed corpus, split on sentence ends."""
    sentences = []
    for article in iter_articles(workspace):
        for line in article.text.split("\n"):
            sentences += [s.strip() for s in _SENTENCE_END.split(line) if len(s.strip()) > 20]
    if not sentences:
        raise SystemExit(f"No seed sentences in {workspace.corpus}: the benchmark needs the corpus articles.")
    return sentences


def make_article(index: int, sentences: list[str], rng: random.Random) -> Article:
    """Drawn sentences up to about ARTICLE_CHARS characters, in paragraphs of three to five."""
    paragraphs: list[list[str]] = []
    size = 0
    while size < ARTICLE_CHARS:
        if not paragraphs or len(paragraphs[-1]) >= rng.randint(3, 5):
            paragraphs.append([])
        sentence = rng.choice(sentences)
        paragraphs[-1].append(sentence)
        size += len(sentence) + 1
    text = "\n".join(" ".join(paragraph) for paragraph in paragraphs)
    metadata = {"source": "synthetic", "date": f"2024-{1 + index % 12:02d}-{1 + index % 28:02d}"}
    return Article(id=f"bench-{index:06d}", text=text, title=f"Synthetic article {index}", metadata=metadata)


def iter_corpus(count: int, sentences: list[str], *, seed: int = SEED) -> Iterator[Article]:
    rng = random.Random(seed)
    for index in range(count):
        yield make_article(index, sentences, rng)


# --- annotations ---------------------------------------------------------------------------------


@dataclass
class _Spans:
    """Distinct words of a text, handed out once each so no two regions share a span."""

    words: list[tuple[int, int]]

    def take(self, rng: random.Random, count: int) -> list[tuple[int, int]]:
        picked = rng.sample(range(len(self.words)), min(count, len(self.words)))
        taken = [self.words[i] for i in sorted(picked)]
        keep = set(picked)
        self.words = [w for i, w in enumerate(self.words) if i not in keep]
        return taken


def _entities(text: str, spans: _Spans, scheme: Scheme, rng: random.Random) -> list[dict[str, Any]]:
    labels = scheme.entity_names
    return [
        {"id": f"e{n}", "start": start, "end": end, "text": text[start:end], "label": rng.choice(labels)}
        for n, (start, end) in enumerate(spans.take(rng, ENTITIES), 1)
    ]


def _arguments(kind: EventType, entities: list[dict], others: list[str], rng: random.Random) -> list[dict]:
    arguments = []
    for role in rng.sample(kind.roles, min(len(kind.roles), rng.randint(1, 3))):
        if EVENT_TARGET in role.targets and others:
            arguments.append({"role": role.name, "target": rng.choice(others)})
            continue
        fitting = [e["id"] for e in entities if e["label"] in role.targets]
        if fitting:
            arguments.append({"role": role.name, "target": rng.choice(fitting)})
    return arguments


def _events(text: str, spans: _Spans, entities: list[dict], scheme: Scheme, rng: random.Random) -> list[dict]:
    triggers = spans.take(rng, EVENTS)
    ids = [f"v{n}" for n in range(1, len(triggers) + 1)]
    events = []
    for event_id, (start, end) in zip(ids, triggers):
        kind = rng.choice(scheme.events)
        others = [i for i in ids if i != event_id]
        attributes = {a.name: rng.choice(a.values) for a in scheme.attributes if rng.random() < 0.5}
        events.append(
            {
                "id": event_id,
                "type": kind.name,
                "trigger": {"start": start, "end": end, "text": text[start:end]},
                "arguments": _arguments(kind, entities, others, rng),
                "attributes": attributes,
            }
        )
    return events


def annotation(article: Article, scheme: Scheme, rng: random.Random) -> dict[str, Any]:
    """The entities and events of one annotator's annotation of an article."""
    spans = _Spans([m.span() for m in _WORD.finditer(article.text)])
    entities = _entities(article.text, spans, scheme, rng)
    return {"entities": entities, "events": _events(article.text, spans, entities, scheme, rng)}


def second_opinion(first: dict[str, Any], scheme: Scheme, rng: random.Random) -> dict[str, Any]:
    """Another annotator's version: a few unreferenced entities left out, some attributes changed."""
    used = {a["target"] for e in first["events"] for a in e["arguments"]}
    entities = [e for e in first["entities"] if e["id"] in used or rng.random() > 0.1]
    events = []
    for event in first["events"]:
        attributes = dict(event["attributes"])
        if rng.random() < 0.3:
            polarity = scheme.attribute("polarity")
            attributes["polarity"] = rng.choice(polarity.values) if polarity else attributes.get("polarity")
        events.append({**event, "attributes": {k: v for k, v in attributes.items() if v is not None}})
    return {"entities": entities, "events": events}


def record(article: Article, content: dict[str, Any], *, annotator: str, annotation_id: str) -> dict[str, Any]:
    """A full canonical record of one annotation, as gold or as an annotator's record."""
    return {
        "article_id": article.id,
        "annotation_id": annotation_id,
        "annotator": annotator,
        "ground_truth": False,
        "cancelled": False,
        "lead_time": 120.0,
        "title": article.title,
        "text": article.text,
        **content,
    }
