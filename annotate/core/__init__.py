"""The core: what every other layer stands on.

Owns the error family, the workspace (folders, private state, atomic writes, the lock one
writer holds), the project settings, the scheme and everything derived from it, the generated files, the canonical
record and its JSON Lines files, validation, the corpus, and the one rule for which
record is gold (`gold`).

May import: the standard library and third-party packages only; never another layer of
`annotate`.
"""
