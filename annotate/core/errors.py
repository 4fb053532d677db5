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
