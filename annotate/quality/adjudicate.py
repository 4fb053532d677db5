"""Adjudication: several annotators' records of an article become one gold record, or a curation task.

For each article of the last pull (cancelled annotations left out, an annotator's latest
annotation only), in this order:

1. an annotation marked ground truth in Label Studio is gold as it stands, when the
   article's ground truths all say the same (`annotate.core.gold`, the rule publish follows
   too); ground truths that differ are a dispute and go to curation like any other;
2. a curator's submission for the article (see below) is gold;
3. with fewer than `min_annotators` annotations the article is reported, not made gold,
   unless `allow_single`;
4. otherwise the annotations are merged unit by unit - entity spans (start, end, label),
   triggers (start, end, type), arguments (trigger, role, target span) and each attribute
   of an accepted trigger (with the scheme's default where none was set). A unit is
   accepted when more than half of the article's annotators marked it. When every unit
   any annotator marked is accepted, the merge is gold; when some are in dispute, a
   curation task is made and the article waits for the curator.

Why a separate curation project rather than a prediction on the original task: a
curator opening the curation project sees only articles that need a decision, each
pre-filled (as the project's prediction, loaded into the editor) with the accepted units
and every disputed candidate, with the list of disputes shown at the top (and kept
in each disputed region's notes). Nothing there is mixed with the annotators' own work, the
annotation project's overlap settings and label stream stay untouched, and whatever is
submitted in that project is, by construction, a curator's decision: pulling it
tells the decisions apart from annotations without any flag to forget. `adjudicate` pulls
the curation project itself, so the decision becomes gold at the next adjudicate after
it is submitted. A curator's decision is final for its article; later annotations of that
article do not reopen it.

Gold records are canonical records (annotator "gold") with a `provenance` object saying
how the record was decided and, for each unit, which pseudonymous annotators marked it
and whether the curator decided it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any
from collections.abc import Iterable

from annotate.core import derive
from annotate.core.exports import AnnotatedArticle as Article
from annotate.core.exports import group_articles
from annotate.labelstudio.client import Connection, connect, find_project
from annotate.labelstudio.passes import curation_title
from annotate.core.errors import ExportError, UsageError
from annotate.core.scheme import current_scheme
from annotate.core.records import effective_attributes, iter_records, record_to_results, write_records
from annotate.core.scheme import Scheme
from annotate.core.settings import load_project_settings
from annotate.core.gold import GroundTruths
from annotate.core.workspace import Workspace, locked, normalise_title, project_slug
from annotate.core.validate import validate_record
from annotate.labelstudio.instructions import instructions
from annotate.labelstudio.pull import pull
from annotate.labelstudio.projects import (
    NO_RETRY,
    AnnotationsResult,
    PredictionIssue,
    ensure_project,
    import_annotations,
    project_tasks,
    read_prediction_lines,
)

GOLD_ANNOTATOR = "gold"
CURATION_MODEL = "adjudication"
"""The model version of the pre-filled curation predictions; the curation project shows it to curators."""

EntityKey = tuple[int, int, str]
TriggerKey = tuple[int, int, str]
TargetKey = tuple[str, int, int, str]
ArgumentKey = tuple[TriggerKey, str, TargetKey]


class Method(str, Enum):
    ground_truth = "ground_truth"
    curator = "curator"
    majority = "majority"
    single = "single"


# --- votes -------------------------------------------------------------------------------


@dataclass
class Votes:
    """Who marked each unit of one article, and the span texts to write the units back with."""

    annotators: list[str]
    text: str
    entities: dict[EntityKey, list[str]] = field(default_factory=lambda: defaultdict(list))
    triggers: dict[TriggerKey, list[str]] = field(default_factory=lambda: defaultdict(list))
    arguments: dict[ArgumentKey, list[str]] = field(default_factory=lambda: defaultdict(list))
    attributes: dict[tuple[TriggerKey, str], dict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    texts: dict[tuple[int, int], str] = field(default_factory=dict)
    unanimous: bool = False
    """Accept only what every voter marked: for ground truths, each of which claims to be right."""

    def majority(self, voters: Iterable[str]) -> bool:
        if self.unanimous:
            return len(set(voters)) == len(self.annotators)
        return 2 * len(set(voters)) > len(self.annotators)


def entity_key(entity: dict[str, Any]) -> EntityKey:
    return (entity["start"], entity["end"], entity["label"])


def trigger_key(event: dict[str, Any]) -> TriggerKey:
    return (event["trigger"]["start"], event["trigger"]["end"], event["type"])


def unit_keys(record: dict[str, Any], defaults: dict[str, str]):
    """(entities, triggers, arguments, attributes) of a record as keys; attributes with defaults filled in."""
    targets: dict[str, TargetKey] = {e["id"]: ("entity", *entity_key(e)) for e in record.get("entities", [])}
    targets.update({v["id"]: ("event", *trigger_key(v)) for v in record.get("events", [])})
    entities = {entity_key(e): e for e in record.get("entities", [])}
    triggers, arguments, attributes = {}, {}, {}
    for event in record.get("events", []):
        key = trigger_key(event)
        triggers[key] = event
        attributes[key] = effective_attributes(event, defaults)
        for argument in event.get("arguments", []):
            if argument.get("target") in targets:
                arguments[(key, argument["role"], targets[argument["target"]])] = argument
    return entities, triggers, arguments, attributes


def collect_votes(records: dict[str, dict[str, Any]], defaults: dict[str, str]) -> Votes:
    votes = Votes(sorted(records), next(iter(records.values()))["text"])
    for annotator, record in sorted(records.items()):
        entities, triggers, arguments, attributes = unit_keys(record, defaults)
        for key, entity in entities.items():
            votes.entities[key].append(annotator)
            votes.texts[key[:2]] = entity["text"]
        for key, event in triggers.items():
            votes.triggers[key].append(annotator)
            votes.texts[key[:2]] = event["trigger"]["text"]
            for name, value in attributes[key].items():
                votes.attributes[(key, name)][value].append(annotator)
        for key in arguments:
            votes.arguments[key].append(annotator)
    return votes


@dataclass
class Decision:
    """What the majority accepted and what is in dispute, for one article."""

    entities: list[EntityKey]
    triggers: list[TriggerKey]
    arguments: list[ArgumentKey]
    attributes: dict[TriggerKey, dict[str, str]]
    disputed_entities: list[EntityKey]
    disputed_triggers: list[TriggerKey]
    disputed_arguments: list[ArgumentKey]
    disputed_attributes: dict[tuple[TriggerKey, str], dict[str, list[str]]]

    @property
    def disputes(self) -> int:
        return (
            len(self.disputed_entities)
            + len(self.disputed_triggers)
            + len(self.disputed_arguments)
            + len(self.disputed_attributes)
        )


def decide(votes: Votes) -> Decision:
    """Accept what more than half of the article's annotators marked; the rest is in dispute."""

    def split(table: dict) -> tuple[list, list]:
        keys = sorted(table)
        return [k for k in keys if votes.majority(table[k])], [k for k in keys if not votes.majority(table[k])]

    entities, disputed_entities = split(votes.entities)
    triggers, disputed_triggers = split(votes.triggers)
    arguments, disputed_arguments = split(votes.arguments)
    attributes: dict[TriggerKey, dict[str, str]] = defaultdict(dict)
    disputed_attributes = {}
    for (trigger, name), values in sorted(votes.attributes.items()):
        if trigger not in triggers:
            continue  # the trigger itself is in dispute; its attributes go with it
        winner = next((value for value, voters in values.items() if votes.majority(voters)), None)
        if winner is None:
            disputed_attributes[(trigger, name)] = {value: list(voters) for value, voters in values.items()}
        else:
            attributes[trigger][name] = winner
    return Decision(
        entities,
        triggers,
        arguments,
        dict(attributes),
        disputed_entities,
        disputed_triggers,
        disputed_arguments,
        disputed_attributes,
    )


