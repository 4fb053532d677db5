"""The rows of a published dataset, one function per config, and their parquet files written in batches.

Row shapes follow `derive.features(scheme, config)`; no server id or e-mail ever enters a row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from itertools import accumulate, chain
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from annotate.core.records import Span as TextSpan
from annotate.core.records import effective_attributes
from annotate.core.scheme import Scheme
from annotate.dataset.tokens import Token, TokenColumns
from annotate.dataset.windows import article_tokens

BATCH_ROWS = 256
SPILL = ".spill"
"""The folder, inside a version being written, of the rows waiting for their parquet files."""


# --- rows --------------------------------------------------------------------------------------


class EntityRow(TypedDict):
    id: str
    start: int
    end: int
    text: str
    label: str


EventRow = dict[str, Any]
"""id, type, trigger (a span), arguments (role, target), then one column per attribute of the scheme."""


class DocumentRow(TypedDict):
    id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    text: str
    entities: list[EntityRow]
    events: list[EventRow]
    gold_from: str


class TokenRow(TypedDict):
    id: str
    tokens: list[str]
    token_starts: list[int]
    token_ends: list[int]
    ner_tags: list[str]


class AnnotationRow(TypedDict):
    article_id: str
    annotation_id: str
    annotator: str
    ground_truth: bool
    cancelled: bool
    lead_time: float | None
    entities: list[EntityRow]
    events: list[EventRow]


def _event_row(event: Mapping[str, Any], defaults: dict[str, str]) -> EventRow:
    trigger: TextSpan = event["trigger"]
    return {
        "id": str(event["id"]),
        "type": event["type"],
        "trigger": {"start": trigger["start"], "end": trigger["end"], "text": trigger["text"]},
        "arguments": [{"role": a["role"], "target": str(a["target"])} for a in event.get("arguments") or []],
        **effective_attributes(event, defaults),
    }


def _entity_rows(record: Mapping[str, Any]) -> list[EntityRow]:
    return [
        {"id": str(e["id"]), "start": e["start"], "end": e["end"], "text": e["text"], "label": e["label"]}
        for e in record.get("entities") or []
    ]


def document_row(record: Mapping[str, Any], meta: dict[str, Any], scheme: Scheme, gold_from: str) -> DocumentRow:
    """One row of the `documents` config: the article with its gold entities and events."""
    defaults = scheme.defaults()
    return {
        "id": str(record["article_id"]),
        "title": meta.get("title") or record.get("title"),
        "date": meta.get("date"),
        "source": meta.get("source"),
        "url": meta.get("url"),
        "text": record["text"],
        "entities": _entity_rows(record),
        "events": [_event_row(event, defaults) for event in record.get("events") or []],
        "gold_from": gold_from,
    }


def token_row(document: DocumentRow) -> tuple[TokenRow, int]:
    """One row of the `tokens` config and the number of entity spans BIO could not carry."""
    tokens, tags, dropped = article_tokens(document)
    return tokens_row(document, tokens, tags), dropped


def tokens_row(document: Mapping[str, Any], tokens: list[Token], tags: list[str]) -> TokenRow:
    """The `tokens` row of an article whose tokens and tags are already made."""
    return {
        "id": document["id"],
        "tokens": [t.text for t in tokens],
        "token_starts": [t.start for t in tokens],
        "token_ends": [t.end for t in tokens],
        "ner_tags": tags,
    }


def tokens_row_of(document: Mapping[str, Any], columns: TokenColumns, tags: list[str]) -> TokenRow:
    """The `tokens` row of an article from its token columns (the lists are shared, not copied)."""
    return {
        "id": document["id"],
        "tokens": columns.texts,
        "token_starts": columns.starts,
        "token_ends": columns.ends,
        "ner_tags": tags,
    }


def annotation_row(record: Mapping[str, Any], scheme: Scheme) -> AnnotationRow:
    """One row of the `annotations` config: one pseudonymous annotator's record, no server ids."""
    defaults = scheme.defaults()
    return {
        "article_id": str(record["article_id"]),
        "annotation_id": str(record["annotation_id"]),
        "annotator": str(record["annotator"]),
        "ground_truth": bool(record.get("ground_truth")),
        "cancelled": bool(record.get("cancelled")),
        "lead_time": record.get("lead_time"),
        "entities": _entity_rows(record),
        "events": [_event_row(event, defaults) for event in record.get("events") or []],
    }


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
"""What `json.dumps(row, sort_keys=True, ensure_ascii=False)` does, made once instead of once per row."""


