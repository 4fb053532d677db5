"""`annotate publish`: the gold set as a versioned dataset folder laid out as a Hugging Face repository.

A version is written into a partial folder beside its target and renamed into place
whole, so an interrupted publish leaves no half version, and a version once written is
never rewritten. Records are streamed and parquet is written in batches per split, so
memory does not grow with the gold set (only small per-article keys are kept).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, UTC
from enum import Enum
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from annotate.dataset import card as card_lib
from annotate.core.corpus import iter_articles
from annotate.core.derive import features as derive_features
from annotate.core.errors import GoldDisputed, PublishError, UsageError
from annotate.core.gold import GroundTruths, is_ground_truth
from annotate.core.migration import semver
from annotate.core.progress import Progress, ProgressCallback
from annotate.core.scheme import current_scheme
from annotate.core.scheme_versions import SchemeChanges, scheme_changes
from annotate.dataset.hub import hub_token, push_folder
from annotate.dataset.provenance import Provenance, load_recorded
from annotate.core.records import iter_records, looks_like_user_id
from annotate.dataset import citation, croissant
from annotate.dataset.rows import DocumentRow, SplitWriter, annotation_row, document_row, row_sha256, tokens_row_of
from annotate.dataset.stats import Statistics
from annotate.dataset.textee import ONTOLOGY, TEXTEE_FOLDER, TexteeWriter, ontology, textee_lines
from annotate.dataset.windows import MAX_WINDOW_TOKENS, article_columns, window_rows_of
from annotate.core.scheme import Scheme
from annotate.core.settings import load_project_settings
from annotate.core.validate import validate_record
from annotate.core.validated import known_valid
from annotate.core.workspace import RESERVED_EXPORT_NAMES, Workspace, locked, normalise_title, project_slug

CONFIGS = ("documents", "tokens", "windows", "annotations")
SPLITS = (("train", 80), ("validation", 10), ("test", 10))
"""Split names with their share of articles in percent, in the order the hash buckets fill them."""
_SPLIT_NAMES = tuple(name for name, _ in SPLITS)
SPLIT_RULE = (
    "An article's split is fixed by its id: the first 8 bytes of sha256(article id) as a big-endian "
    "integer, modulo 100; 0-79 train, 80-89 validation, 90-99 test. The same article keeps its split "
    "in every version."
)
MANIFEST = "manifest.json"
CARD = "README.md"
AGREEMENT = "agreement.json"
CROISSANT = "croissant.json"
CITATION = "CITATION.cff"
SCORES = "scores"
"""Folder under exports/ where `annotate score` keeps its reports, read by publish for the card."""
PARTIAL = ".partial-"
SHOWN_PROBLEMS = 10
_SEMVER = re.compile(r"^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$")
"""X.Y.Z as semantic versioning writes it: no leading zeros, so 01.0.0 can never be a second 1.0.0."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


class Bump(str, Enum):
    major = "major"
    minor = "minor"
    patch = "patch"
    auto = "auto"


@dataclass(frozen=True)
class FileEntry:
    path: str
    bytes: int
    sha256: str


@dataclass
class PublishResult:
    name: str
    version: str
    folder: Path
    tag: str
    files: list[FileEntry]
    rows: dict[str, dict[str, int]]
    articles: int
    left_out: int
    entities: int
    events: int
    changelog: dict[str, Any]
    dry_run: bool = False
    written: bool = False
    hub_repo: str | None = None
    pushed_url: str | None = None
    load_local: str = ""
    load_hub: str | None = None


# --- versions and places ------------------------------------------------------------------------


def split_of(article_id: str) -> str:
    """The split of an article, a pure function of its id (stable across versions and machines)."""
    bucket = int.from_bytes(hashlib.sha256(article_id.encode("utf-8")).digest()[:8], "big") % 100
    for name, share in SPLITS:
        if bucket < share:
            return name
        bucket -= share
    return SPLITS[-1][0]


