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

A user folder (``--samples DIR``) is read by :meth:`Library.from_folder`: its ``manifest.json`` when
it has one, otherwise every audio file under it, with the root pitch estimated by pYIN and the
instrument by an optional ``instrument_guesser`` (the timbre model), cached in
``DIR/.producer-cache.json`` (or under ``~/.cache/producer/`` when DIR is read-only). Scanned
samples have ids ``user/<path relative to DIR>``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from producer.errors import SampleError

MANIFEST = "manifest.json"
FORMAT = "producer-samples"
CACHE_NAME = ".producer-cache.json"
CACHE_FORMAT = "producer-sample-cache"
CACHE_VERSION = 1  # bump when the analysis changes, so old caches are ignored
AUDIO_EXTENSIONS = (".wav", ".flac", ".aiff", ".aif", ".ogg", ".mp3")
USER_PREFIX = "user/"
PYIN_SR = 22050
PYIN_SECONDS = 2.0  # the attack and body of a one-shot carry its pitch; tails only cost time

# instrument_guesser(y, sr) -> instrument name or None; y is mono float32 [shape=(n,)] at the
# file's own rate sr. The hook for the timbre model; an optional ``cache_key`` attribute names it.
InstrumentGuesser = Callable[[np.ndarray, int], "str | None"]


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

    def __init__(self, root: Path, samples: list[SampleInfo], *, extra_roots: tuple[Path, ...] = ()):
        self.root = Path(root).resolve()
        # Folders of merged libraries: sample paths inside any of them are allowed by resolve().
        self.extra_roots = tuple(Path(r).resolve() for r in extra_roots)
        self.scan_report: dict[str, int] = {}  # from_folder: {"analysed": n, "cached": m}
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
                pitch = entry.get("pitch")
                if pitch is not None and not _is_midi_note(pitch):
                    raise SampleError(f"{path}: samples[{i}].pitch {pitch!r} is not a MIDI note 0..127")
                samples.append(SampleInfo(
                    id=str(entry["id"]), path=file, instrument=str(entry["instrument"]),
                    pitch=None if pitch is None else int(pitch),
                    duration=float(entry.get("duration", 0.0)), loudness_db=float(entry.get("loudness_db", 0.0)),
                    source=str(entry.get("source", "")), licence=str(entry.get("licence", "")),
                ))
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                raise SampleError(f"{path}: samples[{i}] is malformed ({exc})") from None
        return cls(root, samples)

    @classmethod
    def from_folder(
        cls,
        folder: str | os.PathLike,
        *,
        instrument_guesser: InstrumentGuesser | None = None,
        cache_dir: str | os.PathLike | None = None,
    ) -> "Library":
        """A user folder of one-shots: its manifest when present, else a scan of its audio files.

        Scanning estimates each file's root pitch with pYIN (median voiced f0 of the first
        PYIN_SECONDS, rounded to a MIDI note; None when unvoiced, e.g. drums) and its instrument
        with ``instrument_guesser(y, sr)`` ('unknown' without one). Results are cached per file
        (keyed by relative path, size and mtime), in ``folder/.producer-cache.json`` or, when the
        folder is not writable, in ``cache_dir`` (default ``~/.cache/producer/samples``).
        """
        folder = Path(folder)
        if not folder.exists():
            raise SampleError(f"--samples {folder}: no such folder")
        if not folder.is_dir():
            raise SampleError(f"--samples {folder}: not a folder")
        if not os.access(folder, os.R_OK | os.X_OK):
            raise SampleError(f"--samples {folder}: folder is not readable")
        if (folder / MANIFEST).is_file():
            return cls.from_manifest(folder)
        return _scan_folder(cls, folder.resolve(), instrument_guesser, cache_dir)

    def merged(self, other: "Library") -> "Library":
        """This library plus ``other``; where ids collide, ``other``'s sample wins."""
        by_id = {s.id: s for s in self}
        by_id.update({s.id: s for s in other})
        return Library(self.root, list(by_id.values()),
                       extra_roots=(*self.extra_roots, other.root, *other.extra_roots))

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
        if not any(path.is_relative_to(r) for r in (base, self.root, *self.extra_roots)):
            raise SampleError(f"sample path {ref!r} escapes the project folder {base}")
        if not path.is_file():
            raise SampleError(f"unknown sample {ref!r}: not a library id and no such file in {base}")
        return SampleInfo(id=ref, path=path, instrument="unknown", pitch=None)

    def load(self, info: SampleInfo, sr: int) -> np.ndarray:
        """Mono float32 audio of a sample at ``sr`` [shape=(n,)], cached."""
        return _load_cached(str(info.path), int(sr))

    # --- description -------------------------------------------------------------------------
    def entry(self, info: SampleInfo) -> dict:
        """A sample as a manifest entry (``file`` relative to the library folder when inside it)."""
        file = info.path.relative_to(self.root).as_posix() if info.path.is_relative_to(self.root) else str(info.path)
        return {"id": info.id, "file": file, "instrument": info.instrument, "pitch": info.pitch,
                "duration": info.duration, "loudness_db": info.loudness_db,
                "source": info.source, "licence": info.licence}

    def summary(self) -> list[dict]:
        """One row per instrument: count, pitch range ('C2-C7', drums by kit piece), source."""
        from producer.instruments import note_name

        rows = []
        for name in self.instruments:
            group = self._by_instrument[name]
            pitches = [s.pitch for s in group if s.pitch is not None]
            if name == "drums":
                span = f"{len(pitches)} kit pieces"
            elif pitches:
                span = f"{note_name(min(pitches))}-{note_name(max(pitches))}"
                if len(pitches) < len(group):
                    span += f" (+{len(group) - len(pitches)} unpitched)"
            else:
                span = "unpitched"
            sources = sorted({s.source for s in group})
            rows.append({"instrument": name, "count": len(group), "range": span,
                         "source": sources[0] if len(sources) == 1 else f"{len(sources)} sources"})
        return rows


