"""The Label Studio side: the server, the client, and the commands that talk to it.

Owns the embedded server, the connection and its project helpers, push, pull, team
accounts, the instructions shown in the labelling view, and annotator pseudonyms.

May import: `annotate.core`.
"""
