"""producer match: features, the chain space, the search's player, the searches and the command."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main
from producer.errors import InputError
from producer.match import choose_stages, match_track
from producer.match.features import (SpectralTarget, envelope_correlation, integrated_loudness, loudness_curve,
                                     mr_stft_distance)
from producer.match.search import Scorer, search_static, thin
from producer.match.space import STAGES, ChainSpace
from producer.project import Clip, Effect, Project, Track
from producer.render.engine import Renderer, pan_gains

SR = 44100


def _noise(seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * level).astype(np.float32)


def _pulses(seconds: float, rate: float = 4.0) -> np.ndarray:
    """A 330 Hz tone in short decaying bursts ``rate`` times a second: a drum-like reference."""
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * 330 * t) * np.exp(-18.0 * (t % (1.0 / rate)))).astype(np.float32)


# --- features ------------------------------------------------------------------------------------

def test_mr_stft_is_zero_for_the_same_sound_and_grows_with_the_difference():
    x = _noise(1.0)
    assert mr_stft_distance(x, x) == 0.0
    from scipy.signal import butter, sosfilt

    mild = sosfilt(butter(2, 6000, fs=SR, output="sos"), x)
    strong = sosfilt(butter(2, 600, fs=SR, output="sos"), x)
    assert 0.0 < mr_stft_distance(mild, x) < mr_stft_distance(strong, x)


def test_loudness_is_relative_exact_and_adds_channels():
    x = _noise(2.0)
    base = integrated_loudness(x, SR)
    assert integrated_loudness(x * 2.0, SR) - base == pytest.approx(20 * np.log10(2.0), abs=1e-6)
    assert integrated_loudness(np.stack([x, x]), SR) - base == pytest.approx(10 * np.log10(2.0), abs=1e-6)
    # calibration: a 997 Hz sine at -20 dBFS peak in one channel reads about -23 LUFS
    t = np.arange(3 * SR) / SR
    assert integrated_loudness(0.1 * np.sin(2 * np.pi * 997 * t), SR) == pytest.approx(-23.0, abs=0.4)


def test_loudness_curve_follows_bursts():
    y = _pulses(2.0)
    curve = loudness_curve(y, SR)
    assert len(curve) == 200
    assert curve[2] - curve[20] > 20.0  # right after a burst vs just before the next one
    assert envelope_correlation(curve, curve) == pytest.approx(1.0)


# --- the chain space -----------------------------------------------------------------------------

def test_vectors_and_chains_round_trip():
    space = ChainSpace()
    x = np.random.default_rng(3).random(space.dims)
    effects = space.effects(x)
    assert [e.kind for e in effects] == [s.kind for s in STAGES]
    assert np.allclose(space.vector(effects), x, atol=1e-9)
    assert space.written_chain(space.neutral_vector()) == ()


def test_unknown_effect_is_refused_by_name():
    assert [s.kind for s in choose_stages("reverb,lowpass")] == ["lowpass", "reverb"]
    with pytest.raises(InputError, match="--effects: unknown effect 'flanger'"):
        choose_stages("lowpass,flanger")


def test_search_player_renders_what_the_renderer_renders(tmp_path):
    """The search's re-used graph (set_params) and the project renderer (make_processor) agree."""
    from producer.samples import Library

    sf.write(tmp_path / "src.wav", _noise(1.0), SR, subtype="FLOAT")
    renderer = Renderer(Library.default(), base_dir=tmp_path)
    track = Track("Source", "voice", clips=(Clip("src.wav", 0.0, 1.0, 60),))
    space = ChainSpace()
    scorer = Scorer(renderer.dry_track(track, SR), np.stack([_pulses(1.0)] * 2), SR, space)
    for seed in (1, 2):
        x = np.random.default_rng(seed).random(space.dims)
        scorer(space.neutral_vector())  # the graph has rendered other settings before
        ours, gain = scorer.stem(x)
        theirs = renderer.stem(Track("Source", "voice", gain_db=gain, effects=space.effects(x), clips=track.clips), SR)
        theirs = theirs[:, : ours.shape[1]]
        residual = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
        assert residual < 1e-5, residual


