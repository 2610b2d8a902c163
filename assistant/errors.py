"""Exception types. Library code raises these; only the CLI and the UI turn them into text.

Every message says what happened and what the person can do about it.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for errors a user can act on."""


class SettingsError(AssistantError):
    """A setting has a value that cannot work."""


class DataFileError(SettingsError):
    """A reviewed data file (wording.toml, vocabulary.toml, topics.toml) has an entry that cannot work.

    A SettingsError, because these files are configuration a pharmacist edits; the message names the
    file, the entry and the problem.
    """


class MissingDependencyError(AssistantError):
    """A package the assistant needs is not installed; the message gives the install command."""


class PortInUseError(AssistantError):
    """The web chat's port is taken by another program."""


class CorpusError(AssistantError):
    """The corpus folder is missing or unusable."""


class EmptyCorpusError(CorpusError):
    """The corpus folder holds no readable documents."""


class IndexNotFoundError(AssistantError):
    """No built index where one was expected."""


class IndexMismatchError(AssistantError):
    """The index on disk was built from other documents or settings."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class IndexCorruptError(AssistantError):
    """The index files exist but cannot be read."""


class ModelLoadError(AssistantError):
    """The embedding model could not be loaded."""


class InvalidQuestionError(AssistantError):
    """A question that cannot be answered as given (empty, too long)."""


class QuestionFileError(AssistantError):
    """A batch question file has problems; `problems` lists them with line numbers."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class OutputFolderError(AssistantError):
    """The folder given for a report cannot hold it; found before any work is done when possible."""


class BenchError(AssistantError):
    """`baclofen-qa bench` could not take a figure (a step failed, or a figure is not sane)."""