def row_sha256(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL.encode(row).encode("utf-8")).hexdigest()


# --- encoding rows for Arrow ----------------------------------------------------------------------

Encoder = Callable[[Any], Any]


def _keep(value: Any) -> Any:
    return value


def _value_encoder(feature: Any) -> Encoder:
    """What `Value.encode_example` does for the feature's Arrow type, without asking for the type per value."""
    import pyarrow as pa  # heavy: loaded only when a version is published

    kind = feature.pa_type
    if pa.types.is_boolean(kind):
        cast: Encoder = bool
    elif pa.types.is_integer(kind):
        cast = int
    elif pa.types.is_floating(kind):
        cast = float
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        cast = str
    else:
        return _keep
    return lambda value: None if value is None else cast(value)


def _label_encoder(feature: Any) -> Encoder:
    """A class name to its id through a map made once; anything else goes through `ClassLabel` itself."""
    ids = {name: number for number, name in enumerate(feature.names)}

    def encode(value: Any) -> Any:
        if value is None:
            return None
        found = ids.get(value) if isinstance(value, str) else None
        return found if found is not None else feature.encode_example(value)

    return encode


def _plain_type(feature: Any) -> type | None:
    """The Python type a value of this feature already has when `datasets` would leave it unchanged."""
    import pyarrow as pa  # heavy: loaded only when a version is published
    from datasets import Value  # heavy, as above

    if not isinstance(feature, Value):
        return None
    kind = feature.pa_type
    if pa.types.is_boolean(kind):
        return bool
    if pa.types.is_integer(kind):
        return int
    if pa.types.is_floating(kind):
        return float
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return str
    return None


def _dict_encoder(feature: dict[str, Any]) -> Encoder:
    """A struct: a field whose value already has its plain type is taken as it is, the others are encoded."""
    plain = [(name, kind, encoder(sub)) for name, sub in feature.items() if (kind := _plain_type(sub)) is not None]
    other = [(name, encoder(sub)) for name, sub in feature.items() if _plain_type(sub) is None]

    def encode_dict(value: Any) -> Any:
        if value is None:
            return None
        get = value.get
        out = {}
        for name, kind, encode in plain:
            item = get(name)
            out[name] = item if type(item) is kind else encode(item)
        for name, encode in other:
            out[name] = encode(get(name))
        return out

    return encode_dict


def _list_encoder(feature: Any, item: Encoder) -> Encoder:
    """A list of `feature`: labels through their map at once; a list of plain values kept as it is when its
    first value is (as `datasets` keeps it); anything else item by item."""
    from datasets import ClassLabel, Value  # heavy: loaded only when a version is published

    if isinstance(feature, ClassLabel):
        ids = {name: number for number, name in enumerate(feature.names)}

        def encode_labels(value: Any) -> Any:
            if value is None:
                return None
            try:
                return [ids[v] for v in value]
            except (KeyError, TypeError):
                return [item(v) for v in value]

        return encode_labels
    if isinstance(feature, Value):

        def encode_values(value: Any) -> Any:
            if value is None:
                return None
            first = next((v for v in value if v is not None), None)
            return list(value) if first is None or item(first) == first else [item(v) for v in value]

        return encode_values
    return lambda value: None if value is None else [item(v) for v in value]


