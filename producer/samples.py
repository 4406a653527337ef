"""The sample library: one-shot samples with their instrument, root pitch and provenance.

A library is a folder with ``manifest.json``::

    {"format": "producer-samples", "version": 1,
     "samples": [{"id": "piano/C4", "file": "piano/piano_C4.flac", "instrument": "piano",
                  "pitch": 60, "duration": 2.5, "loudness_db": -18.2,
                  "source": "...", "licence": "MIT"}]}

``pitch`` is the root MIDI note (for drums, the General MIDI drum note). The default library is
the repository's ``samples/`` folder (override with the PRODUCER_SAMPLES environment variable).
Clips refer to samples by id; a reference that is not an id is a path relative to the project's
folder, which may not escape it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from producer.errors import SampleError

MANIFEST = "manifest.json"
FORMAT = "producer-samples"


@dataclass(frozen=True)
class SampleInfo:
    id: str
    path: Path  # absolute
    instrument: str
    pitch: int | None  # root MIDI note; GM drum note for drums; None if unknown
    duration: float = 0.0
    loudness_db: float = 0.0
    source: str = ""
    licence: str = ""

    @property
    def is_drum(self) -> bool:
        return self.instrument == "drums"


def default_library_dir() -> Path:
    env = os.environ.get("PRODUCER_SAMPLES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "samples"


class Library:
    """An indexed folder of one-shots. Lookups by id; audio loaded lazily and cached."""

    def __init__(self, root: Path, samples: list[SampleInfo]):
        self.root = Path(root).resolve()
        self._by_id = {s.id: s for s in samples}
        self._by_instrument: dict[str, list[SampleInfo]] = {}
        for s in samples:
            self._by_instrument.setdefault(s.instrument, []).append(s)
        for group in self._by_instrument.values():
            group.sort(key=lambda s: (s.pitch if s.pitch is not None else -1, s.id))

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def default(cls) -> "Library":
        return _default_library(str(default_library_dir()))

    @classmethod
    def from_manifest(cls, folder: str | os.PathLike) -> "Library":
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.is_file():
            raise SampleError(f"{folder}: no {MANIFEST} (build the default pack with `producer samples build`)")
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SampleError(f"{path}: unreadable manifest ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("samples"), list):
            raise SampleError(f"{path}: not a producer sample manifest")
        root = folder.resolve()
        samples = []
        for i, entry in enumerate(data["samples"]):
            try:
                file = (root / entry["file"]).resolve()
                if not file.is_relative_to(root):
                    raise SampleError(f"{path}: samples[{i}].file escapes the library folder")
                samples.append(SampleInfo(
                    id=str(entry["id"]), path=file, instrument=str(entry["instrument"]),
                    pitch=None if entry.get("pitch") is None else int(entry["pitch"]),
                    duration=float(entry.get("duration", 0.0)), loudness_db=float(entry.get("loudness_db", 0.0)),
                    source=str(entry.get("source", "")), licence=str(entry.get("licence", "")),
                ))
            except (KeyError, TypeError, ValueError) as exc:
                raise SampleError(f"{path}: samples[{i}] is malformed ({exc})") from None
        return cls(root, samples)

    # --- lookups -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self):
        return iter(self._by_id.values())

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self._by_id

    @property
    def instruments(self) -> list[str]:
        return sorted(self._by_instrument)

    def by_instrument(self, instrument: str) -> list[SampleInfo]:
        return list(self._by_instrument.get(instrument, []))

    def get(self, sample_id: str) -> SampleInfo:
        try:
            return self._by_id[sample_id]
        except KeyError:
            raise SampleError(f"unknown sample {sample_id!r} in library {self.root}") from None

    def nearest(self, instrument: str, pitch: int, *, max_shift: int = 2) -> SampleInfo:
        """The sample of ``instrument`` whose root is nearest ``pitch`` (at most ``max_shift`` semitones)."""
        group = [s for s in self._by_instrument.get(instrument, []) if s.pitch is not None]
        if not group:
            raise SampleError(f"no pitched samples of {instrument!r} in library {self.root}")
        best = min(group, key=lambda s: (abs(s.pitch - pitch), s.pitch))
        if abs(best.pitch - pitch) > max_shift:
            raise SampleError(f"{instrument} cannot play MIDI note {pitch}: nearest sample is {best.id}")
        return best

    def resolve(self, ref: str, base_dir: str | os.PathLike | None = None) -> SampleInfo:
        """A clip's sample reference -> SampleInfo: a library id, or a path inside ``base_dir``."""
        if ref in self._by_id:
            return self._by_id[ref]
        if base_dir is None:
            raise SampleError(f"unknown sample {ref!r} (not in library {self.root})")
        base = Path(base_dir).resolve()
        path = (base / ref).resolve()
        if not (path.is_relative_to(base) or path.is_relative_to(self.root)):
            raise SampleError(f"sample path {ref!r} escapes the project folder {base}")
        if not path.is_file():
            raise SampleError(f"unknown sample {ref!r}: not a library id and no such file in {base}")
        return SampleInfo(id=ref, path=path, instrument="unknown", pitch=None)

    def load(self, info: SampleInfo, sr: int) -> np.ndarray:
        """Mono float32 audio of a sample at ``sr`` [shape=(n,)], cached."""
        return _load_cached(str(info.path), int(sr))


@lru_cache(maxsize=4)
def _default_library(folder: str) -> Library:
    return Library.from_manifest(folder)


@lru_cache(maxsize=2048)
def _load_cached(path: str, sr: int) -> np.ndarray:
    from producer.audio import load_audio
    from producer.errors import InputError

    try:
        y, _ = load_audio(path, sr=sr, mono=True)
    except InputError as exc:
        raise SampleError(str(exc)) from None
    y.setflags(write=False)  # shared by every clip that uses it
    return y