# --- building records --------------------------------------------------------------------


@dataclass
class Built:
    record: dict[str, Any]
    ids: dict[Any, str]
    """Unit key → the id it got in the record."""


def build_record(
    base: dict[str, Any],
    votes: Votes,
    entities: Iterable[EntityKey],
    triggers: Iterable[TriggerKey],
    arguments: Iterable[ArgumentKey],
    attributes: dict[TriggerKey, dict[str, str]],
) -> Built:
    """A canonical record holding exactly these units, with fresh ids (e1…, v1…)."""
    ids: dict[Any, str] = {}
    out_entities, out_events = [], []
    for number, (start, end, label) in enumerate(sorted(entities), 1):
        ids[("entity", start, end, label)] = f"e{number}"
        out_entities.append(
            {"id": f"e{number}", "start": start, "end": end, "text": votes.texts[(start, end)], "label": label}
        )
    by_trigger: dict[TriggerKey, dict[str, Any]] = {}
    for number, key in enumerate(sorted(triggers), 1):
        start, end, kind = key
        ids[("event", *key)] = f"v{number}"
        by_trigger[key] = {
            "id": f"v{number}",
            "type": kind,
            "trigger": {"start": start, "end": end, "text": votes.texts[(start, end)]},
            "arguments": [],
            "attributes": dict(attributes.get(key, {})),
        }
        out_events.append(by_trigger[key])
    for trigger, role, target in sorted(arguments):
        if trigger in by_trigger and target in ids:
            by_trigger[trigger]["arguments"].append({"role": role, "target": ids[target]})
    record = {**base, "entities": out_entities, "events": out_events}
    return Built(record, ids)


