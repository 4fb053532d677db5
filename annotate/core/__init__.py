"""The core: what every other layer stands on.

Owns the error family (`errors`), the workspace: folders, private state and the one atomic
file writer (`workspace`), the project settings (`settings`), the scheme and everything
derived from it (`scheme`, `derive`, `generated`), the canonical record, its typed shape and
the one JSON Lines reader (`records`), checking a record (`validate`), reading Label Studio
exports and record files and grouping records by article (`exports`), the corpus (`corpus`),
the one rule for which record is gold (`gold`), and the progress protocol long commands
report through (`progress`).

May import: the standard library and third-party packages only; never another layer of
`annotate`.
"""
