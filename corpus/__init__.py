"""Documents in: load, clean and structure text into citable blocks with section paths and offsets."""

from corpus.errors import CorpusError, DocumentError
from corpus.loading import DocumentLoader, default_document_path, load_default_document
from corpus.model import Block, BlockKind, Document, SectionPath, format_section
from corpus.parsing import normalize_spacing, parse_text
from corpus.script import to_simplified, to_traditional

__all__ = [
    "Block",
    "BlockKind",
    "CorpusError",
    "Document",
    "DocumentError",
    "DocumentLoader",
    "SectionPath",
    "default_document_path",
    "format_section",
    "load_default_document",
    "normalize_spacing",
    "parse_text",
    "to_simplified",
    "to_traditional",
]