def _base(article: Article, *, annotation_id: str, source: dict[str, Any] | None = None) -> dict[str, Any]:
    first = source or next(iter(article.records.values()))
    return {
        "article_id": article.article_id,
        "annotation_id": annotation_id,
        "task_id": article.task_id,
        "annotator": GOLD_ANNOTATOR,
        "ground_truth": bool(source and source.get("ground_truth")),
        "cancelled": False,
        "lead_time": source.get("lead_time") if source else None,
        "created_at": source.get("created_at") if source else None,
        "updated_at": source.get("updated_at") if source else None,
        "title": first.get("title"),
        "text": first["text"],
        **({"scheme_version": first["scheme_version"]} if "scheme_version" in first else {}),
    }


def provenance(
    record: dict[str, Any],
    votes: Votes,
    defaults: dict[str, str],
    *,
    method: Method,
    decided_by: str | None = None,
    curation_task: Any = None,
) -> dict[str, Any]:
    """For each unit of a gold record: who marked it, and whether the curator (not a majority) decided it."""
    accepted = decide(votes)
    majority = set(accepted.entities) | set(accepted.triggers) | set(accepted.arguments)
    curated = method is Method.curator

    def unit(key: Any, voters: list[str]) -> dict[str, Any]:
        return {"agreed": sorted(voters), "curator_decided": curated and key not in majority}

    entities, triggers, arguments, attributes = unit_keys(record, defaults)
    events: dict[str, Any] = {}
    for key, event in triggers.items():
        names = attributes[key]
        events[event["id"]] = {
            **unit(key, votes.triggers.get(key, [])),
            "attributes": {
                name: {
                    "agreed": sorted(votes.attributes.get((key, name), {}).get(value, [])),
                    "curator_decided": curated and accepted.attributes.get(key, {}).get(name) != value,
                }
                for name, value in names.items()
            },
            "arguments": [],
        }
    for key, argument in arguments.items():
        row = {"role": argument["role"], "target": argument["target"], **unit(key, votes.arguments.get(key, []))}
        events[triggers[key[0]]["id"]]["arguments"].append(row)
    found = {
        "method": method.value,
        "annotators": votes.annotators,
        "decided_by": decided_by,
        "curation_task": curation_task,
        "entities": {e["id"]: unit(key, votes.entities.get(key, [])) for key, e in entities.items()},
        "events": events,
    }
    if curated:
        kept = {"entity": set(entities), "trigger": set(triggers), "argument": set(arguments)}
        found["disputes"] = [_choice(d, kept, attributes, votes, decided_by) for d in disputes(votes, accepted)]
    return found


def _choice(dispute: Dispute, kept: dict[str, set], attributes: dict, votes: Votes, curator: str | None) -> dict:
    """One disputed unit as the curator settled it: every candidate, who marked it, whether it was kept."""

    def was_kept(candidate: Candidate) -> bool:
        if dispute.kind in kept:
            return candidate.key in kept[dispute.kind]
        return attributes.get(dispute.region, {}).get(dispute.kind) == candidate.key

    return {
        "number": dispute.number,
        "unit": dispute.kind,
        "where": dispute.where,
        "candidates": [
            {"label": c.label, "marked_by": sorted(set(c.voters)), "kept": was_kept(c)} for c in dispute.candidates
        ],
        "chosen_by": curator,
    }


