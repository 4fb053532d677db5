"""A synthetic scheme 1.1.0 for the migration tests, written into a throwaway workspace.

From the repository's 1.0.0 it renames the entity type WEA to WEAPON, merges
Contact.Meet and Contact.Correspond into Contact.Communicate (which gains a Topic role),
and removes the tense value Present (relabelled Past). The guidelines move to 1.2, for
scheme 1.1.0, and say so.
"""

from __future__ import annotations

import re

from annotate.core import generated
from annotate.core.workspace import Workspace

MIGRATION = """\
from: 1.0.0
to: 1.1.0
changes:
  - rename: {entity_type: WEA, to: WEAPON}
  - merge: {event_types: [Contact.Meet, Contact.Correspond], into: Contact.Communicate}
  - add: {role: Topic, event_type: Contact.Communicate}
  - remove: {attribute_value: Present, attribute: tense, then: {relabel: Past}}
"""

_MEET = re.compile(r"  - name: Contact\.Meet\n.*?(?=  - name: Agreement\.Commit)", re.DOTALL)
_COMMUNICATE = """\
  - name: Contact.Communicate
    plover: CONSULT
    color: "#ffe119"
    definition: Two or more agents meet or communicate - a summit, talks, letters, phone calls.
    roles:
      - {name: Participant, targets: [ANY-AGENT]}
      - {name: Place, targets: [PLACE]}
      - {name: Topic, targets: [EVENT]}
      - {name: Time, targets: [DATE]}
"""
GUIDELINES_CHANGE = "WEA is now WEAPON; Contact.Meet and Contact.Correspond are one type, Contact.Communicate."


def write_scheme_1_1(workspace: Workspace, *, migration: str | None = MIGRATION, regenerate: bool = True) -> None:
    """Turn the workspace's scheme into 1.1.0, with its migration file and guidelines 1.2."""
    text = workspace.scheme_path.read_text(encoding="utf-8")
    text = text.replace("version: 1.0.0", "version: 1.1.0")
    text = re.sub(r"\bWEA\b", "WEAPON", text)
    text = _MEET.sub(_COMMUNICATE, text)
    text = text.replace("values: [Past, Present, Future, Unspecified]", "values: [Past, Future, Unspecified]")
    workspace.scheme_path.write_text(text, encoding="utf-8")
    page = workspace.guidelines / "annotation-guidelines.md"
    guidelines = page.read_text(encoding="utf-8")
    guidelines = guidelines.replace(
        "**Guidelines version 1.1**, for labelling scheme version 1.0.0",
        "**Guidelines version 1.2**, for labelling scheme version 1.1.0",
    )
    guidelines = guidelines.rstrip("\n") + f"\n- **1.2** (scheme 1.1.0): {GUIDELINES_CHANGE}\n"
    page.write_text(guidelines, encoding="utf-8")
    if migration is not None:
        folder = workspace.labels / "migrations"
        folder.mkdir(exist_ok=True)
        (folder / "1.0.0-to-1.1.0.yaml").write_text(migration, encoding="utf-8")
    if regenerate:
        generated.scheme(workspace)
