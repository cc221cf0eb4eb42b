"""peninsula-qa: cited-passage question answering over a document (the Korean-Peninsula chapter by default).

>>> from qa import Assistant
>>> answer = Assistant().ask("川金會在哪一天舉行？")
"""

from qa.assistant import Assistant
from qa.collection import DEFAULT_COLLECTION, Collection, DocumentEntry
from qa.config import Settings
from qa.errors import CollectionError, InvalidRequestError, QAError, UnknownCitationError
from qa.model import Answer, Citation, IndexedDocument, PassageContext, Quote, Section

__all__ = [
    "DEFAULT_COLLECTION",
    "Answer",
    "Assistant",
    "Citation",
    "Collection",
    "CollectionError",
    "DocumentEntry",
    "IndexedDocument",
    "InvalidRequestError",
    "PassageContext",
    "QAError",
    "Quote",
    "Section",
    "Settings",
    "UnknownCitationError",
]
