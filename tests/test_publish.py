"""`annotate publish`: a versioned dataset folder that `datasets.load_dataset` reads in one line."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset

from annotate.core.corpus import load_corpus
from annotate.core.derive import features
from annotate.core.errors import HubError
from annotate.core.scheme import current_scheme
from annotate.dataset.publish import publish, split_of
from annotate.core.records import iter_records, write_records
from annotate.core.settings import load_project_settings
from annotate.dataset.tokens import Span, Token, spans_from_tags
from annotate.core.workspace import Workspace
from annotate.quality.agreement import compute_agreement
from annotate.quality.report import save_report
from tests.helpers import assert_no_traceback, run_cli
from tests.builders import ANNOTATORS, make_record, write_gold_and_records

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def load(folder: Path, config: str):
    return load_dataset(str(folder), config, cache_dir=str(folder.parent.parent / ".hf-cache"))


# --- the folder loads with the declared features ------------------------------------------


@pytest.fixture
def published(offline_workspace: Workspace):
    expected = write_gold_and_records(offline_workspace)
    result = publish(offline_workspace, version="1.0.0")
    return offline_workspace, result, expected


def test_each_config_loads_in_one_line_with_the_declared_features(published) -> None:
    ws, result, _ = published
    scheme = current_scheme(ws)
    assert result.folder == ws.exports / "nk-russia-events" / "1.0.0"
    for config in ("documents", "tokens", "annotations"):
        dataset = load(result.folder, config)
        for split in dataset.values():
            assert split.features == features(scheme, config), config
    documents = load(result.folder, "documents")
    assert sum(len(s) for s in documents.values()) == 4
    assert set(documents) == {split_of(i) for i in result.changelog["added"]}


def test_counts_equal_the_gold_set_and_ground_truth_wins(published) -> None:
    ws, result, expected = published
    rows = [row for split in load(result.folder, "documents").values() for row in split]
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == set(expected)
    for article_id, record in expected.items():
        row = by_id[article_id]
        assert len(row["entities"]) == len(record["entities"])
        assert len(row["events"]) == len(record["events"])
        assert [e["text"] for e in row["entities"]] == [e["text"] for e in record["entities"]]
    assert result.entities == sum(len(r["entities"]) for r in expected.values())
    assert result.events == sum(len(r["events"]) for r in expected.values())
    ground_truth = next(r for r in expected.values() if r["ground_truth"])
    assert by_id[ground_truth["article_id"]]["gold_from"] == "ground_truth"
    others = [by_id[i]["gold_from"] for i in expected if i != ground_truth["article_id"]]
    assert sorted(others) == ["curator", "majority", "majority"]
    assert result.left_out == 1


def test_labels_and_attributes_come_back_by_name(published) -> None:
    ws, result, expected = published
    documents = load(result.folder, "documents")
    split = next(iter(documents.values()))
    entity_label = split.features["entities"].feature["label"]
    event = split.features["events"].feature
    row = next(r for s in documents.values() for r in s if r["events"])
    record = expected[row["id"]]
    assert [entity_label.int2str(e["label"]) for e in row["entities"]] == [e["label"] for e in record["entities"]]
    first = record["events"][0]
    assert event["type"].int2str(row["events"][0]["type"]) == first["type"]
    modality = event["modality"].int2str(row["events"][0]["modality"])
    assert modality == first["attributes"].get("modality", "Asserted")


def test_tokens_round_trip_to_the_entity_spans(published) -> None:
    ws, result, expected = published
    tokens = load(result.folder, "tokens")
    total = 0
    for split in tokens.values():
        names = split.features["ner_tags"].feature
        for row in split:
            record = expected[row["id"]]
            toks = [Token(t, s, e) for t, s, e in zip(row["tokens"], row["token_starts"], row["token_ends"])]
            assert all(record["text"][t.start : t.end] == t.text for t in toks)
            spans = spans_from_tags(toks, [names.int2str(t) for t in row["ner_tags"]])
            assert spans == [Span(e["start"], e["end"], e["label"]) for e in record["entities"]]
            total += len(spans)
    assert total == result.entities


def test_annotations_hold_every_annotator_record_by_pseudonym(published) -> None:
    ws, result, _ = published
    annotations = load(result.folder, "annotations")
    rows = [row for split in annotations.values() for row in split]
    assert len(rows) == 8
    assert {row["annotator"] for row in rows} == set(ANNOTATORS)
    assert all(split_of(row["article_id"]) == name for name, split in annotations.items() for row in split)


def _every_text(folder: Path) -> str:
    """Every file of the folder as text; parquet read back as its rows."""
    parts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
            parts.append(json.dumps(pq.read_schema(path).names))
        else:
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def test_no_email_or_server_user_id_in_the_folder(published) -> None:
    ws, result, _ = published
    text = _every_text(result.folder)
    assert not EMAIL.findall(text)
    for name in ("completed_by", "task_id", "user_id", "created_username", "email"):
        assert not re.search(rf"\b{name}\b", text), name


def test_a_record_naming_an_annotator_by_email_or_user_id_is_refused(offline_workspace: Workspace) -> None:
    write_gold_and_records(offline_workspace)
    slug = load_project_settings(offline_workspace).project_slug
    path = offline_workspace.records_path(slug)
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = [json.loads(lines[0]) | {"annotator": "someone@example.org"}, json.loads(lines[1]) | {"annotator": "17"}]
    path.write_text("\n".join([*map(json.dumps, bad), *lines[2:]]) + "\n", encoding="utf-8")
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code == 1
    # The ground-truth record is checked as gold and as an annotation: 3 problems from 2 records.
    assert "3 problem(s)" in result.stderr and "user id" in result.stderr and "annotator" in result.stderr
    assert not (offline_workspace.exports / "nk-russia-events").exists() or not any(
        (offline_workspace.exports / "nk-russia-events").iterdir()
    )


def test_a_pseudonym_made_only_of_digits_is_published(offline_workspace: Workspace) -> None:
    # About one pseudonym in 2,000 (16 hex characters of an HMAC) has no letter; it is no server user id.
    write_gold_and_records(offline_workspace)
    slug = load_project_settings(offline_workspace).project_slug
    path = offline_workspace.records_path(slug)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    pseudonym = "0123456789012345"
    records[1]["annotator"] = pseudonym
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = publish(offline_workspace, version="1.0.0")
    annotations = load(result.folder, "annotations")
    assert pseudonym in {a for split in annotations.values() for a in split["annotator"]}


# --- the card and the manifest ---------------------------------------------------------------


def test_card_declares_configs_and_tells_how_to_load(published) -> None:
    ws, result, _ = published
    card = (result.folder / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en"]
    assert meta["size_categories"] == ["n<1K"] and meta["task_categories"] == ["token-classification"]
    assert {c["config_name"] for c in meta["configs"]} == {"documents", "tokens", "windows", "annotations"}
    assert next(c for c in meta["configs"] if c["config_name"] == "documents")["default"] is True
    for config in meta["configs"]:
        for entry in config["data_files"]:
            assert (result.folder / entry["path"]).is_file()
    assert 'load_dataset("exports/nk-russia-events/1.0.0", "documents")' in card
    # No Hub repository is set: only the local lines, no ORG/NAME placeholder (tests/test_benchmark.py has the Hub case).
    assert "revision=" not in card and "ORG/NAME" not in card
    assert "CONSULT" in card and "Statement.Deny" in card  # the scheme's tables with PLOVER
    assert "Not computed" in card
    assert "1 corpus article(s) had neither" in card
    assert "2 pseudonymous" in card


def test_card_tells_who_annotated_and_how_gold_was_decided_from_the_records(offline_workspace: Workspace) -> None:
    ws = offline_workspace
    write_gold_and_records(ws)
    slug = load_project_settings(ws).project_slug
    records = [json.loads(line) for line in ws.records_path(slug).read_text(encoding="utf-8").splitlines()]
    records[1]["lead_time"] = None  # the second annotator's first record was imported finished
    records[3]["cancelled"] = True
    write_records(ws.records_path(slug), records)
    gold = [json.loads(line) for line in ws.gold_path(slug).read_text(encoding="utf-8").splitlines()]
    for record in gold:
        if record["provenance"]["method"] == "curator":
            record["provenance"]["decided_by"] = "c0ffee00c0ffee00"
    write_records(ws.gold_path(slug), gold)

    card = (publish(ws, version="1.0.0").folder / "README.md").read_text(encoding="utf-8")
    process = card.split("### Annotation process")[1].split("## Labels")[0]
    assert "7 annotation(s) by 2 pseudonymous annotator(s)" in process
    assert f"| `{ANNOTATORS[0]}` | 4 | 4 | 0 | 0 |" in process
    assert f"| `{ANNOTATORS[1]}` | 3 | 2 | 1 | 1 |" in process
    assert "Curator decisions by 1 pseudonymous account(s): `c0ffee00c0ffee00` (1 article(s))" in process
    assert "1 decided by a curator" in process and "2 merged from what most annotators agreed on" in process
    assert f"Ground-truth annotations by 1 pseudonymous account(s): `{ANNOTATORS[0]}` (1 article(s))" in process
    # The seed's recorded passes (corpus/annotations/provenance.yaml, copied with the corpus) describe imported work.
    assert "**Recorded passes**" in process and "`pass-c.jsonl`: made by a language-model annotator" in process
    assert "no human has annotated or reviewed it" in process


def test_card_of_work_done_in_the_browser_makes_no_claim_about_recorded_passes(published) -> None:
    ws, result, _ = published
    card = (result.folder / "README.md").read_text(encoding="utf-8")
    assert "Recorded passes" not in card and "language-model" not in card
    assert f"| `{ANNOTATORS[0]}` | 4 | 4 | 0 | 0 |" in card


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("passes: [{file: pass-a.jsonl}]", "must have exactly `file`, `made_by` and `how`"),
        ("passes: [{file: gone.jsonl, made_by: x, how: y}]", "names gone.jsonl, which is not in"),
        ("annotators: 3", "mapping of `passes`, `curation` and `note` only"),
        ("passes: [unclosed", "not valid YAML"),
    ],
)
def test_a_broken_provenance_file_is_named_and_nothing_is_published(offline_workspace, content, message) -> None:
    write_gold_and_records(offline_workspace)
    (offline_workspace.corpus / "annotations" / "provenance.yaml").write_text(content, encoding="utf-8")
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code == 1 and message in result.stderr
    assert not (offline_workspace.exports / "nk-russia-events" / "1.0.0").exists()


def test_the_old_annotation_note_setting_is_refused_with_where_it_went(offline_workspace) -> None:
    path = offline_workspace.root / "annotate.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  annotation_note: made by hand\n", encoding="utf-8")
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code == 1 and "corpus/annotations/provenance.yaml" in result.stderr


def test_card_quotes_the_agreement_json_published_beside_the_manifest(offline_workspace: Workspace) -> None:
    write_gold_and_records(offline_workspace)
    settings = load_project_settings(offline_workspace)
    scheme = current_scheme(offline_workspace)
    report = compute_agreement(
        iter_records(offline_workspace.records_path(settings.project_slug)),
        defaults=scheme.defaults(),
        entity_names=scheme.entity_names,
        event_names=scheme.event_names,
        project=settings.project,
        task_url=lambda task_id: f"http://127.0.0.1:8080/projects/1/data?task={task_id}",
        resamples=200,
        gamma=False,
    )
    save_report(report, offline_workspace.agreement_dir())

    result = publish(offline_workspace, version="1.0.0")

    published = json.loads((result.folder / "agreement.json").read_text(encoding="utf-8"))
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    assert "agreement.json" in manifest["files"]
    assert published["headline"] == report.as_dict()["headline"]
    # The private server's task links stay out of the published copy.
    assert published["articles"] and not any("url" in row for row in published["articles"])
    card = (result.folder / "README.md").read_text(encoding="utf-8")
    strict = next(row for row in published["headline"] if row["name"] == "strict_f1")
    low, high = strict["ci"]
    assert (
        f"| Entity F1, strict | {strict['value']:.3f} | {low:.3f} to {high:.3f} | "
        f"{published['definitions']['strict']} |" in card
    )
    assert "Krippendorff's alpha, modality |" in card and "seed 15" in card


def test_manifest_checksums_every_file(published) -> None:
    ws, result, _ = published
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    files = {p.relative_to(result.folder).as_posix() for p in result.folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((result.folder / name).read_bytes()).hexdigest() == entry["sha256"]
    assert manifest["scheme"]["version"] == current_scheme(ws).version
    assert "source_commit" in manifest
    assert manifest["changelog"]["previous"] is None and len(manifest["changelog"]["added"]) == 4


# --- versions ------------------------------------------------------------------------------


def test_republishing_a_version_is_refused(published) -> None:
    ws, result, _ = published
    before = (result.folder / "manifest.json").read_bytes()
    again = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(again)
    assert again.exit_code == 1
    assert "already published" in again.stderr and "--bump" in again.stderr
    assert (result.folder / "manifest.json").read_bytes() == before


def test_a_version_lower_than_the_latest_is_refused(published) -> None:
    ws, _, _ = published
    assert publish(ws, version="1.2.0").version == "1.2.0"
    lower = run_cli("publish", "--version", "1.1.9")
    assert_no_traceback(lower)
    assert lower.exit_code == 1
    assert "lower than 1.2.0" in lower.stderr and "1.2.1" in lower.stderr
    history = ws.exports / "nk-russia-events"
    assert sorted(p.name for p in history.iterdir()) == ["1.0.0", "1.2.0"]
    assert publish(ws, version="1.2.1").version == "1.2.1"


def test_bump_continues_from_the_last_version_with_a_changelog(published) -> None:
    ws, result, expected = published
    slug = load_project_settings(ws).project_slug
    gold = [json.loads(line) for line in ws.gold_path(slug).read_text(encoding="utf-8").splitlines()]
    changed = gold[1]
    changed["entities"] = changed["entities"][:-1]
    write_records(ws.gold_path(slug), gold)
    cli = run_cli("publish", "--bump", "minor")
    assert_no_traceback(cli)
    assert cli.exit_code == 0, cli.stderr
    assert "1.1.0" in cli.stdout
    manifest = json.loads((ws.exports / "nk-russia-events" / "1.1.0" / "manifest.json").read_text(encoding="utf-8"))
    log = manifest["changelog"]
    assert log["previous"] == "1.0.0" and log["changed"] == [changed["article_id"]]
    assert log["added"] == [] and log["removed"] == []
    dropped = expected[changed["article_id"]]["entities"][-1]["label"]
    count = log["label_counts"]["entities"][dropped]
    assert count["current"] == count["previous"] - 1
    assert publish(ws, bump="patch").version == "1.1.1"
    assert publish(ws, bump="major").version == "2.0.0"
    # An article keeps its split across versions.
    first = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))["articles"]
    assert {k: v["split"] for k, v in first.items()} == {k: v["split"] for k, v in manifest["articles"].items()}


def test_the_split_is_a_fixed_function_of_the_article_id() -> None:
    # Fixed here so a change to the rule (which would move articles between splits) fails loudly.
    assert split_of("d944e0626bb6adca") == "train"
    assert split_of("f5d89058319349cd") == "test"
    assert split_of("93ab68e0815518b9") == "train"
    shares = [split_of(f"article-{i}") for i in range(10_000)]
    assert 7_700 < shares.count("train") < 8_300 and 800 < shares.count("validation") < 1_200


def test_an_interrupted_publish_leaves_no_version(offline_workspace: Workspace, monkeypatch) -> None:
    write_gold_and_records(offline_workspace)
    history = offline_workspace.exports / "nk-russia-events"
    history.mkdir(parents=True)
    stale = history / ".partial-1.0.0-999999999"
    (stale / "data").mkdir(parents=True)
    import annotate.dataset.card

    def interrupted(facts):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(annotate.dataset.card, "render_card", interrupted)
        with pytest.raises(KeyboardInterrupt):
            publish(offline_workspace, version="1.0.0")
    assert list(history.iterdir()) == []  # neither a version nor a partial folder, the stale one cleaned too
    assert publish(offline_workspace, version="1.0.0").written


def test_parquet_is_written_in_batches_with_progress(offline_workspace: Workspace, monkeypatch) -> None:
    import annotate.dataset.rows

    write_gold_and_records(offline_workspace)
    monkeypatch.setattr(annotate.dataset.rows, "BATCH_ROWS", 1)
    seen = []
    result = publish(offline_workspace, version="1.0.0", on_progress=lambda step: seen.append((step.done, step.total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    train = pq.ParquetFile(result.folder / "data" / "annotations" / "train.parquet")
    assert train.metadata.num_row_groups == train.metadata.num_rows > 1
    assert len(load(result.folder, "annotations")["train"]) == train.metadata.num_rows


def test_out_folder_holds_the_versions(offline_workspace: Workspace, tmp_path: Path) -> None:
    write_gold_and_records(offline_workspace)
    cli = run_cli("publish", "--version", "0.1.0", "--out", str(tmp_path / "scratch"))
    assert_no_traceback(cli)
    assert cli.exit_code == 0, cli.stderr
    folder = tmp_path / "scratch" / "0.1.0"
    assert f'load_dataset("{folder}", "documents")' in cli.stdout
    assert sum(len(s) for s in load(folder, "documents").values()) == 4
    assert publish(offline_workspace, bump="patch", out=tmp_path / "scratch").version == "0.1.1"
    refused = run_cli("publish", "--version", "1.0.0", "--out", str(offline_workspace.exports / "raw"))
    assert_no_traceback(refused)
    assert refused.exit_code == 1 and "choose another --out" in refused.stderr


def test_names_and_versions_that_would_leave_the_dataset_folder_are_refused(offline_workspace: Workspace) -> None:
    write_gold_and_records(offline_workspace)
    for version in ("../1.0.0", "1.0", "1.0.0/../../raw"):
        result = run_cli("publish", "--version", version)
        assert_no_traceback(result)
        assert result.exit_code != 0 and "X.Y.Z" in result.stderr
    settings = (offline_workspace.root / "annotate.yaml").read_text(encoding="utf-8")
    for name in ("raw", "../elsewhere"):
        changed = settings.replace("name: nk-russia-events", f"name: {name}")
        (offline_workspace.root / "annotate.yaml").write_text(changed, encoding="utf-8")
        result = run_cli("publish", "--version", "1.0.0")
        assert_no_traceback(result)
        assert result.exit_code != 0 and "annotate.yaml" in result.stderr
    assert sorted(p.name for p in offline_workspace.exports.iterdir()) == ["gold", "records"]


def test_no_gold_is_a_sentence(offline_workspace: Workspace) -> None:
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code == 1 and "annotate adjudicate" in result.stderr


# --- the Hub --------------------------------------------------------------------------------


class RecordingHub:
    """Stands in for huggingface_hub.HfApi only (the Hub is not reachable from the test machines)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return type("CommitInfo", (), {"oid": "c0ffee"})()

    def create_tag(self, repo_id, **kwargs):
        self.calls.append(("create_tag", {"repo_id": repo_id, **kwargs}))


