"""`annotate adjudicate` against the real Label Studio: ground truth, majority, curation, too few annotations."""

from __future__ import annotations

import re

from annotate.quality.adjudicate import CURATION_MODEL, adjudicate, curation_title
from annotate.core.scheme import current_scheme
from annotate.labelstudio.pull import pull
from annotate.core.records import iter_records
from annotate.core.validate import validate_record

from .helpers import assert_no_traceback, run_cli
from .builders import annotate_in_label_studio, entity, event, new_annotators, project_with

MEETING = "Kim Jong Un met Vladimir Putin in Vostochny on Wednesday."


def _gold(workspace, title: str) -> dict[str, dict]:
    from annotate.core.workspace import slugify

    return {r["title"]: r for r in iter_records(workspace.gold_path(slugify(title)))}


def _units(record: dict) -> tuple:
    """What a record says, without region ids: entity keys, and events with their arguments by target span."""
    spans = {e["id"]: (e["start"], e["end"]) for e in record["entities"]}
    entities = sorted((e["start"], e["end"], e["label"]) for e in record["entities"])
    events = sorted(
        (
            v["trigger"]["start"],
            v["trigger"]["end"],
            v["type"],
            tuple(sorted((a["role"], spans[a["target"]]) for a in v["arguments"])),
            tuple(sorted(v["attributes"].items())),
        )
        for v in record["events"]
    )
    return entities, events


def test_ground_truth_annotation_becomes_gold_unchanged(workspace, label_studio, unique_title):
    a, b = new_annotators(workspace, label_studio, 2)
    tasks = project_with(workspace, unique_title, {"meeting": MEETING})
    text, task = tasks["meeting"]["text"], tasks["meeting"]["task"]
    truth = (
        [entity(text, "t1", "Kim Jong Un", "PER"), entity(text, "t2", "Vostochny", "FAC")],
        [event(text, "t3", "met", "Contact.Meet", [("Participant", "t1"), ("Place", "t2")], tense="Past")],
    )
    annotate_in_label_studio(label_studio, task, a, *truth, ground_truth=True)
    annotate_in_label_studio(label_studio, task, b, [entity(text, "u1", "Putin", "PER")])
    pulled = pull(workspace, project=unique_title)
    source = next(r for r in iter_records(pulled.records_path) if r["ground_truth"])

    result = adjudicate(workspace, project=unique_title)

    gold = _gold(workspace, unique_title)["meeting"]
    assert [o.method.value for o in result.gold] == ["ground_truth"] and not result.sent_to_curation
    assert gold["entities"] == source["entities"] and gold["events"] == source["events"]
    assert gold["text"] == source["text"] and gold["annotator"] == "gold"
    assert gold["provenance"]["method"] == "ground_truth"
    assert gold["provenance"]["decided_by"] == source["annotator"]
    assert validate_record(gold, current_scheme(workspace)) == []


