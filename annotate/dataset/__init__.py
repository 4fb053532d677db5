"""The published dataset: versions, rows, tokens, the card and the Hub upload.

May import: `annotate.core`. It never talks to Label Studio: a version is built from files.
"""
