"""peninsula-qa: cited-passage question answering over a document (the Korean-Peninsula chapter by default).

>>> from qa import Assistant
>>> answer = Assistant().ask("川金會在哪一天舉行？")
"""

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InvalidRequestError, QAError, UnknownCitationError
from qa.model import Answer, Citation, PassageContext, Quote, Section

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "InvalidRequestError",
    "PassageContext",
    "QAError",
    "Quote",
    "Section",
    "Settings",
    "UnknownCitationError",
]