def test_push_uploads_the_folder_and_tags_the_commit(published, monkeypatch) -> None:
    ws, result, _ = published
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    hub = RecordingHub()
    pushed = publish(ws, bump="patch", push_to_hub="acme/nk-russia-events", hub=hub)
    names = [name for name, _ in hub.calls]
    assert names == ["create_repo", "upload_folder", "create_tag"]
    upload = hub.calls[1][1]
    assert Path(upload["folder_path"]) == pushed.folder and upload["repo_type"] == "dataset"
    assert hub.calls[2][1]["tag"] == "v1.0.1" and hub.calls[2][1]["revision"] == "c0ffee"
    assert all(call["token"] == "hf_secret_token_value" for _, call in hub.calls)
    card = (pushed.folder / "README.md").read_text(encoding="utf-8")
    assert 'load_dataset("acme/nk-russia-events", "documents", revision="v1.0.1")' in card


def test_dry_run_sends_nothing_and_writes_nothing(published, monkeypatch) -> None:
    ws, result, _ = published
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    hub = RecordingHub()
    dry = publish(ws, version="1.2.0", push_to_hub="acme/nk-russia-events", dry_run=True, hub=hub)
    assert hub.calls == []
    assert not dry.folder.exists() and dry.tag == "v1.2.0"
    assert {"README.md", "manifest.json", "data/documents/train.parquet"} <= {f.path for f in dry.files}
    assert sorted(p.name for p in (ws.exports / "nk-russia-events").iterdir()) == ["1.0.0"]
    cli = run_cli("publish", "--version", "1.2.0", "--push-to-hub", "acme/nk-russia-events", "--dry-run")
    assert_no_traceback(cli)
    assert cli.exit_code == 0, cli.stderr
    for shown in ("data/tokens/train.parquet", "manifest.json", "v1.2.0", "acme/nk-russia-events"):
        assert shown in cli.stdout
    assert "hf_secret_token_value" not in cli.stdout + cli.stderr