def _semver(text: str) -> tuple[int, int, int] | None:
    match = _SEMVER.match(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _version_key(name: str) -> tuple[int, int, int]:
    """A version's place in order; a name that is no version sorts first."""
    return _semver(name) or (0, 0, 0)


def published_versions(history: Path) -> list[str]:
    """Versions already published in a dataset folder, oldest first."""
    if not history.is_dir():
        return []
    found = [p.name for p in history.iterdir() if _semver(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=_version_key)


def next_version(previous: str | None, bump: Bump) -> str:
    major, minor, patch = _version_key(previous) if previous else (0, 0, 0)
    if bump is Bump.major:
        return f"{major + 1}.0.0"
    if bump is Bump.minor:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _choose_version(history: Path, version: str | None, bump: Bump | str | None) -> str:
    if version and bump:
        raise UsageError("Give either --version or --bump, not both.")
    if bump:
        try:
            step = Bump(bump)
        except ValueError:
            raise UsageError(f"--bump takes major, minor or patch, not {bump!r}.") from None
        versions = published_versions(history)
        return next_version(versions[-1] if versions else None, step)
    if not version:
        raise UsageError("Say which version to publish: --version X.Y.Z, or --bump major|minor|patch.")
    version = version.removeprefix("v")
    if not _semver(version):
        raise UsageError(
            f"Version {version!r} is not of the form X.Y.Z (for example 1.0.0, numbers without leading zeros); "
            "give one that is."
        )
    return version


def _scheme_changes(workspace: Workspace, history: Path, scheme: Scheme) -> SchemeChanges:
    """The scheme's changes since the scheme version of the last published version."""
    versions = published_versions(history)
    manifest = _read_manifest(history / versions[-1]) if versions else None
    previous = ((manifest or {}).get("scheme") or {}).get("version")
    return scheme_changes(workspace, previous, scheme)


def _check_bump(history: Path, chosen: str, changes: SchemeChanges) -> None:
    """Refuse a version that does not move as far as the scheme's changes need (major after a rename or removal)."""
    versions = [v for v in published_versions(history) if semver(v) < semver(chosen)]
    if not versions or changes.bump is None:
        return
    needed = next_version(versions[-1], Bump(changes.bump))
    if semver(chosen) < semver(needed):
        listed = "; ".join(c["description"] for c in changes.changes) or "definitions only"
        why = "renames, merges or removes what annotations use" if changes.bump == "major" else "adds to the scheme"
        raise PublishError(
            f"Version {chosen} is too small a step: since {versions[-1]} the scheme went from {changes.previous} to "
            f"{changes.current} and {why} ({listed}), so the next version is {needed}. "
            f"Publish with --bump {changes.bump} (or --bump auto)."
        )


def _refuse_lower_than_latest(plan: _Plan) -> None:
    """A new version must come after the dataset's latest, so "latest" always means the newest work."""
    versions = published_versions(plan.history)
    chosen, latest = _semver(plan.version), _semver(versions[-1]) if versions else None
    if chosen and latest and chosen < latest:
        raise PublishError(
            f"Version {plan.version} is lower than {versions[-1]}, the latest published version of {plan.name}; "
            f"nothing was published. Publish {next_version(versions[-1], Bump.patch)} or higher (--bump patch)."
        )


def _history_folder(workspace: Workspace, name: str, out: Path | None) -> Path:
    """The folder holding every version: exports/<name>/, or the --out folder."""
    exports = workspace.exports.resolve()
    if out is None:
        if not _NAME.match(name) or name in RESERVED_EXPORT_NAMES or ".." in name:
            raise PublishError(
                f"Dataset name {name!r} cannot be a folder under exports/ (reserved: "
                f"{', '.join(sorted(RESERVED_EXPORT_NAMES))}; letters, digits, '.', '_', '-' only). "
                "Change dataset.name in annotate.yaml."
            )
        return exports / name
    folder = Path(out).expanduser().resolve()
    inside = folder.relative_to(exports).parts if folder.is_relative_to(exports) else None
    if inside is not None and (not inside or inside[0] in RESERVED_EXPORT_NAMES):
        raise PublishError(f"{folder} is where other stages keep their files; choose another --out folder.")
    return folder


# --- where gold comes from ------------------------------------------------------------------------


@dataclass
class GoldIndex:
    """Which record is gold for each article, kept as positions in the files (not the records)."""

    records_path: Path
    gold_path: Path
    ground_truth: dict[str, tuple[str, int]] = field(default_factory=dict)
    adjudicated: dict[str, int] = field(default_factory=dict)
    disputed: list[str] = field(default_factory=list)
    """Articles whose ground-truth annotations differ and that no decision in the gold file settles yet."""

    @property
    def total(self) -> int:
        return len(self.ground_truth) + len(set(self.adjudicated) - set(self.ground_truth))

    def article_ids(self) -> set[str]:
        return set(self.ground_truth) | set(self.adjudicated)


def _lines(numbers: set[int]) -> bytearray:
    """The line numbers as one byte per line, 1 where the number is in the set."""
    found = bytearray(max(numbers, default=0) + 1)
    for number in numbers:
        found[number] = 1
    return found


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    remedy = "run `annotate adjudicate` to write it again" if path.parent.name == "gold" else None
    return enumerate(iter_records(path, remedy=remedy), 1) if path.is_file() else iter(())


def index_gold(records_path: Path, gold_path: Path) -> GoldIndex:
    """Gold per article by the one rule of `annotate.core.gold`: agreed ground truth, else the gold file.

    Refused (`GoldDisputed`) without a gold file, so gold is never built behind adjudicate's back;
    an article whose ground truths differ is gold only once the gold file has a decision for it.
    """
    if not gold_path.is_file():
        raise GoldDisputed(
            f"There is no gold file ({gold_path}), so nothing says which record of each article is gold. "
            "Run `annotate adjudicate` (it takes agreed ground-truth annotations as gold and sends the "
            "rest to curation), then publish."
        )
    index = GoldIndex(records_path, gold_path)
    # Only articles with a ground truth get an entry, and of the gold file's decisions only which
    # were taken as ground truth is kept: per-article state stays a few small values.
    truths: dict[str, GroundTruths[int]] = defaultdict(GroundTruths)
    for number, record in _safe(records_path, _records(records_path)):
        if is_ground_truth(record):
            truths[str(record.get("article_id"))].add(record, number)
    taken_as_truth: set[str] = set()
    for number, record in _safe(gold_path, _records(gold_path)):
        if not record.get("cancelled"):
            article = str(record.get("article_id"))
            index.adjudicated[article] = number
            if _decided_how(record) == "ground_truth":
                taken_as_truth.add(article)
            else:
                taken_as_truth.discard(article)
    for article, found in truths.items():
        if found.gold is not None:
            index.ground_truth[article] = ("", found.gold)
        elif found.disputed and article in taken_as_truth:
            # Written when the article had one ground truth; they differ now, so it waits for a curator.
            del index.adjudicated[article]
            index.disputed.append(article)
        elif found.disputed and article not in index.adjudicated:
            index.disputed.append(article)
    return index


def iter_gold(index: GoldIndex) -> Iterator[tuple[dict[str, Any], str]]:
    """(record, where it comes from) for each gold article, streamed from the files."""
    chosen = {number for _, number in index.ground_truth.values()}
    for number, record in _records(index.records_path):
        if number in chosen:
            yield record, "ground_truth"
    for number, record in _records(index.gold_path):
        article = str(record.get("article_id"))
        if article not in index.ground_truth and index.adjudicated.get(article) == number:
            yield record, _decided_how(record)


def _decided_how(record: dict[str, Any]) -> str:
    """How an adjudicated record was decided, as its provenance says (majority, curator, single, ...)."""
    method = (record.get("provenance") or {}).get("method")
    if isinstance(method, str) and method:
        return method
    return "ground_truth" if record.get("ground_truth") else "adjudicated"


def _safe(path: Path, items: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The items, with a line that is not JSON turned into one sentence naming the file."""
    try:
        for number, record in items:
            if not isinstance(record, dict):
                raise PublishError(f"{path}: record {number} is not a JSON object. Run `annotate validate {path}`.")
            yield number, record
    except json.JSONDecodeError as exc:
        raise PublishError(f"{path} is not JSON Lines ({exc.msg}). Run `annotate validate {path}`.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishError(f"{path} cannot be read ({exc}). Check the file and publish again.") from None


# --- checks ------------------------------------------------------------------------------------


class _Problems:
    """Every problem of the records read, kept as a count and the first few sentences."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[str] = []

    def check(self, record: dict[str, Any], scheme: Scheme, where: str, *, checked: bool = False) -> None:
        """Add the record's problems; `checked` when its file is stamped valid, so only the pseudonym is checked."""
        self.add(where, [] if checked else [str(p) for p in validate_record(record, scheme)], record)

    def add(self, where: str, invalid: list[str], record: dict[str, Any]) -> None:
        """Add problems already found by validating the record, and the pseudonym's."""
        found = list(invalid)
        annotator = str(record.get("annotator", ""))
        if looks_like_user_id(annotator):
            found.append(f"annotator {annotator!r} looks like a server user id, not a pseudonym")
        self.count += len(found)
        self.shown += [f"{where}: {p}" for p in found[: max(0, SHOWN_PROBLEMS - len(self.shown))]]

    def then(self, later: _Problems) -> _Problems:
        """These problems followed by `later`'s, as if one had seen them all in that order."""
        both = _Problems()
        both.count = self.count + later.count
        both.shown = (self.shown + later.shown)[:SHOWN_PROBLEMS]
        return both

    def raise_if_any(self) -> None:
        if self.count:
            listed = "\n".join(f"  {line}" for line in self.shown)
            more = f"\n  … and {self.count - len(self.shown)} more" if self.count > len(self.shown) else ""
            raise PublishError(
                f"Nothing was published: the records have {self.count} problem(s). "
                f"Fix them (`annotate validate` lists them all) and publish again.\n{listed}{more}"
            )


# --- building a version --------------------------------------------------------------------------


@dataclass
class _Build:
    """What is counted while the rows stream past, for the card and the manifest."""

    scheme: Scheme
    writers: dict[str, SplitWriter]
    entity_labels: Counter = field(default_factory=Counter)
    event_types: Counter = field(default_factory=Counter)
    roles: Counter = field(default_factory=Counter)
    gold_from: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    packed: _PackedArticles = field(default_factory=lambda: _PackedArticles())
    """(split, sha256 of the row) per article, packed while the rows stream; `articles` once they are written."""
    annotators: set[str] = field(default_factory=set)
    provenance: Provenance = field(default_factory=Provenance)
    dropped_in_tokens: int = 0
    example: DocumentRow | None = None
    statistics: Statistics = field(default_factory=Statistics)
    textee: TexteeWriter | None = None
    language: str = "en"

    def add_gold(self, document: DocumentRow) -> None:
        split = split_of(document["id"])
        columns, tags, dropped = article_columns(document)
        windows = window_rows_of(document, columns, tags, self.language)
        self.writers["documents"].add(split, document)
        self.writers["tokens"].add(split, tokens_row_of(document, columns, tags))
        for window in windows:
            self.writers["windows"].add(split, window)
        if self.textee is not None:
            self.textee.add(split, textee_lines(document, windows, self.language))
        self.statistics.add(split, document, len(tags), len(windows))
        self.dropped_in_tokens += dropped
        self.entity_labels.update(e["label"] for e in document["entities"])
        self.event_types.update(e["type"] for e in document["events"])
        self.roles.update(a["role"] for e in document["events"] for a in e["arguments"])
        self.gold_from[document["gold_from"]] += 1
        self.sources[document["source"] or "unknown"] += 1
        self.packed.add(document["id"], split, row_sha256(document))
        if self.example is None:
            self.example = document

    def manifest_articles(self) -> dict[str, dict[str, str]]:
        """The manifest's `articles`, in id order: split and sha256 of the row of each, once the rows are written."""
        return {a: {"split": split, "sha256": sha} for a, (split, sha) in sorted(self.packed.unpack().items())}


class _PackedArticles:
    """The ids, splits and row digests of the gold articles as a few large objects, not three small ones each.

    Kept while every row streams past: small objects made one by one between the rows' short-lived
    ones would each keep a piece of the freed memory from being reused, so the process grew with
    the gold set far more than these few bytes per article. Ids are held as JSON arrays of
    `_CHUNK` ids, each split as one byte and each sha256 as its 32 bytes.
    """

    _CHUNK = 1024

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._pending: list[str] = []
        self._splits = bytearray()
        self._digests = bytearray()

    def add(self, article: str, split: str, sha256_hex: str) -> None:
        self._pending.append(article)
        if len(self._pending) >= self._CHUNK:
            self._chunks.append(json.dumps(self._pending, ensure_ascii=False))
            self._pending = []
        self._splits.append(_SPLIT_NAMES.index(split))
        self._digests += bytes.fromhex(sha256_hex)

    def ids(self) -> set[str]:
        return {a for chunk in self._chunks for a in json.loads(chunk)} | set(self._pending)

    def unpack(self) -> dict[str, tuple[str, str]]:
        """What `dict[id] = (split, sha256)` in the order of `add` would hold (a repeated id keeps its last)."""
        ids = [a for chunk in self._chunks for a in json.loads(chunk)] + self._pending
        return {
            article: (_SPLIT_NAMES[self._splits[n]], self._digests[32 * n : 32 * n + 32].hex())
            for n, article in enumerate(ids)
        }


_METADATA = ("title", "date", "source", "url")


class _CorpusMetadata:
    """Title, date, source and url of each corpus article (None when missing), without its text.

    Needed for the whole corpus while rows stream, so kept in a scratch SQLite file beside the
    process, not in it: a tuple and strings per article, made between the rows' short-lived
    objects, grew publish's peak memory with the corpus. A repeated id keeps its last file's values.
    """

    def __init__(self, workspace: Workspace, scratch: Path) -> None:
        self._db = sqlite3.connect(scratch / "corpus-metadata.sqlite")
        self._db.execute("CREATE TABLE meta (id TEXT PRIMARY KEY, title, date, source, url)")
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?, ?, ?, ?)", self._rows(workspace))
        self.count = self._db.execute("SELECT count(*) FROM meta").fetchone()[0]

    @staticmethod
    def _rows(workspace: Workspace) -> Iterator[tuple[str | None, ...]]:
        for a in iter_articles(workspace):
            values = [str(a.metadata[k]) if a.metadata.get(k) is not None else None for k in _METADATA[1:]]
            yield (a.id, a.title, *values)

    def of(self, article: str) -> dict[str, Any]:
        """The `document_row` metadata of one article, made when its row is ({} when it is not in the corpus)."""
        try:
            found = self._db.execute("SELECT title, date, source, url FROM meta WHERE id = ?", (article,)).fetchone()
        except UnicodeEncodeError:  # an id no corpus file can carry
            return {}
        return dict(zip(_METADATA, found, strict=True)) if found else {}

    def ids(self) -> Iterator[str]:
        for (article,) in self._db.execute("SELECT id FROM meta"):
            yield article

    def close(self) -> None:
        self._db.close()


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Rows, tokens and records are freed by reference counting as they stream past (they hold no
    cycles); the cycle collector would only walk every object of the calling process again and
    again while they are made. It is turned back on (if it was on) however the block ends."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _write_rows(
    folder: Path, workspace: Workspace, slug: str, scheme: Scheme, on_progress: ProgressCallback | None
) -> tuple[_Build, dict[str, Any]]:
    with _without_cycle_collection(), tempfile.TemporaryDirectory(prefix="annotate-publish-") as scratch:
        metadata = _CorpusMetadata(workspace, Path(scratch))
        try:
            return _stream_rows(folder, workspace, slug, scheme, metadata, on_progress)
        finally:
            metadata.close()


def _stream_rows(
    folder: Path,
    workspace: Workspace,
    slug: str,
    scheme: Scheme,
    metadata: _CorpusMetadata,
    on_progress: ProgressCallback | None,
) -> tuple[_Build, dict[str, Any]]:
    writers = {config: SplitWriter(folder, config, derive_features(scheme, config)) for config in CONFIGS}
    language = load_project_settings(workspace).dataset.language
    build = _Build(scheme, writers, textee=TexteeWriter(folder), language=language[0] if language else "en")
    index = index_gold(workspace.records_path(slug), workspace.gold_path(slug))
    records_path, gold_path, total = index.records_path, index.gold_path, index.total
    # Which lines are gold, as one byte per line: the index's dicts of every article go before the rows stream.
    chosen = _lines({number for _, number in index.ground_truth.values()})
    decided = _lines({n for article, n in index.adjudicated.items() if article not in index.ground_truth})
    del index
    paths = (records_path, gold_path)
    checked = {path: not path.is_file() or known_valid(workspace, path, scheme) for path in paths}
    if not total:
        raise PublishError(
            f"There is no gold record for project {slug!r} yet: run `annotate adjudicate` "
            "(or mark annotations as ground truth in Label Studio and run `annotate pull`), then publish."
        )
    # One pass over the records gives the annotation rows and the gold documents they hold (agreed
    # ground truth), each record validated at most once; then the gold file's decisions. Rows keep
    # the order of reading the gold and the records one after the other, and so do the problems.
    gold_problems, record_problems = _Problems(), _Problems()
    done = 0

    def add_gold(record: dict[str, Any], source: str) -> None:
        nonlocal done
        done += 1
        if not gold_problems.count and not record_problems.count:
            build.add_gold(document_row(record, metadata.of(str(record["article_id"])), scheme, source))
            build.provenance.add_gold(record, source)
        if on_progress:
            on_progress(Progress("articles", done, total))

    for number, record in _safe(records_path, _records(records_path)):
        gold = number < len(chosen) and bool(chosen[number])
        # A ground truth is gold unchecked only when both files are stamped, as before.
        gold_stamped = checked[gold_path] and checked[records_path]
        skip = checked[records_path] and (gold_stamped or not gold)
        invalid = [] if skip else [str(p) for p in validate_record(record, scheme)]
        if gold:
            where = f"gold record of article {record.get('article_id')}"
            gold_problems.add(where, [] if gold_stamped else invalid, record)
        record_problems.add(
            f"{records_path.name} record {number}", [] if checked[records_path] else invalid, record
        )
        if gold:
            add_gold(record, "ground_truth")
        if not gold_problems.count and not record_problems.count:
            writers["annotations"].add(split_of(str(record["article_id"])), annotation_row(record, scheme))
            build.provenance.add_record(record)
            if not record.get("cancelled"):
                build.annotators.add(str(record["annotator"]))
    for number, record in _records(gold_path):
        if number < len(decided) and decided[number]:
            article = str(record.get("article_id"))
            source = _decided_how(record)
            # "ground_truth" may also name an adjudicated record that carries the flag: then both files must be stamped.
            stamped = checked[gold_path] and (source != "ground_truth" or checked[records_path])
            gold_problems.check(record, scheme, f"gold record of article {article}", checked=stamped)
            add_gold(record, source)
    problems = gold_problems.then(record_problems)
    for writer in writers.values():
        writer.close()
    if build.textee is not None:
        build.textee.close()
    problems.raise_if_any()
    with_rows = build.packed.ids()  # every gold article has its row once nothing stopped the publish
    left_out = sorted(a for a in metadata.ids() if a not in with_rows)
    return build, {"left_out": left_out, "corpus": metadata.count}


def _dataset_info(build: _Build) -> list[dict[str, Any]]:
    """The `dataset_info` of the card's YAML header: features and split sizes of each written config."""
    infos = []
    for config, writer in build.writers.items():
        if not writer.rows:
            continue
        splits = [
            {"name": name, "num_bytes": writer.bytes[name], "num_examples": writer.rows[name]}
            for name, _ in SPLITS
            if writer.rows[name]
        ]
        infos.append(
            {
                "config_name": config,
                "features": writer.features._to_yaml_list(),
                "splits": splits,
                "dataset_size": sum(writer.bytes.values()),
            }
        )
    return infos


def _changelog(previous: dict[str, Any] | None, build: _Build, now: dict[str, dict[str, str]]) -> dict[str, Any]:
    before = (previous or {}).get("articles", {})
    old_counts = (previous or {}).get("label_counts", {})
    new_counts = _label_counts(build)
    return {
        "previous": (previous or {}).get("version"),
        "added": sorted(set(now) - set(before)),
        "removed": sorted(set(before) - set(now)),
        "changed": sorted(a for a in set(now) & set(before) if now[a]["sha256"] != before[a].get("sha256")),
        "label_counts": {
            kind: {
                label: {"previous": old_counts.get(kind, {}).get(label, 0), "current": new_counts[kind].get(label, 0)}
                for label in sorted(set(new_counts[kind]) | set(old_counts.get(kind, {})))
            }
            for kind in new_counts
        },
    }


def _label_counts(build: _Build) -> dict[str, dict[str, int]]:
    return {
        "entities": dict(sorted(build.entity_labels.items())),
        "events": dict(sorted(build.event_types.items())),
        "roles": dict(sorted(build.roles.items())),
    }


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _source_commit(root: Path, output: Path) -> tuple[str | None, bool | None]:
    """The git commit the workspace is at and whether its tracked files differ from it; None outside git.

    The version folder being written (`output`) is this publish's own output, not its source:
    rebuilding a committed version must not count its own files as uncommitted changes.
    """
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    exclude = []
    if output.resolve().is_relative_to(root.resolve()):
        exclude = ["--", ".", f":(exclude){output.resolve().relative_to(root.resolve()).as_posix()}"]
    return commit, bool(git("status", "--porcelain", "--untracked-files=no", *exclude))


def _guidelines_sha256(workspace: Workspace) -> str | None:
    pages = sorted(workspace.guidelines.glob("*.md"))
    if not pages:
        return None
    digest = hashlib.sha256()
    for page in pages:
        digest.update(page.name.encode("utf-8") + b"\0" + page.read_bytes())
    return digest.hexdigest()


_GUIDELINES_VERSION = re.compile(r"Guidelines version\s+([0-9][0-9A-Za-z.\-]*)", re.I)


def _guidelines_version(workspace: Workspace) -> str | None:
    """The version the guidelines state of themselves ("Guidelines version 1.1"), if they do."""
    for page in sorted(workspace.guidelines.glob("*.md")):
        found = _GUIDELINES_VERSION.search(page.read_text(encoding="utf-8"))
        if found:
            return found.group(1).rstrip(".")
    return None


def _agreement(workspace: Workspace, slug: str) -> dict[str, Any] | None:
    """The agreement report `annotate agreement` saved (with its `headline` figures), if there is one."""
    path = workspace.agreement_dir() / f"{slug}.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("headline") else None


def _write_agreement(folder: Path, report: dict[str, Any] | None) -> dict[str, Any] | None:
    """Put the agreement report beside the manifest and return it as read back, for the card to quote.

    The links to Label Studio tasks are left out: they point at a server the dataset's readers cannot reach.
    """
    if report is None:
        return None
    for article in report.get("articles") or []:
        article.pop("url", None)
    path = folder / AGREEMENT
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entries(folder: Path) -> list[FileEntry]:
    """Every file of a version folder but the manifest, with its size and sha256, in path order."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p != folder / MANIFEST)
    return [FileEntry(p.relative_to(folder).as_posix(), p.stat().st_size, _file_sha256(p)) for p in files]


@dataclass
class _Plan:
    """Everything decided before a row is written."""

    workspace: Workspace
    scheme: Scheme
    slug: str
    name: str
    version: str
    history: Path
    target: Path
    hub_repo: str | None
    scheme_changes: dict[str, Any] | None = None

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def local_path(self) -> str:
        root = self.workspace.root.resolve()
        return self.target.relative_to(root).as_posix() if self.target.is_relative_to(root) else str(self.target)


def _build_version(folder: Path, plan: _Plan, on_progress: ProgressCallback | None) -> dict[str, Any]:
    """Write parquet, card and manifest of one version into `folder`; return the manifest."""
    recorded = load_recorded(plan.workspace)
    build, extent = _write_rows(folder, plan.workspace, plan.slug, plan.scheme, on_progress)
    versions = [v for v in published_versions(plan.history) if _version_key(v) < _version_key(plan.version)]
    previous = _read_manifest(plan.history / versions[-1]) if versions else None
    settings = load_project_settings(plan.workspace).dataset
    commit, dirty = _source_commit(plan.workspace.root, plan.target)
    articles = build.manifest_articles()
    manifest = {
        "name": plan.name,
        "version": plan.version,
        "published_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "scheme": {"name": plan.scheme.name, "version": plan.scheme.version},
        "guidelines_version": _guidelines_version(plan.workspace),
        "guidelines_sha256": _guidelines_sha256(plan.workspace),
        "source_commit": commit,
        "source_has_uncommitted_changes": dirty,
        "project": plan.slug,
        "split_rule": SPLIT_RULE,
        "rows": {c: dict(w.rows) for c, w in build.writers.items() if w.rows},
        "gold_from": dict(build.gold_from),
        "sources": dict(build.sources.most_common()),
        "annotators": len(build.annotators),
        "annotation": {**build.provenance.as_dict(), "recorded": recorded.as_dict() if recorded else None},
        "left_out": extent["left_out"],
        "entity_mentions_not_in_tokens": build.dropped_in_tokens,
        "label_counts": _label_counts(build),
        "changelog": {**_changelog(previous, build, articles), "scheme": plan.scheme_changes},
        "articles": articles,
    }
    manifest.update(_benchmark_facts(build, _scores(plan.workspace, articles)))
    facts = card_lib.CardFacts(
        settings=settings,
        scheme=plan.scheme,
        manifest=manifest,
        dataset_info=_dataset_info(build),
        example=build.example,
        agreement=_write_agreement(folder, _agreement(plan.workspace, plan.slug)),
        corpus_size=extent["corpus"],
        local_path=plan.local_path,
        hub_repo=plan.hub_repo,
    )
    (folder / CARD).write_text(card_lib.render_card(facts), encoding="utf-8")
    _write_benchmark_files(folder, plan, settings, manifest, extent["corpus"])
    manifest["files"] = {e.path: {"bytes": e.bytes, "sha256": e.sha256} for e in file_entries(folder)}
    _write_json(folder / MANIFEST, manifest)
    return manifest


def _write_json(path: Path, value: Any) -> None:
    """What writing `json.dumps(value, indent=2, ensure_ascii=False)` and a newline writes, streamed piece
    by piece: the manifest lists every article, and the whole text with its pieces would be held at once."""
    with path.open("w", encoding="utf-8") as handle:
        for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
            handle.write(chunk)
        handle.write("\n")


# --- benchmark files: formats, statistics, citation, Croissant, scores -----------------------------


def _benchmark_facts(build: _Build, scores: list[dict[str, Any]]) -> dict[str, Any]:
    """What the manifest says about windows, the TextEE-style files, statistics and scored systems."""
    textee = build.textee
    return {
        "windows": {"max_tokens": MAX_WINDOW_TOKENS, "sentence_splitter": _splitter_version()},
        "textee": {
            "folder": TEXTEE_FOLDER,
            "ontology": ONTOLOGY,
            "arguments_outside_window": textee.outside_arguments if textee else 0,
            "arguments_pointing_at_events": textee.event_arguments if textee else 0,
        },
        "statistics": build.statistics.as_dict(tuple(name for name, _ in SPLITS)),
        "scores": scores,
    }


def _splitter_version() -> str:
    return f"sentencex {package_version('sentencex')}"


def _scores(workspace: Workspace, articles: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Saved `annotate score` reports whose gold is exactly this version's gold on the scored split.

    A score is kept only when the split it was computed on has the same articles with the same
    rows here (same sha256), so a figure in the card always belongs to the data beside it.
    """
    found = []
    for path in sorted((workspace.exports / SCORES).glob("*.json")):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(report, dict) or not isinstance(report.get("gold"), dict):
            continue
        split = report.get("split")
        here = {a: entry["sha256"] for a, entry in articles.items() if entry["split"] == split}
        if here and report["gold"] == here:
            keys = ("system", "split", "scored_on", "articles", "missing", "headline", "human")
            found.append({k: report[k] for k in keys if k in report})
    return found


def _write_benchmark_files(
    folder: Path, plan: _Plan, settings: Any, manifest: dict[str, Any], corpus_size: int
) -> None:
    """ontology.json, CITATION.cff and croissant.json of a version whose data files are written."""
    date = manifest["published_at"][:10]
    (folder / ONTOLOGY).write_text(json.dumps(ontology(plan.scheme), indent=2, ensure_ascii=False) + "\n", "utf-8")
    (folder / CITATION).write_text(citation.citation_cff(settings, plan.version, date, plan.hub_repo), "utf-8")
    document = croissant.croissant(
        folder,
        settings=settings,
        manifest=manifest,
        rai=croissant.rai_fields(settings, manifest, corpus_size),
        hub_repo=plan.hub_repo,
    )
    (folder / CROISSANT).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")


# --- publish -----------------------------------------------------------------------------------


def publish(
    workspace: Workspace,
    *,
    version: str | None = None,
    bump: Bump | str | None = None,
    out: Path | None = None,
    push_to_hub: str | None = None,
    dry_run: bool = False,
    project: str | None = None,
    on_progress: ProgressCallback | None = None,
    hub: Any = None,
) -> PublishResult:
    """Build version X.Y.Z of the dataset from the gold set; with `push_to_hub`, upload it and tag it.

    `hub` is the Hugging Face client to use (a `huggingface_hub.HfApi` unless given).
    """
    settings = load_project_settings(workspace)
    if push_to_hub is not None and not _REPO.match(push_to_hub):
        raise PublishError(f"{push_to_hub!r} is not a Hugging Face repository id; give it as ORG/NAME.")
    if push_to_hub and not dry_run:
        hub_token(push_to_hub)  # before building, so a missing token costs nothing
    history = _history_folder(workspace, settings.dataset.name, out)
    folder_id = hashlib.sha256(str(history).encode("utf-8")).hexdigest()[:16]
    with locked(workspace, f"dataset-{folder_id}", "publish", what=f"versions into {history}"):
        return _publish(workspace, settings, history, version, bump, push_to_hub, dry_run, project, on_progress, hub)


def _publish(
    workspace: Workspace,
    settings: Any,
    history: Path,
    version: str | None,
    bump: Bump | str | None,
    push_to_hub: str | None,
    dry_run: bool,
    project: str | None,
    on_progress: ProgressCallback | None,
    hub: Any,
) -> PublishResult:
    scheme = current_scheme(workspace)
    changes = _scheme_changes(workspace, history, scheme)
    chosen = _choose_version(history, version, (changes.bump or Bump.patch.value) if bump == Bump.auto else bump)
    plan = _Plan(
        workspace=workspace,
        scheme=scheme,
        slug=project_slug(workspace, normalise_title(project or settings.project)),
        name=settings.dataset.name,
        version=chosen,
        history=history,
        target=history / chosen,
        hub_repo=push_to_hub or settings.dataset.hub_repo,
        scheme_changes=changes.as_dict(),
    )
    if plan.target.exists() or plan.target.is_symlink():
        return _existing_version(plan, push_to_hub, dry_run, hub)
    _refuse_lower_than_latest(plan)
    _check_bump(history, chosen, changes)
    manifest, files = _write_version(plan, dry_run, on_progress)
    result = _result(plan, manifest, files, dry_run=dry_run, written=not dry_run)
    if push_to_hub and not dry_run:
        result.pushed_url = push_folder(plan.target, push_to_hub, plan.tag, hub=hub)
    return result


def _write_version(plan: _Plan, dry_run: bool, on_progress: ProgressCallback | None):
    """Build into a partial folder and rename it into place whole (or, for a dry run, throw it away)."""
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="annotate-publish-") as scratch:
            manifest = _build_version(Path(scratch), plan, on_progress)
            return manifest, file_entries(Path(scratch)) + [_manifest_entry(Path(scratch))]
    partial = plan.history / f"{PARTIAL}{plan.version}-{os.getpid()}"
    try:
        plan.history.mkdir(parents=True, exist_ok=True)
        clean_partials(plan.history)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        manifest = _build_version(partial, plan, on_progress)
        files = file_entries(partial) + [_manifest_entry(partial)]
        if plan.target.exists():
            raise PublishError(
                f"Version {plan.version} appeared at {plan.target} while this one was being built; "
                "nothing was overwritten. Publish a new version."
            )
        os.rename(partial, plan.target)
    except OSError as exc:
        # A full disk or a folder that cannot be written: the partial folder goes, nothing is published.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise PublishError(
            f"Could not write version {plan.version} under {plan.history} ({reason}); nothing was published. "
            "Free some space there (or fix the folder's permissions) and publish again."
        ) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest, files


