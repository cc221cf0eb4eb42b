"""What ``benchmarks/fit.py`` fits on public question sets, saved as JSON inside the package: the
score-fusion weights (``fusion.json``) and logistic-regression models over named features
(``logit = ((x - mean) / scale) · coef + intercept``), read with the standard library and scored
with numpy: no pickle, no fitting library at run time.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError

FORMAT = 1
MODELS = resources.files("qa") / "models"
"""Where the shipped models live: ``qa/models/<name>.json``."""


def with_english_copies(names: tuple[str, ...]) -> tuple[str, ...]:
    """Feature names followed by their English copies (``"en: …"``), which only an English question
    fills: the models weigh evidence differently for questions crossing from English to Chinese."""
    return (*names, *(f"en: {name}" for name in names))


def english_copies(base: np.ndarray, language: str) -> np.ndarray:
    """``base`` (features along the last axis) followed by its English copies, as
    :func:`with_english_copies` names them: ``base`` again for an English question, else zeros."""
    return np.concatenate([base, base if language == "en" else np.zeros_like(base)], axis=-1)


class ModelError(QAError, ValueError):
    """A fitted model file that is missing, damaged or does not match the features asked for."""


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression over named features.

    ``threshold`` is a decision point on the probability, where the fit chose one (the refusal
    model's); ``notes`` say what it was fitted on and how it scored on the folds left out.
    """

    features: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float | None = None
    notes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        n = len(self.features)
        if len(set(self.features)) != n:
            raise ModelError("a model's feature names must be distinct")
        for name, values in (("coef", self.coef), ("mean", self.mean), ("scale", self.scale)):
            if values.shape != (n,) or not np.all(np.isfinite(values)):
                raise ModelError(f"a model's {name} must be {n} finite numbers")
        if np.any(self.scale <= 0):
            raise ModelError("a model's scale must be positive")
        if not math.isfinite(self.intercept):
            raise ModelError("a model's intercept must be finite")
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise ModelError("a model's threshold is a probability, from 0 to 1")

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The log-odds of each row of ``x`` (columns in :attr:`features` order)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def columns(self, features: tuple[str, ...]) -> np.ndarray:
        """Where the model's features stand among ``features`` (what a pipeline computes);
        :class:`ModelError` if it reads one the pipeline does not compute."""
        unknown = sorted(set(self.features) - set(features))
        if unknown:
            raise ModelError(f"the model reads features the pipeline does not compute ({', '.join(unknown)}); refit")
        return np.array([features.index(f) for f in self.features], dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": list(self.features),
            "coef": self.coef.round(8).tolist(),
            "intercept": round(float(self.intercept), 8),
            "mean": self.mean.round(8).tolist(),
            "scale": self.scale.round(8).tolist(),
            "threshold": self.threshold,
            "notes": self.notes or {},
        }

    @classmethod
    def from_dict(cls, data: Any) -> LinearModel:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"not a fitted model of format {FORMAT}")
        try:
            return cls(
                features=tuple(str(f) for f in data["features"]),
                coef=np.array(data["coef"], dtype=np.float64),
                intercept=float(data["intercept"]),
                mean=np.array(data["mean"], dtype=np.float64),
                scale=np.array(data["scale"], dtype=np.float64),
                threshold=None if data.get("threshold") is None else float(data["threshold"]),
                notes=dict(data.get("notes") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"a fitted model's fields are missing or damaged ({exc})") from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


class ThresholdJudge:
    """A yes or no from a fitted model: its probability for one feature vector (in the order of
    :attr:`features`) at or above the model's threshold."""

    features: tuple[str, ...] = ()
    """The features a subclass computes, in its order."""
    what = "the model"

    def __init__(self, model: LinearModel) -> None:
        self.columns = model.columns(self.features)
        if model.threshold is None:
            raise ValueError(f"{self.what} needs a threshold")
        self.model = model

    def odds(self, features: np.ndarray) -> float:
        """The model's probability for ``features``."""
        return float(self.model.probabilities(features.reshape(1, -1)[:, self.columns])[0])

    def run(self, features: np.ndarray) -> bool:
        return self.odds(features) >= float(self.model.threshold or 0.0)


def _read(name: str, what: str) -> Any:
    """The JSON of ``qa/models/<name>.json``; :class:`ModelError` naming ``what`` if it is missing or unreadable."""
    resource = MODELS / f"{name}.json"
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{what} is missing ({resource}); reinstall peninsula-qa") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{what} cannot be read ({exc}); reinstall peninsula-qa") from None


@functools.cache
def load_model(name: str) -> LinearModel:
    """The shipped model ``qa/models/<name>.json``; :class:`ModelError` if it is missing or damaged."""
    return LinearModel.from_dict(_read(name, f"the fitted model {name!r}"))


@functools.cache
def _fusion_file() -> dict[str, Any]:
    data = _read("fusion", "the fitted fusion weights")
    weights = data.get("weights") if isinstance(data, dict) and data.get("format") == FORMAT else None
    if not isinstance(weights, dict) or not all(
        isinstance(t, dict) and all(isinstance(w, int | float) and w >= 0 for w in t.values()) for t in weights.values()
    ):
        raise ModelError("the fitted fusion weights are damaged; reinstall peninsula-qa")
    return data


def fusion_weights() -> dict[str, dict[str, float]]:
    """The score-fusion weights fitted by ``benchmarks/fit.py`` (``qa/models/fusion.json``): per query
    language, each retriever's weight and ``"dates"``, the weight of the question's dates."""
    return {lang: {k: float(w) for k, w in table.items()} for lang, table in _fusion_file()["weights"].items()}
