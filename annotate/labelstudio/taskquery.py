"""The data manager's task list, read raw: the filter that pages through tasks and the page it answers.

Pull, watch and status ask for tasks this way (keyset paging by id, optionally changed since a time);
this module is the one place that spells the query and checks the answer.
"""

from __future__ import annotations

import json
from typing import Any

from annotate.core.errors import LabelStudioError
from annotate.core.inputs import load_json

FILTER_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How the data manager's Datetime filters spell a time."""


def task_query(after_id: int, since: str | None) -> str:
    """Data manager filters: tasks after a task id (keyset paging), changed since a time, by id."""
    items: list[dict[str, Any]] = [
        {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": after_id}
    ]
    if since:
        items.append(
            {"filter": "filter:tasks:updated_at", "operator": "greater_or_equal", "type": "Datetime", "value": since}
        )
    return json.dumps({"filters": {"conjunction": "and", "items": items}, "ordering": ["tasks:id"]})


def parse_task_page(body: bytes, url: str) -> dict[str, Any]:
    try:
        page = load_json(body)
    except ValueError:
        page = None
    if not isinstance(page, dict) or not isinstance(page.get("tasks"), list):
        raise LabelStudioError(
            f"Label Studio at {url} answered the task list with something other than a page of tasks. "
            "Check that the URL points at Label Studio 1.23 or later."
        )
    return page
