"""The Label Studio side: the server, the client, and the commands that talk to it.

Owns the embedded server (`server`), the connection and its raw GET (`client`), a project's
config, tasks and the records sent into it as predictions or annotations (`projects`), push,
pull, team accounts (`team`), the instructions shown in the labelling view (`instructions`),
and annotator pseudonyms (`pseudonyms`).

May import: `annotate.core`.
"""
