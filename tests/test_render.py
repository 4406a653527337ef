import numpy as np
import pytest

from producer.errors import SampleError
from producer.project import Clip, Effect, Project, Track
from producer.effects import EFFECTS
from producer.render.engine import RELEASE_SECONDS, Renderer, pan_gains, transpose

SR = 44100


def two_track_project(effects=()) -> Project:
    return Project(tracks=(
        Track("Keys", "piano", pan=-0.5, gain_db=-6.0, effects=tuple(effects),
              clips=(Clip("piano/60", 0.0, 0.5, 60), Clip("piano/60", 1.0, 0.5, 62, gain_db=-6.0))),
        Track("Kit", "drums", clips=(Clip("drums/kick", 0.25, 0.2, 36), Clip("drums/snare", 0.75, 0.2, 38))),
    ))


def test_clip_lands_at_its_exact_sample(tiny_library):
    r = Renderer(tiny_library)
    p = Project(tracks=(Track("Kit", "drums", clips=(Clip("drums/kick", 0.5, 0.2, 36),)),))
    out = r.render(p)
    first = int(np.argmax(np.abs(out.mix[0]) > 1e-6))
    assert first == round(0.5 * SR) + 1  # the kick is a sine starting at phase 0: sample 0 is exactly 0
    assert out.mix.shape == (2, int(np.ceil((0.7 + RELEASE_SECONDS) * SR)))


def test_mix_is_the_sum_of_the_stems_within_1e_4(tiny_library):
    effects = [Effect.make(k) for k in EFFECTS]  # every effect of the vocabulary at once
    out = Renderer(tiny_library).render(two_track_project(effects))
    assert len(out.stems) == 2
    assert all(s.shape == out.mix.shape for s in out.stems)
    assert np.max(np.abs(out.mix - np.sum(out.stems, axis=0))) < 1e-4
    # the reverb/delay tails are kept: the effected stem rings on after the last clip
    last_clip_end = int((1.5 + RELEASE_SECONDS) * SR)
    assert np.max(np.abs(out.stems[0][:, last_clip_end + SR:])) > 1e-4


@pytest.mark.parametrize("kind", sorted(EFFECTS))
def test_every_effect_changes_the_sound(tiny_library, kind):
    spec = EFFECTS[kind]
    # push each effect away from neutral so it must audibly act
    strong = {"lowpass": dict(cutoff_hz=300.0), "highpass": dict(cutoff_hz=2000.0), "peak": dict(gain_db=12.0),
              "low_shelf": dict(gain_db=12.0), "high_shelf": dict(gain_db=12.0, freq_hz=500.0),
              "compressor": dict(threshold_db=-40.0, ratio=10.0), "reverb": dict(wet=0.8),
              "delay": dict(wet=0.8), "chorus": dict(mix=0.8), "distortion": dict(drive=1.0)}[kind]
    assert set(strong) <= {p.name for p in spec.params}
    r = Renderer(tiny_library)
    dry = r.render(two_track_project()).stems[0]
    wet = r.render(two_track_project([Effect.make(kind, **strong)])).stems[0]
    n = min(dry.shape[1], wet.shape[1])
    diff = np.sqrt(np.mean((wet[:, :n] - dry[:, :n]) ** 2)) / np.sqrt(np.mean(dry[:, :n] ** 2))
    assert diff > 0.05, f"{kind} changed the stem by only {diff:.3f} (relative RMS)"
    assert np.all(np.isfinite(wet))


def test_lowpass_removes_high_frequencies(tiny_library):
    r = Renderer(tiny_library)
    p = Project(tracks=(Track("Hat", "drums", effects=(Effect.make("lowpass", cutoff_hz=500.0),),
                              clips=(Clip("drums/hihat_closed", 0.0, 0.3, 42),)),))
    dry = r.render(p, effects=False).mix[0]
    wet = r.render(p).mix[0]

    def high_energy(y):
        spec = np.abs(np.fft.rfft(y)) ** 2
        freqs = np.fft.rfftfreq(len(y), 1 / SR)
        return spec[freqs > 4000].sum() / spec.sum()

    assert high_energy(dry) > 0.3
    assert high_energy(wet) < 0.01