def test_an_unreachable_hub_is_a_sentence_without_the_token(published, monkeypatch) -> None:
    from huggingface_hub import HfApi

    ws, result, _ = published
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    # The real client, pointed at a loopback port where nothing listens.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hub = HfApi(endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(HubError) as caught:
        publish(ws, version="1.0.0", push_to_hub="acme/nk-russia-events", hub=hub)
    message = str(caught.value)
    assert "--push-to-hub acme/nk-russia-events" in message and "hf_secret_token_value" not in message


def test_push_without_a_token_is_a_sentence(published, monkeypatch) -> None:
    ws, result, _ = published
    monkeypatch.delenv("HF_TOKEN", raising=False)
    cli = run_cli("publish", "--bump", "patch", "--push-to-hub", "acme/nk-russia-events")
    assert_no_traceback(cli)
    assert cli.exit_code == 1 and "HF_TOKEN" in cli.stderr


# --- from a real Label Studio ----------------------------------------------------------------


def test_publish_from_gold_pulled_from_label_studio(workspace: Workspace, label_studio, unique_title: str) -> None:
    """Two annotator accounts annotate the seed articles in Label Studio; one annotation per article on
    three of them is marked ground truth; pull brings them back; publish builds from that gold."""
    import uuid

    from annotate.labelstudio.client import connect
    from annotate.labelstudio.pull import pull
    from annotate.labelstudio.projects import project_tasks
    from annotate.labelstudio.push import push
    from annotate.core.records import record_to_results
    from annotate.labelstudio.team import team_add
    from annotate.quality.adjudicate import adjudicate

    emails = [f"publish-{uuid.uuid4().hex[:8]}@example.org" for _ in range(2)]
    team_add(workspace, emails)
    client = label_studio.connection().client
    users = {u.email: u.id for u in client.users.list()}
    pushed = push(workspace, project=unique_title, annotators_per_task=2)
    tasks = project_tasks(connect(workspace), pushed.project_id)
    articles = load_corpus(workspace)
    expected = {}
    for n, article in enumerate(articles):
        for k, email in enumerate(emails):
            record = make_record(article, "unused", keep_every=k + 1)
            truth = n < 3 and k == 0
            client.annotations.create(
                id=tasks[article.id].id, result=record_to_results(record), completed_by=users[email], ground_truth=truth
            )
            if truth:
                expected[article.id] = record
    pulled = pull(workspace, project=unique_title)
    assert pulled.records_written == 10 and not pulled.quarantined
    decided = adjudicate(workspace, project=unique_title)  # ground truth as gold; the two others to curation
    assert sorted(o.article_id for o in decided.gold) == sorted(expected)

    result = publish(workspace, version="1.0.0", project=unique_title)
    rows = {row["id"]: row for split in load(result.folder, "documents").values() for row in split}
    assert set(rows) == set(expected) and result.left_out == 2
    for article_id, record in expected.items():
        assert [(e["start"], e["end"]) for e in rows[article_id]["entities"]] == [
            (e["start"], e["end"]) for e in record["entities"]
        ]
        assert len(rows[article_id]["events"]) == len(record["events"])
        assert rows[article_id]["gold_from"] == "ground_truth"
    annotations = [row for split in load(result.folder, "annotations").values() for row in split]
    assert len(annotations) == 10 and len({row["annotator"] for row in annotations}) == 2
    # Neither the annotators' e-mails nor their Label Studio user ids are anywhere in the folder.
    text = _every_text(result.folder)
    assert not EMAIL.findall(text)
    ids = {str(users[email]) for email in emails}
    assert not {row["annotator"] for row in annotations} & ids
    assert not re.search(r"\bcompleted_by\b", text)


def test_an_existing_version_is_pushed_as_it_stands_unless_it_was_altered(published, monkeypatch) -> None:
    ws, result, _ = published
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    before = {p: p.read_bytes() for p in result.folder.rglob("*") if p.is_file()}
    hub = RecordingHub()
    again = publish(ws, version="1.0.0", push_to_hub="acme/nk-russia-events", hub=hub)
    assert not again.written and [name for name, _ in hub.calls][-1] == "create_tag"
    assert {p: p.read_bytes() for p in result.folder.rglob("*") if p.is_file()} == before
    card = result.folder / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nedited by hand\n", encoding="utf-8")
    cli = run_cli("publish", "--version", "1.0.0", "--push-to-hub", "acme/nk-russia-events")
    assert_no_traceback(cli)
    assert cli.exit_code == 1 and "README.md" in cli.stderr and "no longer matches" in cli.stderr