def gold_as_is(article: Article, source: dict[str, Any], votes: Votes, defaults: dict[str, str], **how) -> dict:
    """A ground-truth annotation or a curator's submission, unchanged but for annotator and provenance."""
    record = {**_base(article, annotation_id=str(source["annotation_id"]), source=source)}
    record["entities"], record["events"] = source.get("entities", []), source.get("events", [])
    record["provenance"] = provenance(record, votes, defaults, **how)
    return record


def gold_from_majority(article: Article, votes: Votes, decision: Decision, defaults: dict[str, str]) -> dict:
    method = Method.single if len(votes.annotators) == 1 else Method.majority
    built = build_record(
        _base(article, annotation_id=f"{method.value}:{article.article_id}"),
        votes,
        decision.entities,
        decision.triggers,
        decision.arguments,
        decision.attributes,
    )
    built.record["provenance"] = provenance(built.record, votes, defaults, method=method)
    return built.record


# --- curation ----------------------------------------------------------------------------

CURATION_HELP = (
    "<h2>Curation</h2><p>Each task here is an article whose annotators disagreed. It opens pre-filled with "
    "what most annotators agreed on and every candidate in dispute; the line at the top lists the disputes. "
    "Delete the candidates that are wrong, add what is missing, set the attributes, and submit: your "
    "submission becomes the gold record of the article at the next <code>annotate adjudicate</code>.</p>"
)


def _who(voters: Iterable[str], votes: Votes) -> str:
    return f"{len(set(voters))} of {len(votes.annotators)}"


@dataclass
class Candidate:
    """One way of settling a disputed unit: a unit key (or an attribute value) and who marked it."""

    key: Any
    label: str
    voters: list[str]


@dataclass
class Dispute:
    """One disputed unit of an article, numbered: a span's label, a trigger's type, a link's role, an attribute."""

    number: int
    kind: str
    where: str
    candidates: list[Candidate]
    region: Any
    """The unit key of the region the dispute is noted on in the curation task."""

    def describe(self, votes: Votes) -> str:
        options = " or ".join(f"{c.label} ({_who(c.voters, votes)})" for c in self.candidates)
        if len(self.candidates) == 1:
            options += " - keep it or delete it"
        elif self.kind == "argument":
            options += " - untick the wrong role(s) on the relation"
        else:
            options += " - keep one"
        return f"{self.number}. {self.kind} {self.where}: {options}"


def _span(votes: Votes, start: int, end: int) -> str:
    return f"{votes.texts[(start, end)]!r} [{start}-{end}]"


def disputes(votes: Votes, decision: Decision) -> list[Dispute]:
    """The article's disputed units, each with every candidate, numbered in text order.

    Candidates of one unit stand together: the labels of one span, the types of one trigger,
    the roles (and target labels) of one link between the same two spans, the values of one
    attribute. Each names its label and offsets, so regions with the same text stay apart.
    """
    # (start, end, kind order, target start, kind, detail): text order, a trigger's links by their target.
    groups: dict[tuple, list[Candidate]] = defaultdict(list)
    for span in decision.disputed_entities:
        groups[(span[0], span[1], 0, 0, "entity", span[:2])].append(Candidate(span, span[2], votes.entities[span]))
    for trig in decision.disputed_triggers:
        groups[(trig[0], trig[1], 1, 0, "trigger", trig[:2])].append(Candidate(trig, trig[2], votes.triggers[trig]))
    for link in decision.disputed_arguments:
        source, role, target = link
        label = f"{role} → {target[3]}" if target[0] == "entity" else f"{role} → event {target[3]}"
        unit = (source[0], source[1], 2, target[1], "argument", (source, target[1:3]))
        groups[unit].append(Candidate(link, label, votes.arguments[link]))
    for (owner, name), values in decision.disputed_attributes.items():
        for value, voters in sorted(values.items()):
            groups[(owner[0], owner[1], 3, 0, name, (owner, name))].append(Candidate(value, value, voters))
    found = []
    for number, (grouped, candidates) in enumerate(sorted(groups.items(), key=lambda item: item[0][:5]), 1):
        start, end, _, _, kind, detail = grouped
        region: Any
        if kind in ("entity", "trigger"):
            where, region = _span(votes, start, end), candidates[0].key
        elif kind == "argument":
            region, (t_start, t_end) = detail
            where = f"{_span(votes, start, end)} {region[2]} → {_span(votes, t_start, t_end)}"
        else:
            where, region = f"of {_span(votes, start, end)} {detail[0][2]}", detail[0]
        found.append(Dispute(number, kind, where, candidates, region))
    return found


