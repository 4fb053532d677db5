"""The one family of errors the library raises; the CLI turns each into a sentence."""

from __future__ import annotations


class AnnotateError(Exception):
    """Something the user can act on; the message says what happened and what to do."""

    exit_code = 1


class UsageError(AnnotateError):
    """An option or argument cannot be used as given."""

    exit_code = 2


class WorkspaceError(AnnotateError):
    """The workspace (labels/, corpus/, exports/) is missing or malformed."""


class SchemeError(AnnotateError):
    """labels/scheme.yaml is broken; the message lists every problem with its line."""

    def __init__(self, problems: list[str], path: str = "labels/scheme.yaml") -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path} has {len(problems)} problem(s):\n{lines}")


class GeneratedFilesStale(AnnotateError):
    """A committed file generated from the scheme differs from what the scheme gives."""


class CorpusError(AnnotateError):
    """An article file cannot be read or written."""


class ServerError(AnnotateError):
    """The embedded Label Studio could not be started, stopped or found."""


class ConnectionFailed(AnnotateError):
    """Label Studio cannot be reached at the configured address."""


class AuthenticationFailed(AnnotateError):
    """Label Studio refused the API key."""


class LabelStudioError(AnnotateError):
    """Label Studio answered a request with an error."""


class ExportError(AnnotateError):
    """A file cannot be read as a Label Studio export or as canonical records."""

    exit_code = 2


class LabelConfigRefused(LabelStudioError):
    """Label Studio refused a new label config because existing annotations use what it removes."""


class PushInterrupted(AnnotateError):
    """A push stopped part-way; running it again finishes it without importing anything twice."""


class PublishError(AnnotateError):
    """A dataset version cannot be built or written as asked (it exists, the gold set is empty or invalid)."""


class HubError(AnnotateError):
    """The Hugging Face Hub could not be reached or refused an upload."""


class ProjectNotFound(AnnotateError):
    """No Label Studio project has the title a command was given."""


class PullFailed(AnnotateError):
    """A pull stopped before its records were written; the checkpoint did not move, so the next pull repeats it."""


class LabelConfigChanged(AnnotateError):
    """A Label Studio project's label config no longer has the scheme's labels (it was edited by hand)."""


class RecordsDamaged(AnnotateError):
    """A records or quarantine file has a line that is not a record (cut short, a merge conflict)."""

    def __init__(self, path: object, damaged: object, *, remedy: str | None = None) -> None:
        self.path = path
        self.line = getattr(damaged, "line", None)
        reason = getattr(damaged, "reason", "not a record")
        self.reason = reason
        remedy = remedy or (
            "run `annotate pull --full` (with the same --project, if you gave one) to rebuild the records from "
            "Label Studio; the damaged file is set aside first, and no record is dropped without being kept in "
            "the .removed.jsonl file"
        )
        super().__init__(f"{path} line {self.line} is {reason}. Fix or delete that line, or {remedy}.")


class ProjectMismatch(AnnotateError):
    """The Label Studio project found is not the one the local records were pulled from."""


class Busy(AnnotateError):
    """Another annotate command is writing the same project's files right now."""


class TitleTaken(UsageError):
    """Two different project titles would share one records file and checkpoint."""


class GoldDisputed(PublishError):
    """Gold cannot be taken as it stands: there is no gold file, or ground truths differ."""


class MigrationError(AnnotateError):
    """A scheme migration is missing, broken or does not fit the scheme; the message lists every problem."""

    def __init__(self, problems: list[str], path: str = "labels/migrations") -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{path}: {problems[0]}.")
        else:
            lines = "\n".join(f"  {p}" for p in problems)
            super().__init__(f"{path} has {len(problems)} problem(s):\n{lines}")


class MigrationInterrupted(AnnotateError):
    """A migration stopped part-way; running it again finishes it without changing anything twice."""


class ScoreError(AnnotateError):
    """Predictions cannot be scored as given (a bad row, an unknown article, no version to score against)."""

    exit_code = 2


class SuggestError(AnnotateError):
    """Suggestions cannot be made as asked (no version to learn from, nothing to learn, no project)."""