# --- searches ------------------------------------------------------------------------------------

def _tone_setup(tmp_path, reference):
    from producer.samples import Library

    t = np.arange(SR) / SR
    source = (0.2 * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 2640 * t))).astype(np.float32)
    sf.write(tmp_path / "src.wav", source, SR, subtype="FLOAT")
    renderer = Renderer(Library.default(), base_dir=tmp_path)
    track = Track("Source", "voice", clips=(Clip("src.wav", 0.0, 1.0, 60),))
    return renderer, track


def test_cma_finds_a_hidden_low_pass_better_than_doing_nothing(tmp_path):
    renderer, track = _tone_setup(tmp_path, None)
    hidden = Track("Source", "voice", gain_db=-6.0, clips=track.clips, effects=(Effect.make("lowpass", cutoff_hz=900.0),))
    reference = renderer.stem(hidden, SR)[:, :SR]
    space = ChainSpace(choose_stages("lowpass,reverb"))
    scorer = Scorer(renderer.dry_track(track, SR), reference, SR, space)
    found = search_static(scorer, renders=60, seed=0)
    assert found.renders == 60
    assert [h[1] for h in found.history] == sorted((h[1] for h in found.history), reverse=True)
    neutral = scorer(space.neutral_vector())[0]
    assert found.distance < 0.5 * neutral
    cutoff = found.effects[0].value("cutoff_hz")
    assert 500.0 < cutoff < 1600.0, cutoff


def test_thin_keeps_the_curve_within_tolerance_and_the_cap():
    t = np.arange(500) * 0.01
    v = 20 * np.sin(2 * np.pi * t)
    pts = thin(t, v, 0.5, 100)
    redrawn = np.interp(t, [p[0] for p in pts], [p[1] for p in pts])
    assert len(pts) <= 100 and np.max(np.abs(redrawn - v)) <= 0.5 + 1e-9
    assert len(thin(t, v, 0.5, 10)) <= 10


def test_follow_mode_makes_noise_follow_the_bursts(tmp_path):
    from producer.samples import Library

    sf.write(tmp_path / "noise.wav", _noise(2.0), SR, subtype="FLOAT")
    renderer = Renderer(Library.default(), base_dir=tmp_path)
    track = Track("Source", "voice", clips=(Clip("noise.wav", 0.0, 2.0, 60),))
    reference = np.stack([_pulses(2.0)] * 2)
    static = match_track(track, reference, SR, renderer=renderer, mode="static", renders=20, seed=0,
                         stages=choose_stages("lowpass,peak"))
    moving = match_track(track, reference, SR, renderer=renderer, mode="follow", renders=20, seed=0,
                         stages=choose_stages("lowpass,peak"))
    env = moving.track.envelope("gain_db")
    assert env is not None and 8 <= len(env) <= 2 * 24 + 1
    assert moving.figures["loudness_envelope_correlation"] > 0.9
    assert moving.figures["loudness_envelope_correlation"] > static.figures["loudness_envelope_correlation"] + 0.3
    assert moving.figures["final"]["mr_stft"] < static.figures["final"]["mr_stft"]
    assert moving.figures["final"]["loudness_error_lu"] < 0.1


# --- the command ---------------------------------------------------------------------------------

@pytest.fixture()
def files(tmp_path):
    """A 22.05 kHz mono noise source and a 48 kHz stereo reference: rates and channels differ."""
    sf.write(tmp_path / "source.wav", _noise(1.2)[: int(1.2 * 22050)], 22050)
    t = np.arange(int(1.0 * 48000)) / 48000
    ref = 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)
    sf.write(tmp_path / "ref.wav", np.stack([ref, 0.5 * ref]).T, 48000)
    return tmp_path / "source.wav", tmp_path / "ref.wav"


