"""The corpus: one file per article under corpus/, with its metadata in a YAML front matter.

An article's id is fixed when it is added (a hash of its normalised text) and kept in
the file, so renaming the file never changes it. Offsets of every annotation are
indices into the normalised text stored here.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import yaml

from annotate.core.errors import CorpusError
from annotate.core.inputs import InputRefused, load_json, load_yaml, schema_problems, yaml_problem
from annotate.core.workspace import Workspace, write_atomic

MAX_ARTICLE_BYTES = 5_000_000
"""The limit of one article: a text file, or one line of a JSON Lines file (which may hold any number)."""
SUFFIXES = (".txt", ".md", ".jsonl")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass
class Article:
    id: str
    text: str
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def display_title(self) -> str:
        """The title, or the article's first words where the text gives none."""
        if self.title:
            return self.title
        words = self.text.split()
        return " ".join(words[:12]) + ("…" if len(words) > 12 else "")

    @property
    def text_sha256(self) -> str:
        return text_hash(self.text)


@dataclass
class Refusal:
    source: str
    reason: str


@dataclass
class AddResult:
    added: list[Article] = field(default_factory=list)
    duplicates: list[Refusal] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id_for(text: str) -> str:
    return text_hash(text)[:16]


def check_article_id(article_id: str) -> str:
    """An id is used in file names and URLs: refuse anything that could escape a folder."""
    if not _ID.match(article_id) or ".." in article_id:
        raise CorpusError(
            f"Article id {article_id!r} is not allowed: use letters, digits, '.', '_' or '-' (at most 128), "
            "starting with a letter or digit."
        )
    return article_id


def normalise(text: str) -> str:
    """NFC, one newline convention, no trailing spaces on lines, no blank lines at either end."""
    text = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


# --- site furniture and metadata lines --------------------------------------------------

_FURNITURE = re.compile(
    r"^(related (article|story|post)s?|editors?'?’?s? picks?|read more|more from .*|advertisement|"
    r"share (this )?(article|story)?|subscribe.*|sign up.*|follow us.*|most (read|popular)|you may also like)$",
    re.I,
)
_URL = re.compile(r"https?://\S+")
_PROMO = re.compile(r"\b(provides|brings you) (the )?latest news\b|\bread the latest\b", re.I)
_BYLINE = re.compile(r"^By ([A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3})$")
_SOURCE = re.compile(r"^Source:\s*(.+)$", re.I)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATELINE = re.compile(rf"^(\d{{1,2}}) ({_MONTHS}) (\d{{4}})(?: (\d{{1,2}}:\d{{2}}))?$", re.I)


def _cut_tail(lines: list[str], meta: dict[str, Any]) -> list[str]:
    """Drop outlet self-promotion and link lists appended after the article."""
    cut = len(lines)
    names = {line.strip() for line in lines[-12:] if 0 < len(line.strip()) <= 60}
    for i in range(max(0, len(lines) - 12), len(lines)):
        line = lines[i].strip()
        url = _URL.search(line)
        glued_name = url and line[: url.start()].strip()
        if _FURNITURE.match(line) or _PROMO.search(line):
            cut = min(cut, i)
        elif url and glued_name:
            # "OutletOutlethttps://outlet.example": the outlet's name repeated before its address.
            name = next((n for n in names if glued_name.startswith(n) and n != glued_name), glued_name)
            meta.setdefault("source", name)
            meta.setdefault("url", url.group(0))
            cut = min(cut, i - 1 if i > 0 and lines[i - 1].strip() == name else i)
    return lines[:cut]