DISAGREEMENT_KINDS = ("spans", "types", "roles", "attributes")


def disagreement_kinds(decision: Decision) -> list[str]:
    """What the annotators disagreed on: spans (marked by some only), types (one span, other labels or
    event types), roles (arguments) and attributes, in that order."""
    kinds: set[str] = set()
    for disputed, accepted in (
        (decision.disputed_entities, decision.entities),
        (decision.disputed_triggers, decision.triggers),
    ):
        for key in disputed:
            others = [k for k in disputed + accepted if k[:2] == key[:2] and k != key]
            kinds.add("types" if others else "spans")
    if decision.disputed_arguments:
        kinds.add("roles")
    if decision.disputed_attributes:
        kinds.add("attributes")
    return [kind for kind in DISAGREEMENT_KINDS if kind in kinds]


def article_agreement(article: Article, defaults: dict[str, str]) -> float:
    """How much an article's annotators agreed: agreement's per-article F1 over every pair (strict entities,
    classified triggers and arguments pooled); 1.0 when there was nothing to compare."""
    # lazy: agreement imports scipy and numpy (half a second); adjudicate needs them only for disputes
    from annotate.quality.agreement import article_f1, tally_article

    f1 = article_f1(tally_article(article, defaults).comparison)
    return 1.0 if f1 is None else f1


def worst_first(items: list[tuple[Outcome, dict[str, Any]]]) -> list[tuple[Outcome, dict[str, Any]]]:
    """Curation tasks in increasing agreement (ties by article id): the curator's stream starts with the worst."""
    return sorted(items, key=lambda item: (item[0].agreement, item[0].article_id))


def curation_task(
    article: Article, votes: Votes, decision: Decision, defaults: dict[str, str] | None = None
) -> dict[str, Any]:
    """The task a curator gets: accepted units and every disputed candidate, the disputed ones annotated;
    with the article's agreement and the kinds of disagreement, shown at the top and as Data Manager columns."""
    defaults = defaults or {}
    attributes = {key: dict(values) for key, values in decision.attributes.items()}
    for key in decision.disputed_triggers:
        # A disputed trigger comes with the attribute values its markers agree on.
        agreed = {
            name: next(iter(values)) for (k, name), values in votes.attributes.items() if k == key and len(values) == 1
        }
        attributes[key] = agreed
    built = build_record(
        _base(article, annotation_id="curation"),
        votes,
        decision.entities + decision.disputed_entities,
        decision.triggers + decision.disputed_triggers,
        decision.arguments + decision.disputed_arguments,
        attributes,
    )
    found = disputes(votes, decision)
    notes: dict[str, list[str]] = defaultdict(list)
    for dispute in found:
        if dispute.kind in ("entity", "trigger"):
            kind = dispute.kind
            regions = [built.ids[(kind if kind == "entity" else "event", *c.key)] for c in dispute.candidates]
        else:
            regions = [built.ids[("event", *dispute.region)]]
        for region in regions:
            notes[region].append(dispute.describe(votes))
    results = _one_relation_per_pair(record_to_results(built.record))
    for item in results:
        if item.get("type") == "labels" and item.get("id") in notes:
            item["meta"] = {"text": [f"disputed: {note}" for note in notes[item["id"]]]}
    agreement = round(article_agreement(article, defaults), 3)
    kinds = ", ".join(disagreement_kinds(decision))
    data = {
        "text": built.record["text"],
        "title": built.record.get("title") or article.article_id,
        "article_id": article.article_id,
        "source_task_id": article.task_id,
        "agreement": agreement,
        "disagreement": kinds,
        "disputes": f"In dispute ({len(found)}): " + "; ".join(d.describe(votes) for d in found)
        + f". Agreement {agreement:.2f}; they disagree on {kinds}.",
    }
    return {"data": data, "predictions": [{"model_version": CURATION_MODEL, "result": results}]}


