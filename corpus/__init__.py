"""Documents in: load PDF, Word, HTML, Markdown or text files and structure them into citable blocks
with section paths, offsets and (for a PDF) pages."""

from corpus.errors import CorpusError, DocumentError
from corpus.loading import SUPPORTED_SUFFIXES, DocumentLoader, default_document_path, load_default_document
from corpus.model import Block, BlockKind, Document, SectionPath, format_section
from corpus.parsing import normalize_spacing, parse_text
from corpus.pdf import PdfReader
from corpus.script import to_simplified, to_traditional
from corpus.webpage import HtmlReader
from corpus.word import DocxReader

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Block",
    "BlockKind",
    "CorpusError",
    "Document",
    "DocumentError",
    "DocumentLoader",
    "DocxReader",
    "HtmlReader",
    "PdfReader",
    "SectionPath",
    "default_document_path",
    "format_section",
    "load_default_document",
    "normalize_spacing",
    "parse_text",
    "to_simplified",
    "to_traditional",
]
