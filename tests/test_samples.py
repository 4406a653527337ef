"""The sample library: manifest validation, the shipped pack's coverage, the reproducible build,
user folders (pYIN pitch, cache) and `producer samples`."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from producer import sample_build
from producer.audio import peak_dbfs, rms_dbfs
from producer.cli import main
from producer.errors import SampleError
from producer.instruments import DRUM_KIT, INSTRUMENTS
from producer.samples import CACHE_NAME, Library, open_library

PACK = Path(__file__).resolve().parent.parent / "samples"
SOUNDFONT = sample_build.DEFAULT_SOUNDFONT
needs_soundfont = pytest.mark.skipif(not SOUNDFONT.is_file(),
                                     reason=f"{SOUNDFONT} not installed (Debian: fluid-soundfont-gm)")
SR = 44100


@pytest.fixture(scope="module")
def pack() -> Library:
    return Library.from_manifest(PACK)


def write_manifest(folder: Path, samples: list[dict], **top) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": "producer-samples", "version": 1, "samples": samples, **top}
    (folder / "manifest.json").write_text(json.dumps(data))
    return folder


def tone(pitch: float, seconds: float = 0.6, sr: int = SR) -> np.ndarray:
    """A decaying harmonic tone, like a plucked one-shot."""
    t = np.arange(int(sr * seconds)) / sr
    f = 440.0 * 2 ** ((pitch - 69) / 12)
    y = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t) + 0.2 * np.sin(6 * np.pi * f * t)
    return (0.4 * np.exp(-3 * t) * y).astype(np.float32)


# --- manifest ----------------------------------------------------------------------------------
def test_manifest_loads_entries(tmp_path):
    sf.write(tmp_path / "a.wav", tone(60), SR)
    write_manifest(tmp_path, [{"id": "piano/C4", "file": "a.wav", "instrument": "piano", "pitch": 60,
                               "duration": 0.6, "loudness_db": -12.5, "source": "test", "licence": "CC0"}])
    lib = Library.from_manifest(tmp_path)
    info = lib.get("piano/C4")
    assert info.path == (tmp_path / "a.wav").resolve()
    assert (info.pitch, info.loudness_db, info.licence) == (60, -12.5, "CC0")
    assert lib.nearest("piano", 62).id == "piano/C4"
    with pytest.raises(SampleError, match="cannot play MIDI note 63"):
        lib.nearest("piano", 63)


@pytest.mark.parametrize("content, message", [
    (None, "no manifest.json"),
    ("{not json", "unreadable manifest"),
    ('{"format": "other", "samples": []}', "not a producer sample manifest"),
    ('{"format": "producer-samples", "samples": [{"file": "a.wav", "instrument": "piano"}]}',
     r"samples\[0\] is malformed"),
    ('{"format": "producer-samples", "samples": [{"id": "x", "file": "a.wav", "instrument": "piano", '
     '"pitch": "high"}]}', r"samples\[0\]\.pitch 'high' is not a MIDI note"),
    ('{"format": "producer-samples", "samples": [{"id": "x", "file": "../a.wav", "instrument": "piano"}]}',
     "escapes the library folder"),
])
def test_manifest_errors_name_the_problem(tmp_path, content, message):
    folder = tmp_path / "lib"
    folder.mkdir()
    if content is not None:
        (folder / "manifest.json").write_text(content)
    with pytest.raises(SampleError, match=message):
        Library.from_manifest(folder)


# --- the shipped pack --------------------------------------------------------------------------
def test_every_semitone_of_every_instrument_is_within_two_of_a_shipped_root(pack):
    for name, inst in INSTRUMENTS.items():
        if inst.is_drums:
            continue
        for pitch in range(inst.low, inst.high + 1):
            info = pack.nearest(name, pitch)  # raises past max_shift=2
            assert abs(info.pitch - pitch) <= 2, (name, pitch, info.id)
            assert info.instrument == name and info.path.is_file()


def test_drum_kit_is_complete(pack):
    for name, note in DRUM_KIT.items():
        info = pack.get(f"drums/{name}")
        assert info.pitch == note and info.is_drum and info.path.is_file()
    assert len(pack.by_instrument("drums")) == len(DRUM_KIT)


def test_pack_files_are_mono_16bit_flac_normalised_as_the_manifest_says(pack):
    data = json.loads((PACK / "manifest.json").read_text())
    assert data["source"]["licence"] == "MIT" and "Frank Wen" in data["source"]["credit"]
    assert len(data["samples"]) == len(pack)
    for entry in data["samples"]:
        info = sf.info(PACK / entry["file"])
        assert (info.format, info.subtype, info.channels, info.samplerate) == ("FLAC", "PCM_16", 1, SR)
        y, _ = sf.read(PACK / entry["file"], dtype="float32")
        assert peak_dbfs(y) == pytest.approx(-6.0, abs=0.01), entry["id"]
        assert rms_dbfs(y) == pytest.approx(entry["loudness_db"], abs=0.02), entry["id"]
        assert len(y) / SR == pytest.approx(entry["duration"], abs=1e-3)
        assert entry["licence"] == "MIT" and "FluidR3_GM.sf2" in entry["source"]
        # The fade leaves the last sample (near) silent: no click when a clip ends.
        assert abs(y[-1]) < 1e-3, entry["id"]
    assert sum(f.stat().st_size for f in PACK.rglob("*.flac")) < 25e6


def test_root_notes_cover_the_range_with_every_four():
    for low in range(20, 40):
        for high in range(low, low + 50):
            roots = sample_build.root_notes(low, high, 4)
            assert all(low <= r <= high for r in roots)
            assert all(min(abs(r - p) for r in roots) <= 2 for p in range(low, high + 1)), (low, high)


# --- the build ---------------------------------------------------------------------------------
@needs_soundfont
def test_build_is_reproducible_and_matches_the_shipped_pack(tmp_path):
    # Piano roots D#2 and D#5 (both in the shipped pack) plus the top note C8; and the drum kit.
    # Each build in a fresh process, as `producer samples build` always runs: a process that has
    # already rendered with DawDreamer synthesises FluidSynth's quietest samples differently
    # (its floating-point state is left changed), so in-process builds depend on test order.
    args = [sys.executable, "-m", "producer", "samples", "build", "--instruments", "piano,drums",
            "--every", "36", "--quiet"]
    for name in ("a", "b"):
        subprocess.run([*args, "--out", str(tmp_path / name)], check=True, capture_output=True)
    a = json.loads((tmp_path / "a" / "manifest.json").read_text())
    files = [e["file"] for e in a["samples"]]
    assert [e["id"] for e in a["samples"][:3]] == ["piano/D#2", "piano/D#5", "piano/C8"]
    assert len(files) == 3 + len(DRUM_KIT)
    def digest(path):  # compared as hashes: a byte diff of two FLAC files is unreadable (and slow)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    for f in files:
        assert digest(tmp_path / "a" / f) == digest(tmp_path / "b" / f), f
    assert digest(tmp_path / "a" / "manifest.json") == digest(tmp_path / "b" / "manifest.json")
    # The committed pack is what this code builds: shared samples are equal byte for byte.
    for rel in ["piano/piano_Ds2.flac", "piano/piano_Ds5.flac"] + [f"drums/{name}.flac" for name in DRUM_KIT]:
        assert digest(tmp_path / "a" / rel) == digest(PACK / rel), rel


def test_build_refuses_a_non_empty_out_without_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["samples", "build", "--out", str(out), "--instruments", "piano", "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_build_rejects_unknown_instrument_and_missing_soundfont(tmp_path, capsys):
    assert main(["samples", "build", "--out", str(tmp_path / "x"), "--instruments", "kazoo"]) == 2
    assert "kazoo" in capsys.readouterr().err
    assert main(["samples", "build", "--out", str(tmp_path / "x"), "--soundfont", str(tmp_path / "no.sf2")]) == 2
    assert "soundfont not found" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# --- user folders ------------------------------------------------------------------------------
@pytest.fixture
def user_folder(tmp_path) -> Path:
    folder = tmp_path / "my samples"
    (folder / "keys").mkdir(parents=True)
    sf.write(folder / "keys" / "a3.wav", tone(57), SR)
    sf.write(folder / "keys" / "c5.flac", tone(72), SR, subtype="PCM_16")
    sf.write(folder / "low e.wav", tone(40, seconds=0.8, sr=22050), 22050)  # not the 44.1 kHz of the others
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(int(0.3 * SR)) * np.exp(-np.arange(int(0.3 * SR)) / 2000)).astype(np.float32)
    sf.write(folder / "hit.wav", 0.5 * noise, SR)
    (folder / "notes.txt").write_text("not audio, ignored")
    return folder


def test_user_folder_scan_estimates_pitch_and_caches(user_folder):
    lib = Library.from_folder(user_folder)
    assert sorted(s.id for s in lib) == ["user/hit.wav", "user/keys/a3.wav", "user/keys/c5.flac", "user/low e.wav"]
    truth = {"user/keys/a3.wav": 57, "user/keys/c5.flac": 72, "user/low e.wav": 40}
    for sample_id, pitch in truth.items():
        info = lib.get(sample_id)
        assert info.pitch is not None and abs(info.pitch - pitch) <= 1, (sample_id, info.pitch)
        assert info.instrument == "unknown"
    assert lib.get("user/hit.wav").pitch is None  # noise: unvoiced
    assert lib.get("user/low e.wav").duration == pytest.approx(0.8, abs=1e-3)
    assert lib.scan_report == {"analysed": 4, "cached": 0}
    assert (user_folder / CACHE_NAME).is_file()

    again = Library.from_folder(user_folder)
    assert again.scan_report == {"analysed": 0, "cached": 4}
    assert [(s.id, s.pitch) for s in again] == [(s.id, s.pitch) for s in lib]

    # A changed file is analysed again; the others still come from the cache.
    sf.write(user_folder / "keys" / "a3.wav", tone(64, seconds=0.7), SR)
    third = Library.from_folder(user_folder)
    assert third.scan_report == {"analysed": 1, "cached": 3}
    assert abs(third.get("user/keys/a3.wav").pitch - 64) <= 1


def test_instrument_guesser_hook_is_used_and_invalidates_the_cache(user_folder):
    Library.from_folder(user_folder)

    def all_flute(y, sr):
        assert y.ndim == 1 and sr > 0
        return "flute"

    lib = Library.from_folder(user_folder, instrument_guesser=all_flute)
    assert lib.scan_report["analysed"] == 4
    assert {s.instrument for s in lib} == {"flute"}
    assert Library.from_folder(user_folder, instrument_guesser=all_flute).scan_report["cached"] == 4


def test_read_only_folder_caches_under_cache_dir(user_folder, tmp_path, monkeypatch):
    real_access = os.access

    def no_write_here(path, mode):  # the tests run as root, for whom chmod does not stop writes
        if Path(path) == user_folder.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode)

    monkeypatch.setattr(os, "access", no_write_here)
    cache = tmp_path / "home-cache"
    Library.from_folder(user_folder, cache_dir=cache)
    assert not (user_folder / CACHE_NAME).exists()
    assert len(list(cache.glob("*.json"))) == 1
    assert Library.from_folder(user_folder, cache_dir=cache).scan_report == {"analysed": 0, "cached": 4}


def test_user_folder_with_manifest_uses_it(tmp_path):
    sf.write(tmp_path / "x.wav", tone(50), SR)
    write_manifest(tmp_path, [{"id": "cello/mine", "file": "x.wav", "instrument": "cello", "pitch": 50}])
    lib = Library.from_folder(tmp_path)
    assert lib.get("cello/mine").instrument == "cello"
    assert not (tmp_path / CACHE_NAME).exists()  # nothing was scanned


def test_bad_user_folders_raise_sample_error(tmp_path):
    with pytest.raises(SampleError, match="no such folder"):
        Library.from_folder(tmp_path / "missing")
    (tmp_path / "file.wav").write_bytes(b"RIFF")
    with pytest.raises(SampleError, match="not a folder"):
        Library.from_folder(tmp_path / "file.wav")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SampleError, match="no audio files"):
        Library.from_folder(empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.wav").write_bytes(b"this is not audio")
    with pytest.raises(SampleError, match="bad.wav"):
        Library.from_folder(broken)


def test_open_library_merges_the_user_folder_with_the_pack(user_folder):
    lib = open_library(user_folder)
    assert "piano/C4" not in lib or lib.get("piano/C4")  # the pack is there...
    assert lib.nearest("piano", 60).instrument == "piano"
    assert lib.get("user/keys/a3.wav").path.is_file()  # ...and so are the user's samples
    assert lib.resolve("keys/a3.wav", base_dir=user_folder).path == (user_folder / "keys" / "a3.wav").resolve()


# --- `producer samples list` -------------------------------------------------------------------
def test_cli_list_prints_a_table_of_the_pack(capsys):
    assert main(["samples", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["instrument", "samples", "range", "source"]
    piano = next(line for line in out if line.startswith("piano "))
    assert piano.split()[1:3] == ["22", "B0-B7"] and "Yamaha Grand Piano" in piano
    assert len(out) == 1 + len(INSTRUMENTS)


def test_cli_list_json_gives_manifest_entries(capsys, pack):
    assert main(["samples", "list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert len(entries) == len(pack)
    kick = next(e for e in entries if e["id"] == "drums/kick")
    assert kick["file"] == "drums/kick.flac" and kick["pitch"] == 36 and kick["licence"] == "MIT"


def test_cli_list_user_folder_and_bad_folder(user_folder, tmp_path, capsys):
    assert main(["samples", "list", "--samples", str(user_folder), "--json"]) == 0
    ids = {e["id"] for e in json.loads(capsys.readouterr().out)}
    assert "user/keys/c5.flac" in ids
    assert main(["samples", "scan", str(user_folder)]) == 0
    assert "unknown" in capsys.readouterr().out
    assert main(["samples", "list", "--samples", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder" in err