def open_library(samples: str | os.PathLike | None = None, *,
                 instrument_guesser: InstrumentGuesser | None = None) -> Library:
    """The library a command works with: the default pack, plus the user folder ``samples`` if given."""
    library = Library.default()
    if samples is None:
        return library
    return library.merged(Library.from_folder(samples, instrument_guesser=instrument_guesser))


def _is_midi_note(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value == value and abs(value) != float("inf") and value == int(value) and 0 <= value <= 127


# --- user folders -----------------------------------------------------------------------------
def _audio_files(folder: Path) -> list[Path]:
    files = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and folders: caches, .DS_Store, version control
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _cache_paths(folder: Path, cache_dir: str | os.PathLike | None) -> list[Path]:
    """Where the cache may live, in order of preference."""
    home = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "producer" / "samples"
    fallback = home / (hashlib.sha1(str(folder).encode()).hexdigest()[:16] + ".json")
    return [folder / CACHE_NAME, fallback]


def _read_cache(paths: list[Path]) -> dict:
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("format") == CACHE_FORMAT and data.get("version") == CACHE_VERSION \
                and isinstance(data.get("files"), dict):
            return data["files"]
    return {}


def _write_cache(paths: list[Path], folder: Path, files: dict) -> None:
    text = json.dumps({"format": CACHE_FORMAT, "version": CACHE_VERSION, "folder": str(folder),
                       "files": files}, indent=1, sort_keys=True) + "\n"
    for path in paths:
        # Writing the folder cache needs a writable folder; otherwise fall back to the home cache.
        if path.parent == folder and not os.access(folder, os.W_OK):
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
            return
        except OSError:
            continue
    # No writable cache anywhere: the scan still worked, it will just be repeated next time.


def estimate_pitch(y: np.ndarray, sr: int) -> int | None:
    """Root MIDI note of a one-shot by pYIN: median f0 of the voiced frames; None if unvoiced.

    y is mono float32 [shape=(n,)]. Fewer than 3 voiced frames (about 70 ms) counts as unvoiced,
    so a drum hit's brief tonal ring does not give it a pitch.
    """
    import librosa

    from producer.audio import resample

    y = resample(np.asarray(y, dtype=np.float32), sr, PYIN_SR)[: int(PYIN_SECONDS * PYIN_SR)]
    if y.size < 2048 or not np.any(y):
        return None
    f0, voiced, _ = librosa.pyin(y, fmin=librosa.note_to_hz("C1"), fmax=librosa.note_to_hz("C8"),
                                 sr=PYIN_SR, frame_length=4096)  # 4096: reaches C1 with two periods
    f0 = f0[voiced & np.isfinite(f0)]
    if f0.size < 3:
        return None
    return int(round(float(librosa.hz_to_midi(np.median(f0)))))


def _scan_folder(cls, folder: Path, guesser: InstrumentGuesser | None, cache_dir) -> Library:
    from producer.audio import load_audio, rms_dbfs
    from producer.errors import InputError

    files = _audio_files(folder)
    if not files:
        raise SampleError(f"--samples {folder}: no audio files ({', '.join(e[1:] for e in AUDIO_EXTENSIONS)}) "
                          f"and no {MANIFEST}")
    # Cached instruments are reused only for the same guesser; a model can set ``cache_key``
    # (e.g. its weights' checksum) so that new weights re-label the folder.
    guesser_name = (getattr(guesser, "cache_key", None) or getattr(guesser, "__qualname__", type(guesser).__name__)
                    if guesser else None)
    paths = _cache_paths(folder, cache_dir)
    cache = _read_cache(paths)
    fresh: dict[str, dict] = {}
    samples = []
    analysed = cached = 0
    for path in files:
        rel = path.relative_to(folder).as_posix()
        st = path.stat()
        hit = cache.get(rel)
        if hit and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns \
                and hit.get("guesser") == guesser_name:
            entry = hit
            cached += 1
        else:
            try:
                y, sr = load_audio(path, mono=True)
            except InputError as exc:
                raise SampleError(f"--samples {folder}: {exc}") from None
            instrument = (guesser(y, sr) if guesser else None) or "unknown"
            entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "guesser": guesser_name,
                     "pitch": estimate_pitch(y, sr), "instrument": str(instrument),
                     "duration": round(y.size / sr, 4), "loudness_db": round(max(rms_dbfs(y), -120.0), 2)}
            analysed += 1
        fresh[rel] = entry
        samples.append(SampleInfo(
            id=USER_PREFIX + rel, path=path, instrument=entry["instrument"], pitch=entry["pitch"],
            duration=entry["duration"], loudness_db=entry["loudness_db"],
            source=f"user folder {folder}", licence="",
        ))
    if analysed or set(fresh) != set(cache):
        _write_cache(paths, folder, fresh)
    library = cls(folder, samples)
    library.scan_report = {"analysed": analysed, "cached": cached}
    return library


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