def encoder(feature: Any) -> Encoder:
    """A function turning one value of `feature` into what `Features.encode_example` makes of it.

    Made once per config from its features, so a row costs dictionary look-ups, not a walk
    of the feature tree (class names become ids; strings, integers, floats and booleans are
    cast as `datasets` casts them). The output for every valid row is the same, so the
    parquet files are the same bytes.
    """
    from datasets import ClassLabel, LargeList, List, Value  # heavy: loaded only when a version is published

    if isinstance(feature, dict):
        return _dict_encoder(feature)
    if isinstance(feature, (List, LargeList)):
        return _list_encoder(feature.feature, encoder(feature.feature))
    if isinstance(feature, ClassLabel):
        return _label_encoder(feature)
    if isinstance(feature, Value):
        return _value_encoder(feature)
    return lambda value: None if value is None else feature.encode_example(value)


# --- rows to Arrow columns ------------------------------------------------------------------------

Column = Callable[[list[Any]], Any]
"""Values of one feature (as rows carry them) to one Arrow array of the feature's type."""


def _values_column(kind: Any, encode: Encoder) -> Column:
    """Plain values straight into Arrow; values Arrow does not take as they are go through `encode` first."""
    import pyarrow as pa  # heavy: loaded only when a version is published

    def build(values: list[Any]) -> Any:
        try:
            return pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            return pa.array([encode(v) for v in values], type=kind)

    return build


def _labels_column(feature: Any, kind: Any) -> Column:
    import pyarrow as pa  # heavy: loaded only when a version is published

    ids = {name: number for number, name in enumerate(feature.names)}
    encode = _label_encoder(feature)

    def build(values: list[Any]) -> Any:
        try:
            return pa.array([ids[v] for v in values], type=kind)
        except (KeyError, TypeError):
            return pa.array([encode(v) for v in values], type=kind)

    return build


def _nulls(values: list[Any]) -> Any:
    """The validity mask Arrow wants when some values are None, else None."""
    import pyarrow as pa  # heavy: loaded only when a version is published

    if None not in values:
        return None
    return pa.array([v is None for v in values], type=pa.bool_())


def _field(values: list[Any], name: str) -> list[Any]:
    """The `name` value of each mapping, None where it has none (as `from_pylist` reads a missing key)."""
    try:
        return [value[name] for value in values]
    except KeyError:
        return [value.get(name) for value in values]


def _struct_column(feature: dict[str, Any], kind: Any) -> Column:
    import pyarrow as pa  # heavy: loaded only when a version is published

    fields = [kind.field(i) for i in range(kind.num_fields)]
    children = [(f.name, column(feature[f.name], f.type)) for f in fields]

    def build(values: list[Any]) -> Any:
        mask = _nulls(values)
        present = values if mask is None else [{} if v is None else v for v in values]
        arrays = [child(_field(present, name)) for name, child in children]
        return pa.StructArray.from_arrays(arrays, fields=fields, mask=mask)

    return build


def _list_column(feature: Any, kind: Any) -> Column:
    import pyarrow as pa  # heavy: loaded only when a version is published

    item = column(feature.feature, kind.value_type)
    large = pa.types.is_large_list(kind)
    offset_type, array_type = (pa.int64(), pa.LargeListArray) if large else (pa.int32(), pa.ListArray)

    def build(values: list[Any]) -> Any:
        mask = _nulls(values)
        present = values if mask is None else [() if v is None else v for v in values]
        flat = list(chain.from_iterable(present))
        offsets = list(accumulate(map(len, present), initial=0))
        return array_type.from_arrays(pa.array(offsets, type=offset_type), item(flat), type=kind, mask=mask)

    return build