def test_match_writes_a_project_folder_that_renders_on_its_own(tmp_path, files, capsys):
    source, ref = files
    out = tmp_path / "out"
    args = ["match", str(source), "--like", str(ref), "--out", str(out), "--renders", "12", "--mode", "follow"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "MR-STFT to reference" in printed and "automation points" in printed
    for name in ("mix.wav", "project.json", "match.json", "report.html", "session.rpp", "session.dawproject",
                 "ardour/session.ardour", "samples/source.wav"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "project.json").read_text())
    assert doc["tracks"][0]["clips"][0]["sample"] == "samples/source.wav"
    assert doc["tracks"][0]["automation"]["gain_db"]
    page = (out / "report.html").read_text()
    assert page.count("<audio") == 3 and page.count("data:image/png") == 3
    figures = json.loads((out / "match.json").read_text())["figures"]
    assert figures["final"]["mr_stft"] < figures["unprocessed"]["mr_stft"]
    # the written project renders from its own folder, automation included
    assert main(["render", str(out / "project.json"), "--out", str(tmp_path / "again")]) == 0
    a, _ = sf.read(str(out / "mix.wav"))
    b, _ = sf.read(str(tmp_path / "again" / "mix.wav"))
    assert a.shape == b.shape and np.max(np.abs(a - b)) < 1e-6
    # same seed, same files
    assert main(args[:5] + [str(tmp_path / "twin")] + args[6:]) == 0
    for name in ("project.json", "match.json", "mix.wav", "report.html"):
        assert (out / name).read_bytes() == (tmp_path / "twin" / name).read_bytes(), name


def _fails(args, capsys, message, out):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_bad_match_input_exits_2_and_writes_nothing(tmp_path, files, capsys):
    source, ref = files
    out = tmp_path / "out"
    short = tmp_path / "short.wav"
    sf.write(short, np.full(int(0.3 * SR), 0.1, dtype=np.float32), SR)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR, dtype=np.float32), SR)
    base = ["--out", str(out), "--renders", "10"]
    _fails(["match", str(source), "--like", str(short), *base], capsys, "must last at least 0.5 s", out)
    _fails(["match", str(silent), "--like", str(ref), *base], capsys, "source", out)
    _fails(["match", str(source), "--like", str(silent), *base], capsys, "silent", out)
    _fails(["match", str(source), "--like", str(ref), *base, "--effects", "lowpass,flanger"], capsys,
           "unknown effect 'flanger'", out)
    _fails(["match", str(source), "--like", str(ref), "--out", str(out), "--renders", "3"], capsys, "--renders", out)
    _fails(["match", str(tmp_path / "nope.wav"), "--like", str(ref), *base], capsys, "nope.wav", out)


@pytest.mark.parametrize("automation, message", [
    ({"gain_db": [[0.0, 0.0], [0.5, 40.0]]}, "tracks[0].automation.gain_db[1].value"),
    ({"pan": [[1.0, 0.0], [0.5, 0.5]]}, "tracks[0].automation.pan[1].time"),
])
def test_bad_automation_in_a_project_exits_2_and_writes_nothing(tmp_path, capsys, automation, message):
    doc = Project(tracks=(Track("Kit", "drums", clips=(Clip("drums/kick", 0.0, 0.2, 36),)),)).to_dict()
    doc["tracks"][0]["automation"] = automation
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    _fails(["render", str(path), "--out", str(tmp_path / "out")], capsys, message, tmp_path / "out")


def test_follow_leaves_silence_after_a_short_source_alone(tmp_path):
    """A 1 s source against a 2 s reference: the frames after the source ends cannot be matched
    by gain and must not drive it."""
    from producer.samples import Library

    sf.write(tmp_path / "noise.wav", _noise(1.0), SR, subtype="FLOAT")
    renderer = Renderer(Library.default(), base_dir=tmp_path)
    track = Track("Source", "voice", clips=(Clip("noise.wav", 0.0, 1.0, 60),))
    moving = match_track(track, np.stack([_pulses(2.0)] * 2), SR, renderer=renderer, mode="follow", renders=12,
                         seed=0, stages=choose_stages("lowpass"))
    env = moving.track.envelope("gain_db")
    late = [v for t, v in env if t > 1.1]
    # after the source ends the envelope holds one value (it is not chasing the bursts)
    assert len(late) <= 2 and (not late or max(late) - min(late) < 1.0)
    assert len([t for t, _ in env if t < 1.0]) >= 6  # while it plays, it follows them
