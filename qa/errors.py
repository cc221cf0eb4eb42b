"""Errors of the question-answering layer; each message says what to do."""


class QAError(Exception):
    """Base class for errors a user of peninsula-qa can act on."""


class UnknownCitationError(QAError, KeyError):
    """No passage has this citation id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown citation id"


class InvalidRequestError(QAError, ValueError):
    """A question or an argument (such as k) that cannot be served; the message says why."""


class CollectionError(QAError):
    """A document collection that cannot be used as asked: a bad name, an unknown document id, an
    empty or damaged collection; the message says what to do."""


class SettingsError(QAError, ValueError):
    """Settings that cannot work together (an unknown fusion, a weight for a retriever that is not
    loaded …); the message names the setting and what it may be."""