def _take_header(lines: list[str], meta: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Take a title, byline and dateline from the first lines where the text gives them."""
    body = list(lines)
    head = [i for i, line in enumerate(body) if line.strip()][:5]
    if len(head) >= 2:
        # A section name glued to the headline ("PoliticsKim Jong-un heads…") above the headline.
        first, second = body[head[0]].strip(), body[head[1]].strip()
        if first != second and first.endswith(second):
            meta.setdefault("section", first[: -len(second)].strip())
            body[head.pop(0)] = ""
    title = None
    if head and len(body[head[0]].split()) <= 20:
        title = body[head[0]].strip().lstrip("# ").strip()
        body[head.pop(0)] = ""
    for i in head[:3]:
        line = body[i].strip()
        if (m := _BYLINE.match(line)) and "author" not in meta:
            meta["author"] = m.group(1)
            body[i] = ""
        elif (m := _DATELINE.match(line)) and "date" not in meta:
            meta["date"] = _iso_date(m)
            body[i] = ""
    return title, body


def _iso_date(m: re.Match) -> str:
    month = _MONTHS.split("|").index(m.group(2).lower()) + 1
    date = f"{int(m.group(3)):04d}-{month:02d}-{int(m.group(1)):02d}"
    return f"{date}T{int(m.group(4).split(':')[0]):02d}:{m.group(4).split(':')[1]}" if m.group(4) else date


def _take_source_line(lines: list[str], meta: dict[str, Any]) -> list[str]:
    for i in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
        if m := _SOURCE.match(lines[i].strip()):
            meta.setdefault("source", m.group(1).strip())
            return lines[:i] + lines[i + 1 :]
    return lines


def article_from_text(raw: str, *, title: str | None = None, metadata: dict[str, Any] | None = None) -> Article:
    """Clean a plain-text article: normalise, take header metadata, drop site furniture."""
    meta: dict[str, Any] = dict(metadata or {})
    lines = normalise(raw).split("\n")
    lines = _cut_tail(lines, meta)
    lines = _take_source_line(lines, meta)
    found_title, lines = _take_header(lines, meta) if title is None else (title, lines)
    text = normalise("\n".join(lines))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return Article(id=article_id_for(text), text=text, title=found_title, metadata=meta)


# --- reading and writing article files -------------------------------------------------------


def read_article(path: Path) -> Article:
    raw = path.read_text(encoding="utf-8")
    if not raw.startswith("---\n"):
        raise CorpusError(f"{path} has no front matter: an article file starts with '---' and its metadata.")
    end = raw.find("\n---\n", 4)
    if end < 0:
        raise CorpusError(f"{path}: the front matter is not closed by a '---' line.")
    try:
        meta = front_matter(raw[4:end])
    except ValueError as exc:
        raise CorpusError(f"{path}: the front matter {exc}.") from None
    if not meta.get("id"):
        raise CorpusError(f"{path}: the front matter needs an id.")
    text = raw[end + 5 :]
    text = text[:-1] if text.endswith("\n") else text
    try:
        article_id = check_article_id(str(meta.pop("id")))
    except CorpusError as exc:
        raise CorpusError(f"{path}: {exc}") from None
    title = meta.pop("title", None)
    return Article(id=article_id, text=text, title=title, metadata=meta, path=path)


def front_matter(text: str) -> dict[str, Any]:
    """A YAML front matter as flat metadata, checked against the corpus schema; `ValueError` says what is wrong."""
    try:
        meta = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"is not valid YAML ({yaml_problem(exc)})") from None
    if not isinstance(meta, dict):
        raise ValueError("must be a mapping of names to values (id, title, source, date…)")
    # YAML reads 2024-06-14 as a date; the corpus keeps dates as the ISO text it was written as.
    meta = {k: v.isoformat() if isinstance(v, (datetime.date, datetime.datetime)) else v for k, v in meta.items()}
    problems = schema_problems("corpus-line", meta)
    if problems:
        raise ValueError("; ".join(p.message for p in problems[:3]))
    return meta


def render_article(article: Article) -> str:
    front = {"id": article.id, "title": article.title, **article.metadata}
    front = {k: v for k, v in front.items() if v is not None}
    header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{header}---\n{article.text}\n"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:48].strip("-")
    return slug or "article"


def write_article(folder: Path, article: Article) -> Path:
    path = folder / f"{_slug(article.display_title)}-{article.id[:8]}.txt"
    write_atomic(path, render_article(article))
    article.path = path
    return path


def iter_articles(workspace: Workspace) -> Iterator[Article]:
    """Every article of the corpus, in file-name order; a file that is no article raises."""
    for path in sorted(workspace.corpus.glob("*.txt")):
        yield read_article(path)


def read_corpus(workspace: Workspace) -> tuple[list[Article], list[Refusal]]:
    """The readable articles, and each corpus file that is not one (or repeats an id) with the reason.

    A file damaged by hand is named, never a reason to stop working on the good ones beside it.
    """
    articles: list[Article] = []
    broken: list[Refusal] = []
    seen: dict[str, Path] = {}
    for path in sorted(workspace.corpus.glob("*.txt")):
        try:
            article = read_article(path)
        except (CorpusError, OSError, UnicodeDecodeError) as exc:
            broken.append(Refusal(str(path), str(exc)))
            continue
        if article.id in seen:
            reason = f"carries the article id {article.id} of {seen[article.id].name}; remove one"
            broken.append(Refusal(str(path), reason))
            continue
        seen[article.id] = path
        articles.append(article)
    return articles, broken


def load_corpus(workspace: Workspace) -> list[Article]:
    """Every article of the corpus; raises naming every broken file when any is."""
    articles, broken = read_corpus(workspace)
    if broken:
        named = "; ".join(f"{item.source}: {item.reason}" for item in broken)
        raise CorpusError(f"{len(broken)} corpus file(s) are not articles: {named}. Fix or remove them.")
    return articles


# --- corpus add ------------------------------------------------------------------------------


def _expand(paths: list[Path], result: AddResult) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                yield path
            else:
                result.refused.append(Refusal(str(path), f"unsupported file type (use {', '.join(SUFFIXES)})"))
        else:
            result.refused.append(Refusal(str(path), "no such file or folder"))


def _decode(path: Path) -> str:
    """A text article file's text; `ValueError` for one that is empty, too big, binary or not UTF-8."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError("the file is empty")
    if size > MAX_ARTICLE_BYTES:
        raise ValueError(f"the file is {size:,} bytes, over the {MAX_ARTICLE_BYTES:,}-byte limit for one article")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("the file is UTF-16, not UTF-8; convert it to UTF-8 first")
    if b"\x00" in data[:8192]:
        raise ValueError("the file is binary, not text (it holds NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the file is not UTF-8 (byte {exc.start}); convert it to UTF-8 first") from None


def _articles_in(path: Path) -> Iterator[tuple[str, Article | ValueError]]:
    """(where, article or why it is refused) for each article a file holds; ValueError for a file that holds none."""
    if path.suffix.lower() == ".jsonl":
        yield from _json_lines(path)
        return
    raw = _decode(path).removeprefix("\ufeff")
    metadata: dict[str, Any] = {}
    if raw.startswith(("---\n", "---\r\n")):
        metadata, raw = _split_front_matter(raw)
    given_id, title = metadata.pop("id", None), metadata.pop("title", None)
    article = article_from_text(raw, title=title, metadata=metadata)
    if not article.text.strip():
        raise ValueError("no article text is left after cleaning")
    _check_text(article.text)
    if given_id is not None:
        article.id = _given_id(given_id)
    yield str(path), article


def _split_front_matter(raw: str) -> tuple[dict[str, Any], str]:
    """A file's own front matter (Markdown notes often have one) and the text after it."""
    text = raw.replace("\r\n", "\n")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise ValueError("it starts with a '---' front matter that no '---' line closes")
    meta = front_matter(text[4:end])
    if "text" in meta:
        raise ValueError("its front matter has a `text` field; the article text is what follows the front matter")
    return meta, text[end + 5 :]


def _json_lines(path: Path) -> Iterator[tuple[str, Article | ValueError]]:
    """Each article of a JSON Lines file, read line by line (so the file may be any size; each line is one article).

    Lines end at \\n only: U+2028, U+0085 and other characters Python counts as line breaks may sit inside a string.
    """
    if path.stat().st_size == 0:
        raise ValueError("the file is empty")
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
                if line.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise ValueError("the file is UTF-16, not UTF-8; convert it to UTF-8 first")
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, _article_from_json(line)
            except ValueError as exc:
                yield where, exc


def _article_from_json(line: bytes) -> Article:
    if len(line) > MAX_ARTICLE_BYTES:
        raise ValueError(f"the line is {len(line):,} bytes, over the {MAX_ARTICLE_BYTES:,}-byte limit for one article")
    try:
        item = load_json(line)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}); convert the file to UTF-8 first") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    except InputRefused as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
        raise ValueError('each line must be an object with a non-empty "text"')
    problems = schema_problems("corpus-line", item)
    if problems:
        raise ValueError("; ".join(p.message for p in problems[:3]))
    text = normalise(item.pop("text"))
    _check_text(text)
    given_id = item.pop("id", None)
    title = item.pop("title", None)
    article = Article(id=article_id_for(text), text=text, title=title, metadata=item)
    if given_id is not None:
        article.id = _given_id(given_id)
    return article


