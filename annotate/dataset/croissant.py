"""`croissant.json`: Croissant 1.0 metadata of a published version, with the Responsible-AI (RAI) fields.

The Hub generates core Croissant for a repository but no RAI fields; this file carries both,
with record sets over the version's own parquet files, so `mlcroissant` can load its records
from the version folder without a network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotate.core.settings import DatasetSettings
from annotate.dataset.citation import bibtex, hub_url

CONFORMS_TO = ["http://mlcommons.org/croissant/1.0", "http://mlcommons.org/croissant/RAI/1.0"]
_LICENCES = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "mit": "https://opensource.org/license/mit",
    "apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
}
# The scalar columns of each config that a record set exposes (lists of spans stay in parquet).
RECORD_FIELDS: dict[str, list[tuple[str, str]]] = {
    "documents": [("id", "sc:Text"), ("title", "sc:Text"), ("date", "sc:Text"), ("source", "sc:Text"),
                  ("url", "sc:Text"), ("text", "sc:Text"), ("gold_from", "sc:Text")],
    "windows": [("id", "sc:Text"), ("article_id", "sc:Text"), ("window", "sc:Integer"), ("start", "sc:Integer"),
                ("end", "sc:Integer"), ("text", "sc:Text")],
}


def context() -> dict[str, Any]:
    """The JSON-LD @context that Croissant 1.0 documents use, with the RAI namespace."""
    cr = {
        name: f"cr:{name}"
        for name in (
            "citeAs", "column", "equivalentProperty", "extract", "field", "fileProperty", "fileObject", "fileSet",
            "format", "includes", "isLiveDataset", "jsonPath", "key", "md5", "parentField", "path", "recordSet",
            "references", "regex", "repeated", "replace", "samplingRate", "separator", "source", "subField",
            "transform",
        )
    }
    return {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "sc": "https://schema.org/",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "dct": "http://purl.org/dc/terms/",
        "conformsTo": "dct:conformsTo",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "examples": {"@id": "cr:examples", "@type": "@json"},
        **cr,
    }


def _record_set(config: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    files = f"{config}-parquet"
    record_fields = [
        {
            "@type": "cr:Field",
            "@id": f"{config}/{name}",
            "name": name,
            "dataType": data_type,
            "source": {"fileSet": {"@id": files}, "extract": {"column": name}},
        }
        for name, data_type in fields
    ]
    record_fields.append(
        {
            "@type": "cr:Field",
            "@id": f"{config}/split",
            "name": "split",
            "description": "The split the row belongs to, from its file name.",
            "dataType": "sc:Text",
            "source": {
                "fileSet": {"@id": files},
                "extract": {"fileProperty": "filename"},
                "transform": {"regex": "^(train|validation|test)\\.parquet$"},
            },
        }
    )
    return {
        "@type": "cr:RecordSet",
        "@id": config,
        "name": config,
        "description": f"One record per row of the `{config}` config (its scalar columns), with its split.",
        "field": record_fields,
    }


def croissant(
    folder: Path,
    *,
    settings: DatasetSettings,
    manifest: dict[str, Any],
    rai: dict[str, str],
    hub_repo: str | None,
) -> dict[str, Any]:
    """The Croissant document of the version in `folder` (its parquet files must be written)."""
    version, date = manifest["version"], manifest["published_at"][:10]
    distribution: list[dict[str, Any]] = []
    record_sets = []
    for config, fields in RECORD_FIELDS.items():
        if not any((folder / "data" / config).glob("*.parquet")):
            continue
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": f"{config}-parquet",
                "name": f"{config}-parquet",
                "description": f"Parquet files of the `{config}` config, one per split.",
                "encodingFormat": "application/x-parquet",
                "includes": f"data/{config}/*.parquet",
            }
        )
        record_sets.append(_record_set(config, fields))
    document: dict[str, Any] = {
        "@context": context(),
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": settings.name,
        "alternateName": settings.pretty_name,
        "description": (
            f"{settings.pretty_name}, version {version}: news articles annotated with entity mentions and events "
            "(trigger, typed arguments by role, attributes), each event type with its PLOVER category."
        ),
        "version": version,
        "datePublished": date,
        "license": _LICENCES.get(settings.license.lower(), settings.license),
        "inLanguage": list(settings.language),
        "keywords": ["event extraction", "named entity recognition", "news", "PLOVER"],
        "citeAs": bibtex(settings, version, date, hub_repo),
        "creator": [{"@type": "sc:Organization", "name": name} for name in settings.authors]
        or [{"@type": "sc:Organization", "name": f"{settings.pretty_name} contributors"}],
        "url": hub_url(hub_repo) or "README.md",
        "isLiveDataset": False,
        "distribution": distribution,
        "recordSet": record_sets,
        **{f"rai:{key}": value for key, value in rai.items()},
    }
    return document


def _recorded(manifest: dict[str, Any]) -> str:
    """Who or what made the recorded passes and the curation, as the version's provenance says (or nothing)."""
    recorded = (manifest.get("annotation") or {}).get("recorded") or {}
    parts = [f"{p['file']}: made by {p['made_by']}; {p['how']}" for p in recorded.get("passes") or []]
    if recorded.get("curation"):
        c = recorded["curation"]
        parts.append(f"curation ({c['file']}): made by {c['made_by']}; {c['how']}")
    if recorded.get("note"):
        parts.append(str(recorded["note"]))
    return (" Recorded work: " + " ".join(" ".join(p.split()) for p in parts)) if parts else ""