def test_disagreement_goes_to_a_curator_whose_submission_is_gold_after_the_next_pull(
    workspace, label_studio, unique_title
):
    a, b, curator = new_annotators(workspace, label_studio, 3)
    tasks = project_with(workspace, unique_title, {"meeting": MEETING})
    text, task = tasks["meeting"]["text"], tasks["meeting"]["task"]
    # Both mark Kim Jong Un PER and "met"; they disagree on Vostochny's label and on the tense.
    annotate_in_label_studio(
        label_studio,
        task,
        a,
        [entity(text, "a1", "Kim Jong Un", "PER"), entity(text, "a2", "Vostochny", "FAC")],
        [event(text, "a3", "met", "Contact.Meet", [("Participant", "a1")], tense="Past")],
    )
    annotate_in_label_studio(
        label_studio,
        task,
        b,
        [entity(text, "b1", "Kim Jong Un", "PER"), entity(text, "b2", "Vostochny", "GPE")],
        [event(text, "b3", "met", "Contact.Meet", [("Participant", "b1")], tense="Present")],
    )
    pull(workspace, project=unique_title)

    first = adjudicate(workspace, project=unique_title)

    assert first.gold == [] and len(first.sent_to_curation) == 1
    sent = first.sent_to_curation[0]
    assert sent.disputes == 3  # Vostochny FAC, Vostochny GPE, tense
    client = label_studio.connection().client
    curation = client.projects.get(id=int(first.curation_url.rsplit("/", 1)[1]))
    assert curation.title == curation_title(unique_title)
    assert curation.show_collab_predictions and curation.model_version == CURATION_MODEL
    assert '<Header value="$disputes"' in curation.label_config  # the list of disputes, shown to the curator
    curation_task = client.tasks.get(id=sent.curation_task)
    assert curation_task.data["article_id"] == tasks["meeting"]["article_id"] and curation_task.data["text"] == text
    assert "Vostochny" in curation_task.data["disputes"] and "tense" in curation_task.data["disputes"]
    prediction = curation_task.predictions[0]
    labels = prediction["result"] if isinstance(prediction, dict) else prediction.result
    regions = {(r["value"]["text"], r["value"]["labels"][0]): r for r in labels if r["type"] == "labels"}
    # Accepted units come plain, both candidates in dispute come with a note.
    assert "meta" not in regions[("Kim Jong Un", "PER")]
    assert "disputed" in regions[("Vostochny", "FAC")]["meta"]["text"][0]
    assert "disputed" in regions[("Vostochny", "GPE")]["meta"]["text"][0]
    assert "tense" in " ".join(regions[("met", "Contact.Meet")]["meta"]["text"])

    # Running again before the curator submits makes no second task.
    again = adjudicate(workspace, project=unique_title)
    assert again.sent_to_curation == [] and [o.curation_task for o in again.awaiting_curation] == [sent.curation_task]
    assert len(list(client.tasks.list(project=curation.id))) == 1

    # The curator keeps Kim, decides Vostochny is a GPE, adds Wednesday, and sets the tense.
    annotate_in_label_studio(
        label_studio,
        sent.curation_task,
        curator,
        [
            entity(text, "c1", "Kim Jong Un", "PER"),
            entity(text, "c2", "Vostochny", "GPE"),
            entity(text, "c3", "Wednesday", "DATE"),
        ],
        [
            event(
                text,
                "c4",
                "met",
                "Contact.Meet",
                [("Participant", "c1"), ("Place", "c2"), ("Time", "c3")],
                tense="Past",
            )
        ],
    )
    pull(workspace, project=unique_title)
    final = adjudicate(workspace, project=unique_title)

    assert [o.method.value for o in final.gold] == ["curator"] and not final.awaiting_curation
    gold = _gold(workspace, unique_title)["meeting"]
    assert _units(gold) == (
        [(*_span(text, "Kim Jong Un"), "PER"), (*_span(text, "Vostochny"), "GPE"), (*_span(text, "Wednesday"), "DATE")],
        [
            (
                *_span(text, "met"),
                "Contact.Meet",
                (
                    ("Participant", _span(text, "Kim Jong Un")),
                    ("Place", _span(text, "Vostochny")),
                    ("Time", _span(text, "Wednesday")),
                ),
                (("tense", "Past"),),
            )
        ],
    )
    provenance = gold["provenance"]
    assert provenance["method"] == "curator" and provenance["curation_task"] == sent.curation_task
    annotators = provenance["annotators"]
    assert len(annotators) == 2 and provenance["decided_by"] not in annotators
    by_text = {e["text"]: provenance["entities"][e["id"]] for e in gold["entities"]}
    assert by_text["Kim Jong Un"] == {"agreed": annotators, "curator_decided": False}
    assert len(by_text["Vostochny"]["agreed"]) == 1 and by_text["Vostochny"]["curator_decided"]
    assert by_text["Wednesday"] == {"agreed": [], "curator_decided": True}
    met = provenance["events"][gold["events"][0]["id"]]
    assert met["agreed"] == annotators and met["attributes"]["tense"]["curator_decided"]
    assert validate_record(gold, current_scheme(workspace)) == []


