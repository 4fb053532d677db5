"""`annotate push` against the real Label Studio: project, tasks, reruns, interruptions, predictions."""

from __future__ import annotations

import datetime
import json
import re
import socket
from pathlib import Path

import pytest

from annotate.core import derive

from annotate.labelstudio import server
from annotate.core.corpus import Article, load_corpus, write_article
from annotate.core.errors import LabelConfigRefused, PushInterrupted
from annotate.labelstudio.instructions import markdown_to_html

from .builders import REPO
from annotate.labelstudio.push import Stage, push
from annotate.labelstudio.push import task_data as push_task_data
from annotate.core.scheme import load_scheme

from .helpers import assert_no_traceback, run_cli


def _tasks(label_studio, project_id: int) -> list:
    client = label_studio.connection().client
    return list(client.tasks.list(project=project_id, page_size=100, include="id,data,predictions"))


def _article_ids(tasks: list) -> list[str]:
    return [task.data["article_id"] for task in tasks]


def test_push_creates_one_task_per_article_with_the_schemes_config_and_the_guidelines(
    workspace, label_studio, unique_title
):
    (workspace.guidelines / "zz-escaping.md").write_text(
        "## Dates & times\n\nMark <script>alert(1)</script> spans & keep <b>tags</b> out.\n", encoding="utf-8"
    )
    articles = load_corpus(workspace)

    first = push(workspace, project=unique_title, annotators_per_task=2, blind=False)

    client = label_studio.connection().client
    project = client.projects.get(id=first.project_id)
    assert first.project_created and first.url == f"{label_studio.url}/projects/{first.project_id}"
    scheme = load_scheme(workspace.scheme_path)
    # Label Studio keeps the config without its final newline.
    assert project.label_config == derive.label_config(scheme).strip()
    assert project.label_config == (workspace.labels / "label_config.xml").read_text(encoding="utf-8").strip()
    assert project.show_instruction and project.maximum_annotations == 2
    instructions = project.expert_instruction
    assert "<code>PER</code>" in instructions and "<table>" in instructions
    assert "<h2>Dates &amp; times</h2>" in instructions
    assert "&lt;script&gt;" in instructions and "<script" not in instructions and "<b>" not in instructions

    tasks = _tasks(label_studio, first.project_id)
    assert sorted(_article_ids(tasks)) == sorted(a.id for a in articles)
    by_id = {task.data["article_id"]: task.data for task in tasks}
    for article in articles:
        data = by_id[article.id]
        assert data["text"] == article.text and data["title"] == article.display_title
        assert data["text_sha256"] == article.text_sha256
        assert all(data[key] == value for key, value in article.metadata.items())
    assert sorted(first.created) == sorted(a.id for a in articles)

    second = push(workspace, project=unique_title)
    again = _tasks(label_studio, first.project_id)
    assert not second.project_created and second.project_id == first.project_id
    assert second.created == [] and sorted(second.skipped) == sorted(a.id for a in articles)
    assert sorted(t.id for t in again) == sorted(t.id for t in tasks)


def test_the_default_project_title_comes_from_annotate_yaml(workspace, label_studio, unique_title):
    settings = workspace.root / "annotate.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "project: North Korea - Russia summits and arms deals", f"project: {unique_title}"
    ), encoding="utf-8")
    result = run_cli("push")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert unique_title in result.stdout and "5 created, 0 skipped" in result.stdout
    assert re.search(rf"{re.escape(label_studio.url)}/projects/\d+", result.stdout)


def test_raw_html_in_guidelines_is_escaped_and_unsafe_links_dropped():
    html = markdown_to_html('<img src=x onerror="alert(1)"> a < b & c [x](javascript:alert(1)) [ok](https://example.org)')
    assert "<img" not in html and "&lt;img" in html
    assert "a &lt; b &amp; c" in html
    assert "javascript:" not in html and 'href="https://example.org"' in html


