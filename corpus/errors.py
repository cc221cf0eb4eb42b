"""Errors raised while loading documents."""


class CorpusError(Exception):
    """Base class for problems with documents given to peninsula-qa."""


class DocumentError(CorpusError):
    """A document cannot be read: missing, not UTF-8 text, of an unsupported type, or empty."""
