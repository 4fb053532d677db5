"""Wrong types in what the real Label Studio hands back: each annotation quarantined by name, the good ones kept.

Label Studio stores an annotation's `result` as the client sent it, so an API client (a script, an
import) can leave values of the wrong type in a project. `pull` checks every task against the
export schema before converting it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from label_studio_sdk.core.api_error import ApiError

from annotate.core.records import iter_records
from annotate.core.workspace import slugify
from tests.helpers import assert_no_traceback, run_cli


def _region(text: str, part: str, *, start: Any = None, labels: Any = None) -> dict[str, Any]:
    begin = text.index(part)
    value = {"start": begin if start is None else start, "end": begin + len(part), "text": part,
             "labels": ["PER"] if labels is None else labels}
    return {"id": "e1", "from_name": "entity", "to_name": "text", "type": "labels", "value": value}


def _role_of_a_meeting(text: str, part: str, labels: Any) -> list[dict[str, Any]]:
    """`part` as a PER and as the trigger of a meeting it takes part in, the role relation carrying `labels`."""
    trigger = {**_region(text, part, labels=["Contact.Meet"]), "id": "v1", "from_name": "trigger"}
    relation = {"from_id": "v1", "to_id": "e1", "type": "relation", "direction": "right", "labels": labels}
    return [_region(text, part), trigger, relation]


BAD_RESULTS = {
    "labels-a-number": lambda text, part: [_region(text, part, labels=5)],
    "decimal-offset": lambda text, part: [_region(text, part, start=float(text.index(part)))],
    "label-a-list": lambda text, part: [_region(text, part, labels=[["PER"]])],
    "span-text-a-number": lambda text, part: [{**_region(text, part), "value": {**_region(text, part)["value"], "text": 5}}],
    "role-a-list": lambda text, part: _role_of_a_meeting(text, part, [["Contact.Meet: Participant"]]),
}


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
def test_an_annotation_of_the_wrong_shape_in_label_studio_is_quarantined_and_the_rest_pulled(
    workspace, label_studio, unique_title, case
):
    """Feeds: a pushed project where one task has a good annotation and one whose result holds a value of the
    wrong type (labels 5, a decimal offset, a label that is a list, a span text that is a number), made
    through the API."""
    assert run_cli("push", "--project", unique_title).exit_code == 0
    client = label_studio.connection().client
    project = next(p for p in client.projects.list(title=unique_title) if p.title == unique_title)
    tasks = [t for t in client.tasks.list(project=project.id, page_size=100)]
    good_task, bad_task = tasks[0], tasks[1]
    word = good_task.data["text"].split()[0]
    client.annotations.create(id=good_task.id, result=[_region(good_task.data["text"], word)])
    bad_word = bad_task.data["text"].split()[0]
    try:
        bad = client.annotations.create(id=bad_task.id, result=BAD_RESULTS[case](bad_task.data["text"], bad_word))
    except ApiError as exc:  # Label Studio itself refused the value: nothing reached the pull
        pytest.fail(f"Label Studio refused the {case} annotation ({exc.status_code}); choose another case")

    result = run_cli("pull", "--project", unique_title)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr
    records = list(iter_records(workspace.records_path(slugify(unique_title))))
    assert [r["task_id"] for r in records] == [good_task.id]
    quarantined = list(iter_records(workspace.quarantine_path(slugify(unique_title))))
    assert [(q["task_id"], q["annotation_id"]) for q in quarantined] == [(bad_task.id, str(bad.id))]
    assert f"task {bad_task.id}" in result.stderr
    json.dumps(quarantined, allow_nan=False)