def test_a_push_stopped_by_a_server_going_down_finishes_on_rerun_without_duplicates(
    own_workspace, own_label_studio, unique_title
):
    workspace, label_studio = own_workspace, own_label_studio  # a server of its own: it is stopped here
    for number in range(300):
        text = f"Synthetic article {number}: the delegation met in Pyongyang on day {number}."
        write_article(workspace.corpus, Article(id=f"synthetic-{number:04d}", text=text, title=f"Synthetic {number}"))
    expected = sorted(a.id for a in load_corpus(workspace))
    settings = server.load_settings(label_studio.workspace)
    seen: list[int] = []

    def stop_the_server_midway(step) -> None:
        seen.append(step.done)
        if step.stage is Stage.tasks and step.done == 120:
            server.stop(label_studio.workspace)

    try:
        with pytest.raises(PushInterrupted) as stopped:
            push(workspace, project=unique_title, batch_size=40, on_progress=stop_the_server_midway)
    finally:
        server.start(label_studio.workspace, port=settings.port, database=settings.database)

    message = str(stopped.value)
    assert "cannot be reached" in message and "annotate push" in message and "120 of 305" in message
    assert settings.api_key not in message
    assert 120 in seen and max(seen) < len(expected)

    result = push(workspace, project=unique_title, batch_size=40)
    ids = _article_ids(_tasks(label_studio, result.project_id))
    assert sorted(ids) == expected
    assert len(result.skipped) >= 120 and len(result.created) + len(result.skipped) == len(expected)


def _prediction_file(path: Path, article: Article) -> Path:
    text = article.text
    start = text.index("Vladimir Putin")
    meeting = text.index("meeting")
    good = {
        "article_id": article.id,
        "entities": [{"id": "e1", "start": start, "end": start + 14, "text": "Vladimir Putin", "label": "PER"}],
        "events": [
            {
                "id": "v1",
                "type": "Contact.Meet",
                "trigger": {"start": meeting, "end": meeting + 7, "text": "meeting"},
                "arguments": [{"role": "Participant", "target": "e1"}],
                "attributes": {"modality": "Other"},
            }
        ],
    }
    unknown_label = {**good, "entities": [{**good["entities"][0], "label": "DICTATOR"}], "events": []}
    outside = {**good, "entities": [{**good["entities"][0], "start": len(text) + 5, "end": len(text) + 19}], "events": []}
    lines = [good, unknown_label, outside, {**good, "article_id": "not-in-the-corpus"}]
    path.write_text("\n".join(json.dumps(item) for item in lines) + "\n{not json\n", encoding="utf-8")
    return path


def test_predictions_appear_on_their_tasks_and_bad_records_are_refused_by_name(
    workspace, label_studio, unique_title, tmp_path
):
    article = next(a for a in load_corpus(workspace) if "Vladimir Putin" in a.text and "meeting" in a.text)
    path = _prediction_file(tmp_path / "gazetteer.jsonl", article)

    result = push(workspace, project=unique_title, predictions=path)

    report = result.predictions
    assert report.model_version == "gazetteer" and report.uploaded == 1
    refused = {issue.line: issue for issue in report.refused}
    assert sorted(refused) == [2, 3, 5]
    assert refused[2].article_id == article.id and "DICTATOR" in refused[2].reason
    assert refused[3].article_id == article.id and "offsets" in refused[3].reason
    assert [(i.line, i.article_id) for i in report.not_in_project] == [(4, "not-in-the-corpus")]

    task = next(t for t in _tasks(label_studio, result.project_id) if t.data["article_id"] == article.id)
    assert [p.model_version for p in task.predictions] == ["gazetteer"]
    results = task.predictions[0].result
    assert {r["value"]["labels"][0] for r in results if r["type"] == "labels"} == {"PER", "Contact.Meet"}
    assert any(r["type"] == "relation" and r["labels"] == ["Contact.Meet: Participant"] for r in results)

    rerun = run_cli("push", "--project", unique_title, "--predictions", str(path), "--model-version", "gazetteer")
    assert_no_traceback(rerun)
    assert rerun.exit_code == 1
    assert "0 uploaded, 1 skipped" in rerun.stdout
    assert f"line 2, article {article.id}" in rerun.stderr and "DICTATOR" in rerun.stderr
    assert "line 4, article not-in-the-corpus" in rerun.stderr
    task = next(t for t in _tasks(label_studio, result.project_id) if t.data["article_id"] == article.id)
    assert len(task.predictions) == 1


def test_an_article_whose_text_changed_is_reported_not_reimported(workspace, label_studio, unique_title):
    first = push(workspace, project=unique_title)
    article = load_corpus(workspace)[0]
    original = article.text
    article.text = original + "\n\nA paragraph added after the push."
    write_article(workspace.corpus, article)

    result = run_cli("push", "--project", unique_title)

    assert_no_traceback(result)
    assert "0 created" in result.stdout and "1 changed" in result.stdout
    assert f"changed  {article.id}" in result.stderr and "annotate corpus add" in result.stderr
    tasks = _tasks(label_studio, first.project_id)
    assert len(tasks) == len(first.created)
    assert next(t for t in tasks if t.data["article_id"] == article.id).data["text"] == original


