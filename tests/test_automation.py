"""Automation: envelopes in the project model (validation, JSON) and in the renderer (null tests,
sample-accurate gain and pan, parameter sweeps, the stem cache)."""
import json

import numpy as np
import pytest

from producer.effects import EFFECTS
from producer.errors import ProjectError
from producer.project import Clip, Effect, Project, Track, envelope_at
from producer.render.engine import Renderer, envelope_samples

SR = 44100


def _project(track: Track) -> Project:
    return Project(tracks=(track,))


def _track(effects=(), automation=(), **kw) -> Track:
    clips = (Clip("piano/60", 0.0, 0.8, 60), Clip("drums/snare", 0.5, 0.2, 38), Clip("piano/60", 1.0, 0.6, 64))
    return Track("Keys", "piano", effects=tuple(effects), clips=clips, automation=tuple(automation), **kw)


def _doc(effect_automation=None, track_automation=None) -> dict:
    effect = {"type": "lowpass", "params": {"q": 0.7}}
    if effect_automation is not None:
        effect["automation"] = effect_automation
    track = {"name": "Keys", "instrument": "piano", "effects": [effect],
             "clips": [{"sample": "piano/60", "start": 0.0, "hold": 0.5, "pitch": 60}]}
    if track_automation is not None:
        track["automation"] = track_automation
    return {"format": "producer-project", "version": 1, "tracks": [track]}


# --- model ---------------------------------------------------------------------------------------

def test_automation_round_trips_through_json():
    doc = _doc({"cutoff_hz": [[0.0, 200.0], [1.5, 8000.0]]}, {"gain_db": [[0, -12], [1, 0]], "pan": [[0.5, -1.0]]})
    p = Project.from_dict(doc)
    fx = p.tracks[0].effects[0]
    assert fx.envelope("cutoff_hz") == ((0.0, 200.0), (1.5, 8000.0))
    assert p.tracks[0].envelope("gain_db") == ((0.0, -12.0), (1.0, 0.0))
    assert p.tracks[0].automated
    again = Project.from_dict(json.loads(p.to_json()))
    assert again == p and again.to_json() == p.to_json()


def test_project_without_automation_writes_no_automation_field():
    p = Project.from_dict(_doc())
    text = p.to_json()
    assert "automation" not in text
    assert not p.tracks[0].automated


@pytest.mark.parametrize("effect_auto, track_auto, field", [
    ({"cutoff_hz": [[0.0, 10.0]]}, None, "tracks[0].effects[0].automation.cutoff_hz[0].value"),
    ({"cutoff_hz": [[0.0, 200.0], [1.0, 300.0], [0.5, 400.0]]}, None,
     "tracks[0].effects[0].automation.cutoff_hz[2].time"),
    ({"cutoff_hz": [[0.0, 200.0], [0.0, 300.0]]}, None, "tracks[0].effects[0].automation.cutoff_hz[1].time"),
    ({"cutoff_hz": [[-1.0, 200.0]]}, None, "tracks[0].effects[0].automation.cutoff_hz[0].time"),
    ({"cutoff_hz": []}, None, "tracks[0].effects[0].automation.cutoff_hz"),
    ({"cutoff_hz": [[0.0]]}, None, "tracks[0].effects[0].automation.cutoff_hz[0]"),
    ({"drive": [[0.0, 0.5]]}, None, "tracks[0].effects[0].automation.drive"),
    (None, {"gain_db": [[0.0, 30.0]]}, "tracks[0].automation.gain_db[0].value"),
    (None, {"pan": [[0.0, 1.5]]}, "tracks[0].automation.pan[0].value"),
    (None, {"pitch": [[0.0, 1.0]]}, "tracks[0].automation.pitch"),
    (None, {"gain_db": [[0.0, "loud"]]}, "tracks[0].automation.gain_db[0].value"),
    (None, [[0.0, 1.0]], "tracks[0].automation"),
])
def test_bad_automation_names_the_field(effect_auto, track_auto, field):
    with pytest.raises(ProjectError) as err:
        Project.from_dict(_doc(effect_auto, track_auto))
    assert str(err.value).startswith(field + ":"), str(err.value)
    assert "\n" not in str(err.value)


def test_too_many_points_are_refused():
    from producer.project import MAX_AUTOMATION_POINTS

    points = [[i * 0.01, 0.0] for i in range(MAX_AUTOMATION_POINTS + 1)]
    with pytest.raises(ProjectError, match="over the limit"):
        Project.from_dict(_doc(None, {"gain_db": points}))


def test_with_param_keeps_the_automation():
    fx = Effect.make("lowpass", automation={"cutoff_hz": [(0.0, 300.0), (1.0, 900.0)]}, q=0.7)
    assert fx.with_param("q", 2.0).envelope("cutoff_hz") == ((0.0, 300.0), (1.0, 900.0))


def test_envelope_is_linear_between_points_and_held_outside():
    env = ((0.5, 0.0), (1.5, 10.0))
    assert envelope_at(env, 0.0) == 0.0 and envelope_at(env, 1.0) == 5.0 and envelope_at(env, 9.0) == 10.0
    values = envelope_samples(env, 2 * SR, SR)
    for t in (0.0, 0.7, 1.0, 1.2, 1.99):
        assert values[int(t * SR)] == pytest.approx(envelope_at(env, int(t * SR) / SR))


# --- render --------------------------------------------------------------------------------------