def _span(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


def test_majority_of_three_is_gold_with_who_agreed(workspace, label_studio, unique_title):
    a, b, c = new_annotators(workspace, label_studio, 3)
    tasks = project_with(workspace, unique_title, {"meeting": MEETING})
    text, task = tasks["meeting"]["text"], tasks["meeting"]["task"]
    same = (
        [entity(text, "x1", "Kim Jong Un", "PER"), entity(text, "x2", "Vladimir Putin", "PER")],
        [event(text, "x3", "met", "Contact.Meet", [("Participant", "x1"), ("Participant", "x2")])],
    )
    annotate_in_label_studio(label_studio, task, a, *same)
    annotate_in_label_studio(label_studio, task, b, *same)
    # The third marks only Kim: every unit still has two of three annotators behind it.
    annotate_in_label_studio(label_studio, task, c, [entity(text, "y1", "Kim Jong Un", "PER")])
    pulled = pull(workspace, project=unique_title)
    names = {r["annotator"] for r in iter_records(pulled.records_path)}

    result = run_cli("adjudicate", "--project", unique_title)

    assert result.exit_code == 0, result.output
    assert "1 gold, 0 sent to curation" in result.stdout
    gold = _gold(workspace, unique_title)["meeting"]
    # Attributes nobody set are the scheme's defaults, written out.
    defaults = current_scheme(workspace).defaults()
    assert _units(gold) == _units({"entities": same[0], "events": [dict(same[1][0], attributes=defaults)]})
    provenance = gold["provenance"]
    assert provenance["method"] == "majority" and sorted(provenance["annotators"]) == sorted(names)
    kim = next(e["id"] for e in gold["entities"] if e["text"] == "Kim Jong Un")
    putin = next(e["id"] for e in gold["entities"] if e["text"] == "Vladimir Putin")
    assert provenance["entities"][kim]["agreed"] == sorted(names)
    assert len(provenance["entities"][putin]["agreed"]) == 2
    assert not provenance["entities"][putin]["curator_decided"]
    assert validate_record(gold, current_scheme(workspace)) == []


def test_articles_with_too_few_annotations_are_reported_not_gold_unless_allowed(workspace, label_studio, unique_title):
    (a,) = new_annotators(workspace, label_studio, 1)
    tasks = project_with(workspace, unique_title, {"meeting": MEETING})
    text, task = tasks["meeting"]["text"], tasks["meeting"]["task"]
    annotate_in_label_studio(label_studio, task, a, [entity(text, "x1", "Kim Jong Un", "PER")])
    pull(workspace, project=unique_title)

    strict = run_cli("adjudicate", "--project", unique_title)

    assert strict.exit_code == 0, strict.output
    assert "too few" in strict.stdout and tasks["meeting"]["article_id"] in strict.stdout
    assert _gold(workspace, unique_title) == {}

    allowed = adjudicate(workspace, project=unique_title, allow_single=True)

    assert [o.method.value for o in allowed.gold] == ["single"]
    gold = _gold(workspace, unique_title)["meeting"]
    assert [(e["text"], e["label"]) for e in gold["entities"]] == [("Kim Jong Un", "PER")]


def test_adjudicate_without_a_pull_says_what_to_do(workspace, unique_title):
    result = run_cli("adjudicate", "--project", unique_title)

    assert result.exit_code != 0
    assert_no_traceback(result)
    assert "annotate pull" in result.stderr


DOCKING = "The cargo ship docked at Vostochny on Friday."


def _docking(annotator: str, role: str, place: str) -> dict:
    text = DOCKING
    return {
        "article_id": "docking",
        "annotation_id": f"x-{annotator}",
        "task_id": 1,
        "annotator": annotator,
        "ground_truth": False,
        "cancelled": False,
        "title": "Docking",
        "text": text,
        "entities": [entity(text, "s", "cargo ship", "VEH"), entity(text, "p", "Vostochny", place)],
        "events": [event(text, "d", "docked", "Movement.Transport", [(role, "s"), ("Destination", "p")])],
    }


def test_every_candidate_of_a_dispute_is_in_the_curation_task_numbered_by_unit_with_label_and_offsets(
    offline_workspace,
):
    from annotate.quality.adjudicate import collect_votes, curation_task, decide
    from annotate.quality.agreement import group_articles

    defaults = current_scheme(offline_workspace).defaults()
    (article,), _ = group_articles([_docking("ann-a", "Artifact", "FAC"), _docking("ann-b", "Vehicle", "LOC")])
    votes = collect_votes(article.records, defaults)
    task = curation_task(article, votes, decide(votes))

    results = task["predictions"][0]["result"]
    regions = {r["id"]: (r["value"]["text"], r["value"]["labels"][0]) for r in results if r["type"] == "labels"}
    relations = [(regions[r["from_id"]], regions[r["to_id"]], r["labels"]) for r in results if r["type"] == "relation"]
    ship, docked = ("cargo ship", "VEH"), ("docked", "Movement.Transport")
    # Both roles of the one link between the same two regions: one relation, both ticked.
    both = ["Movement.Transport: Artifact", "Movement.Transport: Vehicle"]
    assert [labels for source, target, labels in relations if target == ship] == [both]
    assert (docked, ("Vostochny", "FAC"), ["Movement.Transport: Destination"]) in relations
    assert (docked, ("Vostochny", "LOC"), ["Movement.Transport: Destination"]) in relations

    listed = task["data"]["disputes"]
    at = DOCKING.index("Vostochny")
    ship_at, docked_at = DOCKING.index("cargo ship"), DOCKING.index("docked")
    assert listed.startswith("In dispute (3): 1. ")
    assert f"'cargo ship' [{ship_at}-{ship_at + 10}]" in listed
    # In text order: the trigger's two links (by their target), then the span with two labels.
    trigger = f"'docked' [{docked_at}-{docked_at + 6}] Movement.Transport"
    assert f"1. argument {trigger} → 'cargo ship' [{ship_at}-{ship_at + 10}]: Artifact → VEH (1 of 2) or Vehicle" in listed
    assert f"2. argument {trigger} → 'Vostochny' [{at}-{at + 9}]: Destination → FAC (1 of 2) or Destination → LOC" in listed
    assert f"3. entity 'Vostochny' [{at}-{at + 9}]: FAC (1 of 2) or LOC (1 of 2) - keep one" in listed
    numbers = [int(n) for n in re.findall(r"(?:^In dispute \(3\): |; )(\d+)\. ", listed)]
    assert numbers == [1, 2, 3]


def test_the_curators_pick_is_recorded_per_unit_with_who_made_it(offline_workspace):
    from annotate.quality.adjudicate import Method, collect_votes, provenance
    from annotate.quality.agreement import group_articles

    defaults = current_scheme(offline_workspace).defaults()
    (article,), _ = group_articles([_docking("ann-a", "Artifact", "FAC"), _docking("ann-b", "Vehicle", "FAC")])
    votes = collect_votes(article.records, defaults)
    picked = _docking("curator-x", "Vehicle", "FAC")
    found = provenance(picked, votes, defaults, method=Method.curator, decided_by="curator-x")
    (dispute,) = found["disputes"]
    assert dispute["unit"] == "argument" and dispute["chosen_by"] == "curator-x" and dispute["number"] == 1
    assert dispute["candidates"] == [
        {"label": "Artifact → VEH", "marked_by": ["ann-a"], "kept": False},
        {"label": "Vehicle → VEH", "marked_by": ["ann-b"], "kept": True},
    ]