def rai_fields(settings: DatasetSettings, manifest: dict[str, Any], corpus_size: int) -> dict[str, str]:
    """The Responsible-AI fields, from the same facts as the card."""
    sources = ", ".join(f"{name} ({count})" for name, count in manifest.get("sources", {}).items()) or "not recorded"
    note = _recorded(manifest)
    return {
        "dataCollection": (
            f"News articles from online outlets (by outlet: {sources}); {len(manifest['articles'])} of the corpus's "
            f"{corpus_size} article(s) are in this version. Each text was cleaned of site furniture and normalised "
            "(Unicode NFC, one newline convention); offsets index that text."
        ),
        "dataCollectionType": "Secondary data: published news articles, collected by the maintainers.",
        "dataAnnotationProtocol": (
            f"Entity mentions, event triggers, arguments by role and event attributes labelled in Label Studio "
            f"under the project's written guidelines (version {manifest.get('guidelines_version') or 'not recorded'}) "
            f"and labelling scheme {manifest['scheme']['version']}; disagreements between annotators were "
            f"adjudicated into one gold record per article.{note}"
        ),
        "dataAnnotationPlatform": "Label Studio, through the annotate toolkit (push, pull, agreement, adjudicate).",
        "annotationsPerItem": (
            f"{manifest['annotators']} pseudonymous annotator(s) in all; every annotator's record is published in the "
            "`annotations` config beside the gold."
        ),
        "annotatorDemographics": (
            "Not collected. Annotators appear only as pseudonyms (keyed hashes); see the card's annotation process "
            "for who or what annotated this version."
        ),
        "dataBiases": (
            "The articles come from few outlets and one language; their framing and their choice of what to report "
            "carry through to the labels. Events are events mentioned, including allegations, denials and plans: "
            "read modality and polarity before treating one as having happened."
        ),
        "dataLimitations": (
            f"{len(manifest['articles'])} article(s) is a small sample: figures measured on it have wide uncertainty, "
            "and a split may be tiny or absent."
        ),
        "personalSensitiveInformation": (
            "The articles name public figures and officials and report allegations about them, as published news "
            "does. No annotator e-mail, name or server id is published; annotators are pseudonyms."
        ),
        "dataUseCases": (
            "Training and evaluating named-entity recognisers and event extractors; studying annotator agreement. "
            "Not a source of facts about any person, state or organisation."
        ),
        "dataReleaseMaintenancePlan": (
            "Versions are immutable and numbered X.Y.Z; a correction is a new version with a changelog in its "
            "manifest.json."
        ),
    }