def test_a_config_that_drops_a_label_in_use_is_refused_naming_the_label(workspace, label_studio, unique_title):
    first = push(workspace, project=unique_title)
    client = label_studio.connection().client
    task = _tasks(label_studio, first.project_id)[0]
    value = {"start": 0, "end": 1, "text": task.data["text"][0], "labels": ["LAW"]}
    client.annotations.create(
        id=task.id, result=[{"id": "r1", "from_name": "entity", "to_name": "text", "type": "labels", "value": value}]
    )
    scheme = workspace.scheme_path.read_text(encoding="utf-8")
    without_law = re.sub(r"  - name: LAW\n(    .*\n)+", "", scheme)
    assert without_law != scheme
    workspace.scheme_path.write_text(without_law, encoding="utf-8")

    with pytest.raises(LabelConfigRefused, match=r"LAW \(1 annotation\)"):
        push(workspace, project=unique_title)
    result = run_cli("push", "--project", unique_title)
    assert_no_traceback(result)
    assert result.exit_code == 1 and "LAW" in result.stderr and "labels/scheme.yaml" in result.stderr
    project = client.projects.get(id=first.project_id)
    assert 'value="LAW"' in project.label_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_one_sentence_no_key(workspace, monkeypatch):
    key = "secret-key-that-must-not-show-0123456789"
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", key)
    result = run_cli("push")
    assert_no_traceback(result)
    assert result.exit_code != 0
    assert "cannot be reached" in result.stderr and key not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_key_one_sentence_no_key(workspace, label_studio, monkeypatch):
    key = "wrong-key-that-must-not-show-9876543210"
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", key)
    result = run_cli("push")
    assert_no_traceback(result)
    assert result.exit_code != 0
    assert "refused the API key" in result.stderr and key not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_recorded_annotations_come_back_as_that_accounts_annotations(workspace, label_studio, unique_title):
    """A recorded pass (canonical records) is imported once per task, by its own account, and pulls back unchanged."""
    from annotate.labelstudio.pull import pull
    from annotate.core.records import iter_records
    from annotate.core.workspace import slugify

    recorded = REPO / "corpus" / "annotations" / "pass-c.jsonl"
    account = f"pass-c-{unique_title.split()[-1]}@seed.example"  # an account of this test's own: no test order counts
    first = run_cli("push", "--project", unique_title, "--annotations", str(recorded), "--annotator", account)
    assert first.exit_code == 0, first.output + first.stderr
    assert "5 imported" in first.stdout and "first-login password" in first.stdout
    again = run_cli("push", "--project", unique_title, "--annotations", str(recorded), "--annotator", account)
    assert again.exit_code == 0 and "0 imported, 5 skipped" in again.stdout

    pull(workspace, project=unique_title)
    pulled = {r["article_id"]: r for r in iter_records(workspace.records_path(slugify(unique_title)))}
    assert len(pulled) == 5
    for original in iter_records(recorded):
        back = pulled[original["article_id"]]
        assert back["annotator"] != "pass-c" and "@" not in back["annotator"]  # a pseudonym of the account
        key = lambda e: (e["start"], e["end"], e["label"])  # noqa: E731
        assert sorted(map(key, back["entities"])) == sorted(map(key, original["entities"]))
        assert {e["id"]: e for e in back["events"]} == {e["id"]: e for e in original["events"]}


def test_annotations_without_an_annotator_are_refused(workspace):
    result = run_cli("push", "--annotations", "some.jsonl")
    assert result.exit_code == 2
    assert "--annotator" in result.stderr


def test_a_damaged_corpus_file_is_named_and_the_good_articles_are_still_pushed(workspace, label_studio, unique_title):
    (workspace.corpus / "zz-edited-by-hand.txt").write_text("---\nid: [unclosed\n---\nSome text.\n", encoding="utf-8")
    result = run_cli("push", "--project", unique_title)
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "zz-edited-by-hand.txt" in result.stderr and "not valid YAML" in result.stderr
    assert "5 created" in result.stdout