def _one_relation_per_pair(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Relations between the same two regions made into one with every role ticked.

    Label Studio draws one relation per pair of regions: two relations with different roles
    would show as one, and the curator would never see the second role.
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    out = []
    for item in results:
        if item.get("type") != "relation":
            out.append(item)
            continue
        pair = (item["from_id"], item["to_id"])
        if pair in merged:
            merged[pair]["labels"] += [label for label in item["labels"] if label not in merged[pair]["labels"]]
            continue
        merged[pair] = {**item, "labels": list(item["labels"])}
        out.append(merged[pair])
    return out


def curation_config(scheme: Scheme) -> str:
    """The scheme's label config with the task's list of disputes shown above the article."""
    config = derive.label_config(scheme).replace("<View>", '<View>\n  <Header value="$disputes" size="6" />', 1)
    # A link in dispute between the same two regions carries each candidate role, ticked.
    return config.replace("<Relations>", '<Relations choice="multiple">', 1)


def _curation_project(connection: Connection, workspace: Workspace, scheme: Scheme, title: str) -> Any:
    project, _ = ensure_project(
        connection,
        title,
        label_config=curation_config(scheme),
        instructions_html=CURATION_HELP + instructions(workspace, scheme),
        annotators_per_task=1,
    )
    return project


def _send_to_curation(connection: Connection, project: Any, tasks: list[Any]) -> list[int]:
    """Import the curation tasks, once: a retried import whose first answer was lost would duplicate them."""
    with connection.errors(f"creating {len(tasks)} curation task(s) in {project.title!r}"):
        answer = connection.client.projects.import_tasks(
            id=project.id, request=tasks, return_task_ids=True, request_options=NO_RETRY
        )
    return list(getattr(answer, "task_ids", None) or [])  # sent by the server, not declared by the SDK


def _show_prefilled(connection: Connection, project: Any) -> None:
    """Make the curation project load the pre-filled prediction into the editor.

    Done on every run that has curation tasks, so a run interrupted between the import and
    this update is mended by the next one. Label Studio only accepts a model version that
    some prediction already carries, hence after the import.
    """
    with connection.errors(f"setting up the curation project {project.title!r}"):
        connection.client.projects.update(id=project.id, model_version=CURATION_MODEL, show_collab_predictions=True)


def _curator_decisions(workspace: Workspace, connection: Connection, title: str) -> tuple[dict, dict, Any]:
    """(latest curator record per article, curation task per article, project) - empty when no curation yet."""
    project = find_project(connection, title)
    if project is None:
        return {}, {}, None
    pulled = pull(workspace, project=title)
    latest: dict[str, dict[str, Any]] = {}
    for record in iter_records(pulled.records_path):
        current = latest.get(record["article_id"])
        if not record.get("cancelled") and (current is None or _when(record) >= _when(current)):
            latest[record["article_id"]] = record
    return latest, project_tasks(connection, project.id), project


def _when(record: dict[str, Any]) -> tuple[str, str]:
    return (str(record.get("updated_at") or record.get("created_at") or ""), str(record.get("annotation_id")))


# --- the command -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one article."""

    article_id: str
    title: str | None
    annotators: int
    method: Method | None = None
    disputes: int = 0
    curation_task: int | None = None
    problems: tuple[str, ...] = ()
    ground_truths: int = 0
    """When the dispute is between ground-truth annotations that say different things: how many."""
    agreement: float = 1.0
    """For an article in dispute: its annotators' agreement (`article_agreement`); curation goes lowest first."""
    disagreement: tuple[str, ...] = ()
    """For an article in dispute: what they disagreed on (`disagreement_kinds`)."""


@dataclass
class AdjudicationResult:
    project: str
    gold_path: Path
    curation_project: str
    curation_url: str | None = None
    gold: list[Outcome] = field(default_factory=list)
    sent_to_curation: list[Outcome] = field(default_factory=list)
    """Articles in dispute for which this run made a curation task, lowest agreement first."""
    awaiting_curation: list[Outcome] = field(default_factory=list)
    """Articles in dispute whose curation task (made earlier) has no submission yet."""
    too_few: list[Outcome] = field(default_factory=list)
    invalid: list[Outcome] = field(default_factory=list)
    """Articles whose gold record failed validation (kept out of the gold file)."""
    cancelled: int = 0
    decisions: Any = None
    """What happened to a file of recorded curator decisions (`push.AnnotationsResult`), when one was given."""


def _last_pull(workspace: Workspace, title: str) -> list[dict[str, Any]]:
    path = workspace.records_path(project_slug(workspace, title))
    if not path.exists():
        raise ExportError(
            f"No pulled records for the project {title!r} ({path} is missing). Run `annotate pull` first."
        )
    return list(iter_records(path))


@dataclass
class _Run:
    """The state of one adjudication while articles are decided."""

    scheme: Scheme
    result: AdjudicationResult
    curated: dict[str, dict[str, Any]]
    curation_tasks: dict[str, Any]
    allow_single: bool
    min_annotators: int
    truths: dict[str, GroundTruths[dict[str, Any]]] = field(default_factory=dict)
    gold: list[dict[str, Any]] = field(default_factory=list)
    to_curate: list[tuple[Outcome, dict[str, Any]]] = field(default_factory=list)

    def keep(self, outcome: Outcome, record: dict[str, Any]) -> None:
        problems = tuple(str(p) for p in validate_record(record, self.scheme))
        if problems:
            self.result.invalid.append(replace(outcome, problems=problems))
        else:
            self.gold.append(record)
            self.result.gold.append(outcome)

    def article(self, article: Article) -> None:
        defaults = self.scheme.defaults()
        votes = collect_votes(article.records, defaults)
        outcome = Outcome(article.article_id, article.title, len(votes.annotators))
        decided = self._decided(article, votes, defaults)
        truths = self.truths.get(article.article_id)
        if decided is not None:
            self.keep(replace(outcome, method=Method(decided["provenance"]["method"])), decided)
        elif truths is not None and truths.disputed:
            self._dispute_truths(article, truths, outcome, defaults)
        elif len(votes.annotators) < self.min_annotators and not self.allow_single:
            self.result.too_few.append(outcome)
        else:
            self._merge(article, votes, outcome, defaults)

    def _decided(self, article: Article, votes: Votes, defaults: dict[str, str]) -> dict[str, Any] | None:
        """The gold record when someone has decided already: a ground-truth annotation, else a curator."""
        truths = self.truths.get(article.article_id)
        truth = truths.gold if truths is not None else None
        if truth is not None:
            how = {"method": Method.ground_truth, "decided_by": truth["annotator"]}
            return gold_as_is(article, truth, votes, defaults, **how)
        curated = self.curated.get(article.article_id)
        # A decision made on another version of the text would put its spans in the wrong places.
        if curated is not None and curated.get("text") == votes.text:
            how = {
                "method": Method.curator,
                "decided_by": curated["annotator"],
                "curation_task": curated.get("task_id"),
            }
            return gold_as_is(article, curated, votes, defaults, **how)
        return None

    def _dispute_truths(
        self, article: Article, truths: GroundTruths[dict[str, Any]], outcome: Outcome, defaults: dict[str, str]
    ) -> None:
        """Ground truths that differ: what all of them mark is accepted, everything else goes to the curator."""
        records = [record for _, record in truths.latest.values()]
        names = [r["annotator"] for r in records]
        by_voter = {
            (name if names.count(name) == 1 else f"{name} (annotation {r['annotation_id']})"): r
            for name, r in zip(names, records, strict=True)
        }
        votes = collect_votes(by_voter, defaults)
        votes.unanimous = True
        outcome = replace(outcome, ground_truths=truths.distinct)
        self._curate(article, votes, decide(votes), outcome)

    def _curate(self, article: Article, votes: Votes, decision: Decision, outcome: Outcome) -> None:
        outcome = replace(
            outcome,
            disputes=decision.disputes,
            agreement=article_agreement(article, self.scheme.defaults()),
            disagreement=tuple(disagreement_kinds(decision)),
        )
        existing = self.curation_tasks.get(article.article_id)
        if existing is not None:
            self.result.awaiting_curation.append(replace(outcome, curation_task=existing.id))
        else:
            self.to_curate.append((outcome, curation_task(article, votes, decision, self.scheme.defaults())))

    def _merge(self, article: Article, votes: Votes, outcome: Outcome, defaults: dict[str, str]) -> None:
        decision = decide(votes)
        if not decision.disputes:
            record = gold_from_majority(article, votes, decision, defaults)
            self.keep(replace(outcome, method=Method(record["provenance"]["method"])), record)
            return
        self._curate(article, votes, decision, outcome)


def adjudicate(
    workspace: Workspace,
    *,
    project: str | None = None,
    allow_single: bool = False,
    min_annotators: int = 2,
    decisions: Path | None = None,
    curator: str | None = None,
) -> AdjudicationResult:
    """Build the gold set of the last pull; send articles in dispute to the curation project (see module doc).

    `decisions` (with `curator`, an e-mail) is a file of a curator's recorded decisions, canonical
    records of whole articles: they are submitted to the curation tasks of their articles as that
    account's work, exactly as if the curator had submitted them in the browser, and become gold.
    """
    if min_annotators < 1:
        raise UsageError(f"--min-annotators must be 1 or more, not {min_annotators}.")
    if (decisions is None) != (curator is None):
        raise UsageError("--decisions and --curator go together: the file, and the e-mail of the curator's account.")
    title = normalise_title(project or load_project_settings(workspace).project)
    scheme = current_scheme(workspace)
    with locked(workspace, project_slug(workspace, title), "adjudicate"):
        connection = connect(workspace)
        result = _adjudicate_once(workspace, connection, scheme, title, allow_single, min_annotators)
        if decisions is not None and curator is not None:
            recorded = _submit_decisions(workspace, connection, scheme, result.curation_project, decisions, curator)
            if recorded.imported:
                result = _adjudicate_once(workspace, connection, scheme, title, allow_single, min_annotators)
            result.decisions = recorded
    return result


def _submit_decisions(
    workspace: Workspace, connection: Connection, scheme: Scheme, curation: str, path: Path, curator: str
) -> Any:
    lines = read_prediction_lines(Path(path))
    remote = find_project(connection, curation)
    recorded = AnnotationsResult(file=str(path), annotator=curator)
    if remote is None:  # nothing in dispute, so no curation project: every decision is for an article not there
        recorded.not_in_project = [_no_curation(number, item) for number, item in lines]
        return recorded
    import_annotations(workspace, connection, remote.id, lines, scheme, recorded)
    return recorded


def _no_curation(number: int, item: Any) -> Any:
    article = item.get("article_id") if isinstance(item, dict) else None
    return PredictionIssue(number, article, "no curation task: the article is not in dispute")


def _adjudicate_once(
    workspace: Workspace,
    connection: Connection,
    scheme: Scheme,
    title: str,
    allow_single: bool,
    min_annotators: int,
) -> AdjudicationResult:
    records = _last_pull(workspace, title)
    truths: dict[str, GroundTruths[dict[str, Any]]] = defaultdict(GroundTruths)
    for record in records:
        truths[str(record.get("article_id"))].add(record, record)
    articles, cancelled = group_articles(records)
    curation = curation_title(title)
    curated, tasks, remote = _curator_decisions(workspace, connection, curation)
    gold_path = workspace.gold_path(project_slug(workspace, title))
    result = AdjudicationResult(title, gold_path, curation, cancelled=cancelled)
    run = _Run(scheme, result, curated, tasks, allow_single, min_annotators, dict(truths))
    for article in articles:
        run.article(article)
    # Imported in this order, the curation tasks' ids (the label stream's order) go from the worst article up.
    run.to_curate = worst_first(run.to_curate)
    if run.to_curate:
        remote = remote or _curation_project(connection, workspace, scheme, curation)
        ids = _send_to_curation(connection, remote, [task for _, task in run.to_curate])
        for (outcome, _), task_id in zip(run.to_curate, ids + [None] * len(run.to_curate), strict=False):
            result.sent_to_curation.append(replace(outcome, curation_task=task_id))
    if remote is not None:
        if run.to_curate or tasks:
            _show_prefilled(connection, remote)
        result.curation_url = f"{connection.url}/projects/{remote.id}"
    write_records(result.gold_path, sorted(run.gold, key=lambda r: r["article_id"]))
    return result
