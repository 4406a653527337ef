"""Soundfont corpus (rendered with pretty_midi's small TimGM6mb) and the embed / eval commands."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main
from producer.timbre import data

pretty_midi = pytest.importorskip("pretty_midi")
TIMGM = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


@pytest.fixture(scope="module")
def synth():
    from producer.soundfont import SoundFontSynth

    s = SoundFontSynth(TIMGM, sr=data.CORPUS_SR)
    yield s
    s.close()


def test_phrases_stay_in_range_and_vary():
    for cls in data.CLASSES:
        lo, hi = data.RANGES[cls]
        a = data.make_phrase(np.random.default_rng(1), cls)
        b = data.make_phrase(np.random.default_rng(2), cls)
        assert a and all(lo <= n.pitch <= hi and 1 <= n.velocity <= 127 and n.end > n.start for n in a)
        assert a[0].start < 0.2 and max(n.start for n in a) < data.CLIP_SECONDS
        assert [n.pitch for n in a] != [n.pitch for n in b]


def test_render_clip_mixes_a_quieter_accompaniment(synth):
    rng = np.random.default_rng(5)
    y, recipe = data.render_clip(synth, rng, "tru")
    assert y.shape == (66150,) and y.dtype == np.float32
    assert np.max(np.abs(y)) == pytest.approx(0.9, abs=1e-4)
    assert recipe["program"] in data.PROGRAMS["tru"]
    for acc, prog, db in recipe["accomp"]:
        assert acc != "tru" and prog in data.PROGRAMS[acc] and -20 <= db <= -8


def test_corpus_command_writes_the_irmas_layout(tmp_path, capsys):
    out = tmp_path / "corpus"
    rc = main(["embeddings", "corpus", "--soundfont", str(TIMGM), "--out", str(out),
               "--clips-per-class", "2", "--workers", "1", "--seed", "3"])
    assert rc == 0
    clips = data.load_training(out)
    assert len(clips) == 22 and {c.genre for c in clips} == {"timgm6mb"}
    y, sr = sf.read(clips[0].path)
    assert sr == 22050 and y.shape == (66150,)
    rows = list(csv.DictReader(open(out / "manifest.csv")))
    assert len(rows) == 22 and {r["class"] for r in rows} == set(data.CLASSES)
    for r in rows:
        assert int(r["program"]) in data.PROGRAMS[r["class"]]
        assert ("[dru]" in r["file"]) == (r["drums"] == "1")
    # The recipe of a clip depends only on (seed, soundfont, class, index).
    again = tmp_path / "again"
    main(["embeddings", "corpus", "--soundfont", str(TIMGM), "--out", str(again), "--clips-per-class", "2",
          "--workers", "1", "--seed", "3"])
    assert list(csv.DictReader(open(again / "manifest.csv"))) == rows
    # An existing folder is not replaced without --force.
    assert main(["embeddings", "corpus", "--soundfont", str(TIMGM), "--out", str(out), "--clips-per-class", "1"]) == 2


def test_embed_command_json(tmp_path, capsys):
    sr = 22050
    t = np.arange(int(4.5 * sr)) / sr
    path = tmp_path / "tone.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr)
    assert main(["embed", str(path), "--model", "tiny", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [w["start"] for w in res["windows"]] == [0.0, 1.0]  # 3 s windows, 1 s apart, in 4.5 s
    assert res["classes"][0] == "cel" and len(res["windows"][0]["probs"]) == 11
    assert res["embedding_dim"] == 16
    assert np.linalg.norm(res["embedding"]) == pytest.approx(1.0, abs=1e-4)
    # A short file still gives one (padded) window; a missing one is a clean error.
    sf.write(tmp_path / "short.wav", np.zeros(5000, np.float32) + 0.1, sr)
    assert main(["embed", str(tmp_path / "short.wav"), "--model", "tiny", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["windows"]) == 1
    assert main(["embed", str(tmp_path / "nope.wav"), "--model", "tiny"]) == 2


def test_eval_command_writes_figures_and_png(tmp_path, capsys):
    out = tmp_path / "eval"
    rc = main(["embeddings", "eval", "--soundfont", str(TIMGM), "--clips", "22", "--model", "tiny",
               "--out", str(out), "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    m = np.array(res["confusion"])
    assert m.shape == (11, 11) and m.sum() == 22 and (m.sum(axis=1) == 2).all()
    assert res["accuracy"] == pytest.approx(np.trace(m) / 22)
    assert 0.0 <= res["precision_at_10"] <= 1.0
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