def test_a_task_deleted_in_label_studio_is_pushed_again_despite_the_saved_task_map(workspace, label_studio, unique_title):
    """The map a push saves is trusted only while nobody added or deleted tasks since."""
    first = push(workspace, project=unique_title)
    assert len(first.created) == 5 and len(first.task_ids) == 5
    same = push(workspace, project=unique_title)
    assert same.created == [] and len(same.skipped) == 5  # from the saved map
    gone = sorted(first.task_ids)[0]
    label_studio.connection().client.tasks.delete(id=first.task_ids[gone])
    again = push(workspace, project=unique_title)
    assert again.created == [gone] and len(again.skipped) == 4
    assert len(_tasks(label_studio, first.project_id)) == 5


def test_a_project_changed_in_label_studio_is_brought_back_and_one_whose_title_holds_it_is_left_alone(
    workspace, label_studio, unique_title
):
    """A push with nothing new still compares the project's instructions and overlap with what it sends."""
    first = push(workspace, project=unique_title, annotators_per_task=2, blind=False)
    client = label_studio.connection().client
    sent = client.projects.get(id=first.project_id).expert_instruction
    longer = push(workspace, project=f"{unique_title} copy")  # its title contains the first one's
    client.projects.update(id=first.project_id, expert_instruction="<p>edited by hand</p>", show_instruction=False)

    again = push(workspace, project=unique_title, annotators_per_task=3, blind=False)
    project = client.projects.get(id=first.project_id)
    assert again.project_id == first.project_id and again.created == [] and len(again.skipped) == 5
    assert project.expert_instruction == sent and project.show_instruction and project.maximum_annotations == 3
    other = client.projects.get(id=longer.project_id)
    assert other.expert_instruction == sent and other.maximum_annotations == 1 and other.task_number == 5


def test_a_task_someone_else_imports_during_a_push_is_found_by_the_next_push(workspace, label_studio, unique_title):
    """The saved map holds only the tasks this push saw, so a task added beside it must make the next push list."""
    late = Article(id="late-arrival", text="Seoul said on Friday that the talks had ended.", title="Late")
    from_elsewhere = {"data": push_task_data(late)}
    sent: list[int] = []

    def import_beside(progress) -> None:
        if progress.stage == Stage.tasks and progress.done and not sent:
            client = label_studio.connection().client
            project = next(p for p in client.projects.list(title=unique_title) if p.title == unique_title)
            answer = client.projects.import_tasks(id=project.id, request=[from_elsewhere], return_task_ids=True)
            sent.extend(answer.task_ids)

    first = push(workspace, project=unique_title, batch_size=2, on_progress=import_beside)
    assert len(first.created) == 5 and len(sent) == 1
    write_article(workspace.corpus, late)  # the same article reaches this corpus afterwards
    again = push(workspace, project=unique_title)
    assert again.created == [] and "late-arrival" in again.skipped
    assert sorted(_article_ids(_tasks(label_studio, first.project_id))).count("late-arrival") == 1


def test_tasks_sent_as_json_encoded_beforehand_are_stored_or_refused_with_label_studios_reason(
    workspace, label_studio, unique_title
):
    """Push sends each batch as JSON it encoded beside the previous request, not through the SDK's encoder."""
    from label_studio_sdk.core.api_error import ApiError

    project = push(workspace, project=unique_title)
    connection = label_studio.connection()
    path = f"api/projects/{project.project_id}/import"
    with pytest.raises(ApiError) as refused:
        connection.post_raw(path, {"return_task_ids": "true"}, json.dumps([{"data": {"title": "no text"}}]).encode())
    assert refused.value.status_code == 400 and "text" in json.dumps(refused.value.body)
    body = json.dumps([{"data": {"text": "Körper"}}], ensure_ascii=False).encode()
    answer = connection.post_raw(path, {"return_task_ids": "true"}, body)
    assert len(answer["task_ids"]) == 1
    assert connection.client.tasks.get(id=answer["task_ids"][0]).data["text"] == "Körper"


def test_metadata_json_cannot_carry_goes_as_text(workspace, label_studio, unique_title):
    """YAML front matter can hold dates and `.nan`; a task's data is JSON, which has neither."""
    odd = Article(id="odd-metadata", text="Pyongyang and Moscow signed a treaty.", metadata={"score": float("nan")})
    odd.metadata["seen"] = datetime.date(2024, 6, 19)
    write_article(workspace.corpus, odd)
    result = push(workspace, project=unique_title)
    assert "odd-metadata" in result.created
    data = next(t.data for t in _tasks(label_studio, result.project_id) if t.data["article_id"] == "odd-metadata")
    assert data["score"] == "NaN" and data["seen"] == "2024-06-19"