def _given_id(given_id: Any) -> str:
    try:
        return check_article_id(str(given_id))
    except CorpusError as exc:
        raise ValueError(str(exc)) from None


def _check_text(text: str) -> None:
    """Refuse text holding NUL: no editor shows it, Label Studio and parquet readers treat it differently."""
    position = text.find("\x00")
    if position >= 0:
        raise ValueError(
            f"the text holds a NUL character (at character {position:,}), which is no part of an article; "
            "remove it (for example `tr -d '\\000'`) and add the file again"
        )


def corpus_add(workspace: Workspace, paths: list[Path]) -> AddResult:
    """Add article files and folders to the corpus; report duplicates and refuse bad files by name."""
    result = AddResult()
    existing = {a.text_sha256: a.id for a in read_corpus(workspace)[0]}
    ids = set(existing.values())
    for path in _expand(paths, result):
        try:
            items = list(_articles_in(path))
        except (OSError, ValueError) as exc:
            result.refused.append(Refusal(str(path), str(exc)))
            continue
        for where, article in items:
            if isinstance(article, Exception):
                result.refused.append(Refusal(where, str(article)))
            elif article.text_sha256 in existing:
                result.duplicates.append(Refusal(where, f"same text as article {existing[article.text_sha256]}"))
            elif article.id in ids:
                result.refused.append(Refusal(where, f"article id {article.id} is already in the corpus"))
            else:
                article.metadata.setdefault("original_file", path.name)
                write_article(workspace.corpus, article)
                existing[article.text_sha256] = article.id
                ids.add(article.id)
                result.added.append(article)
    return result


@dataclass
class CorpusListing:
    rows: list[dict[str, Any]]
    broken: list[Refusal]


def corpus_list(workspace: Workspace) -> CorpusListing:
    """One summary per article (id, title, characters, date, source, file), and the files that are no article."""
    articles, broken = read_corpus(workspace)
    rows = [
        {
            "id": a.id,
            "title": a.display_title,
            "characters": len(a.text),
            "date": a.metadata.get("date"),
            "source": a.metadata.get("source"),
            "file": a.path.name if a.path else None,
        }
        for a in articles
    ]
    return CorpusListing(rows, broken)
