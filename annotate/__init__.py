"""annotate: turn news articles into a gold-standard, versioned dataset of entities and events."""

__version__ = "0.1.0"