def _db(x: np.ndarray, ref: np.ndarray) -> float:
    return 20 * np.log10(max(float(np.max(np.abs(x))), 1e-30) / float(np.max(np.abs(ref))))


STRONG = {"lowpass": dict(cutoff_hz=700.0), "highpass": dict(cutoff_hz=900.0), "peak": dict(gain_db=9.0),
          "low_shelf": dict(gain_db=-9.0), "high_shelf": dict(gain_db=9.0), "compressor": dict(threshold_db=-30.0),
          "reverb": dict(wet=0.6), "delay": dict(wet=0.5), "chorus": dict(mix=0.7), "distortion": dict(drive=0.9)}


@pytest.mark.parametrize("kind", sorted(EFFECTS))
def test_flat_envelope_renders_as_the_constant(tiny_library, kind):
    """The null test: every parameter of the effect automated with a flat envelope at its value."""
    constant = Effect.make(kind, **STRONG[kind])
    flat = {name: [(0.0, v), (1.0, v)] for name, v in constant.param_dict.items()}
    automated = Effect.make(kind, automation=flat, **STRONG[kind])
    r = Renderer(tiny_library)
    a = r.render(_project(_track([constant]))).mix
    b = r.render(_project(_track([automated]))).mix
    assert a.shape == b.shape
    assert _db(a - b, a) <= -100.0, f"{kind}: flat automation differs by {_db(a - b, a):.1f} dB"


def test_flat_gain_and_pan_envelopes_render_as_the_constants(tiny_library):
    r = Renderer(tiny_library)
    fx = [Effect.make("reverb", wet=0.3)]
    a = r.render(_project(_track(fx, gain_db=-7.0, pan=0.4))).mix
    b = r.render(_project(_track(fx, automation=(("gain_db", ((0.0, -7.0),)), ("pan", ((0.3, 0.4), (2.0, 0.4)))),
                                 gain_db=0.0, pan=0.0))).mix
    assert _db(a - b, a) <= -100.0


def test_gain_automation_is_sample_accurate(tiny_library):
    r = Renderer(tiny_library)
    plain = r.render(_project(_track())).mix
    env = ((0.25, 0.0), (1.25, -40.0))
    moved = r.render(_project(_track(automation=(("gain_db", env),)))).mix
    t = np.arange(plain.shape[1]) / SR
    expected = plain * 10.0 ** (np.interp(t, [0.25, 1.25], [0.0, -40.0]) / 20.0)
    assert np.max(np.abs(moved - expected)) < 1e-6


def test_pan_automation_moves_the_sound_across(tiny_library):
    r = Renderer(tiny_library)
    out = r.render(_project(_track(automation=(("pan", ((0.0, -1.0), (1.6, 1.0))),)))).mix
    early, late = out[:, : int(0.3 * SR)], out[:, int(1.3 * SR): int(1.6 * SR)]
    assert np.sum(early[0] ** 2) > 10 * np.sum(early[1] ** 2)
    assert np.sum(late[1] ** 2) > 10 * np.sum(late[0] ** 2)


def test_filter_sweep_opens_over_time(tiny_library):
    """A low-pass swept from 100 Hz to 16 kHz lets more high end through late than early."""
    from scipy.signal import welch

    r = Renderer(tiny_library)
    track = Track("Hat", "drums", clips=tuple(Clip("drums/hihat_closed", i * 0.25, 0.1, 42) for i in range(8)),
                  effects=(Effect.make("lowpass", automation={"cutoff_hz": [(0.0, 100.0), (2.0, 16000.0)]}),))
    out = r.render(_project(track)).mix[0]

    def high_share(seg):
        f, pxx = welch(seg, SR, nperseg=1024)
        return np.sum(pxx[f > 2000]) / np.sum(pxx)

    assert high_share(out[int(1.5 * SR): int(2.0 * SR)]) > 3 * high_share(out[: int(0.5 * SR)])


def test_stem_cache_keys_on_automation(tiny_library):
    r = Renderer(tiny_library)
    a = r.render(_project(_track(automation=(("gain_db", ((0.0, 0.0), (1.0, -20.0))),)))).mix
    b = r.render(_project(_track(automation=(("gain_db", ((0.0, 0.0), (1.0, -10.0))),)))).mix
    assert r.stats["stem_renders"] == 2 and r.stats["stem_hits"] == 0
    assert np.max(np.abs(a - b)) > 1e-3
    lp = lambda top: Effect.make("lowpass", automation={"cutoff_hz": [(0.0, 300.0), (1.0, top)]})
    c = r.render(_project(_track([lp(5000.0)]))).mix
    d = r.render(_project(_track([lp(9000.0)]))).mix
    assert r.stats["stem_renders"] == 4 and np.max(np.abs(c - d)) > 1e-4
    r.render(_project(_track([lp(5000.0)])))
    assert r.stats["stem_hits"] == 1


def test_automated_linear_chain_is_not_delta_rendered(tiny_library):
    """A delta render assumes a time-invariant chain; with automation the whole track renders."""
    r = Renderer(tiny_library)
    fx = [Effect.make("lowpass", automation={"cutoff_hz": [(0.0, 300.0), (1.5, 9000.0)]})]
    base = _track(fx)
    r.render(_project(base))
    edited = base.with_clip(Clip("drums/kick", 1.2, 0.1, 36))
    got = r.render(_project(edited)).mix
    assert r.stats["delta_renders"] == 0
    fresh = Renderer(tiny_library).render(_project(edited)).mix
    assert np.array_equal(got, fresh)
