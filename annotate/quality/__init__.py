"""Quality: comparing annotations and turning several into gold.

Owns agreement (and its report), adjudication and the curation project.

May import: `annotate.core`, `annotate.labelstudio`, `annotate.dataset`.
"""
