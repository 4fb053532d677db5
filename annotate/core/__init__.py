"""The core: what every other layer stands on.

Owns the error family, the workspace (folders, private state, atomic writes), the project
settings, the scheme and everything derived from it, the generated files, the canonical
record and its JSON Lines files, validation, and the corpus.

May import: the standard library and third-party packages only; never another layer of
`annotate`.
"""
