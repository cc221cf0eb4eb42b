"""Errors raised while building or loading an index."""


class IndexBuildError(Exception):
    """An index cannot be built or loaded; the message says what to do."""


class MissingPackageError(IndexBuildError, ImportError):
    """A package the index needs is missing or broken; the message says what to install."""


class EmbedderUnavailableError(MissingPackageError):
    """An embedding model's package is missing or fails to load; the message names what to install."""
