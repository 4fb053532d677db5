"""How to cite a published version: a `CITATION.cff` and a BibTeX entry, both from annotate.yaml.

Authors are listed in `dataset.authors`; "Family, Given" names a person, anything else
a team or organisation. Without authors the citation names the dataset's own project.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from annotate.core.settings import DatasetSettings

CFF_VERSION = "1.2.0"


def _person(name: str) -> dict[str, str]:
    family, _, given = name.partition(",")
    if given.strip():
        return {"family-names": family.strip(), "given-names": given.strip()}
    return {"name": name.strip()}


def authors(settings: DatasetSettings) -> list[str]:
    return list(settings.authors) or [f"{settings.pretty_name} contributors"]


def spdx_licence(licence: str) -> str:
    """The SPDX id CFF expects for a Hugging Face licence name (cc-by-4.0 → CC-BY-4.0, mit → MIT)."""
    known = {"mit": "MIT", "apache-2.0": "Apache-2.0", "odc-by": "ODC-By-1.0", "odbl": "ODbL-1.0"}
    if licence.lower() in known:
        return known[licence.lower()]
    return licence.upper() if licence.lower().startswith("cc") else licence


def hub_url(hub_repo: str | None) -> str | None:
    return f"https://huggingface.co/datasets/{hub_repo}" if hub_repo else None


def citation_cff(settings: DatasetSettings, version: str, date: str, hub_repo: str | None) -> str:
    """CITATION.cff (Citation File Format 1.2.0) of one version."""
    data: dict[str, Any] = {
        "cff-version": CFF_VERSION,
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": settings.pretty_name,
        "version": version,
        "date-released": date,
        "license": spdx_licence(settings.license),
        "authors": [_person(name) for name in authors(settings)],
        "keywords": ["event extraction", "named entity recognition", "news", "PLOVER"],
    }
    if hub_repo:
        data["url"] = hub_url(hub_repo)
        data["repository"] = hub_url(hub_repo)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def bibtex_key(settings: DatasetSettings, version: str, year: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{settings.name}_{year}_v{version}").strip("_")


def bibtex(settings: DatasetSettings, version: str, date: str, hub_repo: str | None) -> str:
    """A BibTeX @misc entry of one version."""
    year = date[:4]
    names = " and ".join(name if "," in name else "{" + name + "}" for name in authors(settings))
    fields = [
        ("title", "{" + settings.pretty_name + "}"),
        ("author", names),
        ("year", year),
        ("version", version),
        ("note", f"Dataset, version {version}, licence {settings.license}"),
    ]
    if hub_repo:
        fields.append(("howpublished", "\\url{" + str(hub_url(hub_repo)) + "}"))
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields)
    return f"@misc{{{bibtex_key(settings, version, year)},\n{body}\n}}\n"