def test_only_the_edited_track_is_rendered_again(tiny_library):
    r = Renderer(tiny_library)
    p = two_track_project([Effect.make("reverb")])
    r.render(p)
    assert r.stats["stem_renders"] == 2
    q = p.replace_track(1, p.tracks[1].with_clip(Clip("drums/snare", 1.25, 0.2, 38)))
    before = r.render(p).stems[0].copy()
    out = r.render(q)
    assert r.stats["stem_renders"] == 3  # the piano stem came from the cache
    np.testing.assert_array_equal(out.stems[0][:, : before.shape[1]], before)


def test_transposition_follows_the_clip_pitch(tiny_library):
    r = Renderer(tiny_library)
    for pitch in (58, 60, 62):
        y = r.clip_audio(Clip("piano/60", 0.0, 0.8, pitch), SR)
        spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        f0 = np.fft.rfftfreq(len(y), 1 / SR)[np.argmax(spec)]
        assert abs(12 * np.log2(f0 / 261.63) - (pitch - 60)) < 0.15


def test_hold_then_release(tiny_library):
    y = Renderer(tiny_library).clip_audio(Clip("piano/60", 0.0, 0.25, 60), SR)
    assert len(y) == round(0.25 * SR) + round(RELEASE_SECONDS * SR)
    assert abs(y[-1]) < 1e-3 * np.max(np.abs(y))


def test_pan_law_is_equal_power():
    for pan in (-1.0, -0.3, 0.0, 0.7, 1.0):
        left, right = pan_gains(pan)
        assert left**2 + right**2 == pytest.approx(1.0)
    assert pan_gains(0.0) == pytest.approx((2**-0.5, 2**-0.5))
    assert pan_gains(-1.0) == pytest.approx((1.0, 0.0))


def test_gain_and_pan_apply_to_the_stem(tiny_library):
    r = Renderer(tiny_library)
    base = Track("Kit", "drums", clips=(Clip("drums/kick", 0.0, 0.2, 36),))
    centre = r.stem(base, SR)
    hard_left = r.stem(Track("Kit", "drums", pan=-1.0, gain_db=-6.0, clips=base.clips), SR)
    assert np.max(np.abs(hard_left[1])) == 0.0
    ratio = np.max(np.abs(hard_left[0])) / np.max(np.abs(centre[0]))
    assert ratio == pytest.approx(10 ** (-6 / 20) / 2**-0.5, rel=1e-4)


def test_unknown_sample_is_named(tiny_library, tmp_path):
    r = Renderer(tiny_library, base_dir=tmp_path)
    p = Project(tracks=(Track("Kit", "drums", clips=(Clip("drums/cowbell", 0.0, 0.2, 56),)),))
    with pytest.raises(SampleError, match=r"tracks\[0\]\.clips\[0\]\.sample: unknown sample 'drums/cowbell'"):
        r.check_samples(p)
    p2 = Project(tracks=(Track("Kit", "drums", clips=(Clip("../../etc/passwd", 0.0, 0.2, 56),)),))
    with pytest.raises(SampleError, match="escapes the project folder"):
        r.check_samples(p2)


def test_transpose_changes_length_like_a_sampler():
    y = np.ones(1200, dtype=np.float32)
    assert len(transpose(y, 12)) == 600
    assert len(transpose(y, -12)) == 2400
    assert transpose(y, 0) is y