def _manifest_entry(folder: Path) -> FileEntry:
    path = folder / MANIFEST
    return FileEntry(MANIFEST, path.stat().st_size, _file_sha256(path))


def clean_partials(history: Path) -> list[Path]:
    """Remove partial folders that publishes which are no longer running left behind; return them."""
    removed = []
    for folder in history.glob(f"{PARTIAL}*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if folder.is_dir() and not (pid.isdigit() and int(pid) != os.getpid() and _running(int(pid))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _existing_version(plan: _Plan, push_to_hub: str | None, dry_run: bool, hub: Any) -> PublishResult:
    """A published version is never rewritten; it may only be pushed as it stands."""
    if not push_to_hub:
        raise PublishError(
            f"Version {plan.version} of {plan.name} is already published at {plan.target} and versions are "
            "never rewritten; publish a new one with --bump patch (or another --version)."
        )
    manifest, files = verify_version(plan.target)
    result = _result(plan, manifest, files, dry_run=dry_run, written=False)
    if not dry_run:
        result.pushed_url = push_folder(plan.target, push_to_hub, plan.tag, hub=hub)
    return result


def verify_version(folder: Path) -> tuple[dict[str, Any], list[FileEntry]]:
    """The manifest of a published version and its files, after checking each file against its sha256."""
    manifest = _read_manifest(folder)
    if manifest is None or not isinstance(manifest.get("files"), dict):
        raise PublishError(
            f"{folder} has no readable {MANIFEST}, so it is not a published version; "
            "remove it or publish another version."
        )
    files = file_entries(folder)
    found = {e.path: {"bytes": e.bytes, "sha256": e.sha256} for e in files}
    differing = sorted(set(found) ^ set(manifest["files"]) | {p for p in found if found[p] != manifest["files"].get(p)})
    if differing:
        raise PublishError(
            f"{folder} no longer matches its manifest ({', '.join(differing[:5])} changed, added or missing); "
            "publish a new version instead of pushing this one."
        )
    return manifest, files + [_manifest_entry(folder)]


def _result(
    plan: _Plan, manifest: dict[str, Any], files: list[FileEntry], *, dry_run: bool, written: bool
) -> PublishResult:
    counts = manifest.get("label_counts", {})
    return PublishResult(
        name=plan.name,
        version=plan.version,
        folder=plan.target,
        tag=plan.tag,
        files=files,
        rows=manifest.get("rows", {}),
        articles=len(manifest.get("articles", {})),
        left_out=len(manifest.get("left_out", [])),
        entities=sum(counts.get("entities", {}).values()),
        events=sum(counts.get("events", {}).values()),
        changelog=manifest.get("changelog", {}),
        dry_run=dry_run,
        written=written,
        hub_repo=plan.hub_repo,
        load_local=card_lib.load_line(plan.local_path),
        load_hub=card_lib.load_line(plan.hub_repo, revision=plan.tag) if plan.hub_repo else None,
    )
