"""Shared fixtures: tiny synthetic sample libraries, so tests never depend on the shipped pack."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 44100


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def make_library(folder: Path, *, sr: int = SR, seconds: float = 1.0) -> Path:
    """Write a small library: decaying sines for piano (roots C3..C6 every 4 semitones) and bass,
    plus noise-burst drums. Returns the folder (it holds manifest.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    entries = []

    def add(sample_id: str, instrument: str, pitch: int, y: np.ndarray) -> None:
        rel = f"{sample_id.replace('/', '_')}.wav"
        sf.write(folder / rel, y.astype(np.float32), sr, subtype="PCM_16")
        entries.append({"id": sample_id, "file": rel, "instrument": instrument, "pitch": pitch,
                        "duration": len(y) / sr, "source": "synthetic test tone", "licence": "CC0"})

    for pitch in range(48, 85, 4):
        f = midi_to_hz(pitch)
        y = 0.5 * np.exp(-2.5 * t) * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t))
        add(f"piano/{pitch}", "piano", pitch, y)
    for pitch in range(28, 53, 4):
        f = midi_to_hz(pitch)
        add(f"bass/{pitch}", "bass", pitch, 0.5 * np.exp(-1.5 * t) * np.sin(2 * np.pi * f * t))
    rng = np.random.default_rng(0)
    for name, note, decay in (("kick", 36, 30.0), ("snare", 38, 20.0), ("hihat_closed", 42, 60.0)):
        n = int(sr * 0.3)
        y = rng.standard_normal(n) * np.exp(-decay * np.arange(n) / sr) * 0.5
        if name == "kick":
            y = 0.8 * np.sin(2 * np.pi * 55 * np.arange(n) / sr) * np.exp(-decay * np.arange(n) / sr)
        add(f"drums/{name}", "drums", note, y)
    (folder / "manifest.json").write_text(json.dumps({"format": "producer-samples", "version": 1, "samples": entries}))
    return folder


@pytest.fixture(scope="session")
def tiny_library_dir(tmp_path_factory) -> Path:
    return make_library(tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="session")
def tiny_library(tiny_library_dir):
    from producer.samples import Library

    return Library.from_manifest(tiny_library_dir)


# A search small enough for end-to-end tests: 60 evaluations, 2 tracks, no effects.
SMALL_PRESET = """
[budget]
evaluations = 60
seconds = 3600.0
[search]
tracks = 2
candidates = 4
batch = 4
rounds = 1
[effects]
enabled = false
"""


@pytest.fixture(scope="session")
def recreate_inputs(tmp_path_factory):
    """What the recreate tests search (read only): (root, library folder, Library, target.wav,
    preset file): 4 s of five piano notes and a kick rendered from a synthetic library, and
    SMALL_PRESET."""
    from producer.planner.synthetic import random_arrangement, write_synthetic_library
    from producer.render.engine import Renderer
    from producer.samples import Library

    root = tmp_path_factory.mktemp("recreate")
    lib_dir = write_synthetic_library(root / "lib", instruments=("piano",), drums=("kick",))
    lib = Library.from_manifest(lib_dir)
    truth = random_arrangement(lib, seconds=4.0, n_notes=5, seed=1)
    target = root / "target.wav"
    sf.write(target, Renderer(lib).render(truth).mix[:, : 4 * SR].T, SR)
    preset = root / "tiny.toml"
    preset.write_text(SMALL_PRESET)
    return root, lib_dir, lib, target, preset


@pytest.fixture(scope="session", autouse=True)
def _temp_files_stay_in_the_test_folder(tmp_path_factory):
    """Libraries that write to the system temp folder (stable-baselines3's logger, tempfile users,
    the numba caches of Ray's workers, which inherit it) write into this run's own temporary folder
    instead; so do those writing to the user's cache and config folders ($XDG_CACHE_HOME,
    $XDG_CONFIG_HOME: the planner's catalogue cache, Chromium's crash reports and dconf in the
    browser test). Ray's own files go where the tests' RayCluster puts them (``temp_dir``): this
    folder's path is too long for Ray's sockets."""
    import os
    import tempfile

    scratch = tmp_path_factory.mktemp("system-temp")
    folders = {"TMPDIR": scratch, "XDG_CACHE_HOME": scratch / "cache", "XDG_CONFIG_HOME": scratch / "config"}
    old_env, old_dir = {k: os.environ.get(k) for k in folders}, tempfile.tempdir
    for key, folder in folders.items():
        folder.mkdir(exist_ok=True)
        os.environ[key] = str(folder)
    tempfile.tempdir = str(scratch)
    yield scratch
    tempfile.tempdir = old_dir
    for key, value in old_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