@pytest.mark.parametrize("chain", [("reverb",), ("lowpass", "peak", "delay"), ("highpass", "low_shelf", "high_shelf", "reverb")])
def test_delta_render_of_a_linear_chain_equals_a_full_render(tiny_library, chain):
    effects = tuple(Effect.make(k) for k in chain)
    clips = tuple(Clip("piano/60", 0.5 * i, 0.4, 60 + i % 5) for i in range(24))
    track = Track("Keys", "piano", gain_db=-3.0, pan=0.4, effects=effects, clips=clips)
    r = Renderer(tiny_library)
    r.stem(track, SR)
    # add one clip, move another: only the change is rendered through the chain
    edited = Track("Keys", "piano", gain_db=-3.0, pan=0.4, effects=effects,
                   clips=clips[:7] + (Clip("piano/64", 3.6, 0.4, 65),) + clips[8:] + (Clip("piano/56", 5.2, 0.3, 55),))
    incremental = r.stem(edited, SR)
    assert r.stats["delta_renders"] == 1
    full = Renderer(tiny_library).stem(edited, SR)
    assert incremental.shape == full.shape
    # equal up to float rounding and the echo/reverb ring-out beyond the tail estimate (-60 dB):
    # at least 80 dB below the stem's peak
    assert np.max(np.abs(incremental - full)) < 1e-4 * np.max(np.abs(full))


def test_non_linear_chains_render_whole(tiny_library):
    clips = tuple(Clip("piano/60", 0.5 * i, 0.4, 60) for i in range(8))
    for kind in ("compressor", "distortion", "chorus"):
        r = Renderer(tiny_library)
        track = Track("Keys", "piano", effects=(Effect.make(kind),), clips=clips)
        r.stem(track, SR)
        r.stem(track.with_clip(Clip("piano/64", 1.25, 0.4, 64)), SR)
        assert r.stats["delta_renders"] == 0 and r.stats["stem_renders"] == 2


def test_trimmed_keeps_the_audible_tail_and_drops_the_silence(tiny_library):
    p = Project(tracks=(Track("Keys", "piano", effects=(Effect.make("reverb", room_size=0.3, wet=0.5),),
                              clips=(Clip("piano/60", 0.0, 0.3, 60),)),
                        Track("Kit", "drums", clips=(Clip("drums/kick", 0.5, 0.1, 36),))))
    out = Renderer(tiny_library).render(p)
    cut = out.trimmed(threshold_db=-90.0, margin=0.0)
    assert cut.mix.shape[1] < out.mix.shape[1]
    assert all(s.shape == cut.mix.shape for s in cut.stems)
    dropped = out.mix[:, cut.mix.shape[1]:]
    assert np.max(np.abs(dropped)) <= 10 ** (-90 / 20) * 2  # only silence was cut (two stems summed)
    assert np.max(np.abs(cut.mix[:, -2000:])) > 0  # and the reverb tail up to it is kept


def test_sustained_instruments_loop_while_held():
    from producer.samples import Library

    library = Library.default()
    r = Renderer(library)
    organ = library.nearest("organ", 60)
    y = r.clip_audio(Clip(organ.id, 0.0, 4.0, 60), SR)
    assert len(y) == round(4.0 * SR) + round(RELEASE_SECONDS * SR)
    rms = [float(np.sqrt(np.mean(y[int(t * SR): int((t + 0.25) * SR)] ** 2))) for t in (1.0, 2.5, 3.5)]
    # still sounding at the same level 2 s past the end of the one-shot's steady part
    assert min(rms) > 0.5 * max(rms) > 0
    # a piano note is not looped: it decays as a struck string does
    piano = library.nearest("piano", 60)
    p = r.clip_audio(Clip(piano.id, 0.0, 4.0, 60), SR)
    assert len(p) <= len(library.load(piano, SR))


def test_sustain_joins_without_jumps():
    from producer.render.engine import sustain

    t = np.arange(SR * 2) / SR
    y = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    out = sustain(y, SR * 5, int(0.75 * SR), int(1.65 * SR), int(0.06 * SR))
    assert len(out) == SR * 5
    assert np.max(np.abs(np.diff(out))) < 3 * np.max(np.abs(np.diff(y)))  # no click at the seams
    assert np.sqrt(np.mean(out[-SR:] ** 2)) > 0.5