def column(feature: Any, kind: Any) -> Column:
    """A function building the Arrow array of `feature` (Arrow type `kind`) from a list of row values.

    Column by column from the rows as they are, with no per-row encoded copy: class names
    become ids through a map made once, plain values go to Arrow as they are. The arrays are
    those `Table.from_pylist` makes of `Features.encode_example` of each row, so the parquet
    files are the same bytes. A feature of another kind goes through its encoder value by value.
    """
    import pyarrow as pa  # heavy: loaded only when a version is published
    from datasets import ClassLabel, LargeList, List, Value  # heavy, as above

    if isinstance(feature, dict) and pa.types.is_struct(kind):
        return _struct_column(feature, kind)
    if isinstance(feature, (List, LargeList)) and (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return _list_column(feature, kind)
    if isinstance(feature, ClassLabel):
        return _labels_column(feature, kind)
    if isinstance(feature, Value):
        return _values_column(kind, _value_encoder(feature))
    encode = encoder(feature)
    return lambda values: pa.array([encode(v) for v in values], type=kind)


# --- parquet in batches ----------------------------------------------------------------------------


class SplitWriter:
    """The parquet files of one config, one per split, written in batches of `BATCH_ROWS` rows.

    While rows stream, each split's batches go to a spill file in Arrow's IPC stream format
    (beside the output, under `.spill/`); `close` then writes each split's parquet file from its
    spill, one file at a time, in the same batches. A parquet writer holds the metadata of every
    row group it wrote until it closes (about 6 to 30 KB each here), so twelve writers open for
    the whole stream made publish's peak memory grow with the gold set; one at a time, only the
    largest file's metadata is ever held. The parquet files are the same, byte for byte: the
    same batches reach the parquet writer in the same order.
    """

    def __init__(self, folder: Path, config: str, features) -> None:
        self.folder = folder / "data" / config
        self.spill_folder = folder / SPILL / config
        self.features = features
        self.schema = features.arrow_schema
        self.columns = [(f.name, column(features[f.name], f.type)) for f in self.schema]
        self.buffers: dict[str, list[Mapping[str, Any]]] = {}
        self.spills: dict[str, Any] = {}
        self.rows: Counter = Counter()
        self.bytes: Counter = Counter()

    def add(self, split: str, row: Mapping[str, Any]) -> None:
        buffer = self.buffers.setdefault(split, [])
        buffer.append(row)
        if len(buffer) >= BATCH_ROWS:
            self._flush(split)

    def _flush(self, split: str) -> None:
        # lazy: pyarrow takes a tenth of a second to import; only writing parquet needs it
        import pyarrow as pa

        buffer = self.buffers.get(split)
        if not buffer:
            return
        if split not in self.spills:
            self.spill_folder.mkdir(parents=True, exist_ok=True)
            self.spills[split] = pa.ipc.new_stream(self._spill(split), self.schema)
        table = self.table(buffer)
        self.spills[split].write_table(table)
        self.rows[split] += table.num_rows
        self.bytes[split] += table.nbytes
        buffer.clear()

    def _spill(self, split: str) -> Path:
        return self.spill_folder / f"{split}.arrows"

    def table(self, rows: list[Mapping[str, Any]]) -> Any:
        """One batch of rows as an Arrow table of the config's schema, built column by column."""
        import pyarrow as pa  # lazy: pyarrow takes a tenth of a second to import; only publishing needs it

        arrays = [build(_field(rows, name)) for name, build in self.columns]
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def close(self) -> None:
        """Write each split's parquet file from its spill, one after the other, then remove the spills."""
        import pyarrow as pa  # lazy: as in `table`
        import pyarrow.parquet as pq  # lazy: as in `table`

        for split in list(self.buffers):
            self._flush(split)
        for split, spill in self.spills.items():
            spill.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            # Read through plain reads, not a memory map, whose pages would count as this process's memory.
            with pa.OSFile(str(self._spill(split))) as source, pa.ipc.open_stream(source) as batches, pq.ParquetWriter(
                self.folder / f"{split}.parquet", self.schema
            ) as writer:
                for batch in batches:
                    writer.write_table(pa.Table.from_batches([batch], schema=self.schema))
            self._spill(split).unlink()
        self.spills.clear()
        with contextlib.suppress(OSError):  # the other configs' spills may still be there
            self.spill_folder.rmdir()
            self.spill_folder.parent.rmdir()
