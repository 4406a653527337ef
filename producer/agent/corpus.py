"""Training and held-out material for the agents, generated here from the shipped sample library.

Nothing is downloaded or committed: every clip is rendered on the fly from a seed.

Cross-adaptive pairs (control, source), mono float64 at 44.1 kHz:

* controls: drum loops (producer's renderer playing the library's drum hits on a 16-step grid),
  instrument phrases (library notes played sampler-style) and noise bursts with envelopes;
* sources: instrument phrases, white/pink noise and sawtooth/sine tones.

The split (``HELD_OUT``): training uses the instruments in ``TRAIN_INSTRUMENTS``, drum loops of
kick, snare, clap and closed hi-hat at 90-125 BPM, and seeds below 10**6; held-out material uses
the other instruments (violin, flute, saxophone, voice, acoustic guitar), drum loops that also
play toms, ride, rim and open hi-hat at 130-170 BPM, pink noise (training: white) and seeds from
10**6 up. Imitation targets: the voice itself under hidden parameter trajectories (training:
random glides and level ramps; held-out: stepwise melodies with vibrato and note gaps), and the
held-out instruments' phrases (where a synth voice cannot reach every descriptor; the bench
reports the best any setting reaches, block by block, beside the policy's figure).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from producer.agent.features import SR
from producer.agent.synth import VOICES, Synth

TRAIN_INSTRUMENTS = ("cello", "clarinet", "organ", "piano", "trumpet", "bass", "electric_guitar")
HELD_OUT_INSTRUMENTS = ("violin", "flute", "saxophone", "voice", "acoustic_guitar")
TRAIN_DRUMS = ("kick", "snare", "clap", "hihat_closed")
HELD_OUT_DRUMS = ("kick", "snare", "hihat_closed", "hihat_open", "ride", "rim", "tom_high", "tom_mid", "tom_low")
HELD_OUT_SEED = 10**6
CLIP_SECONDS = 4.0


@lru_cache(maxsize=1)
def _renderer():
    from producer.render.engine import Renderer
    from producer.samples import Library

    return Renderer(Library.default())


def _render_track(instrument: str, clips) -> np.ndarray:
    from producer.audio import to_mono
    from producer.project import Project, Track

    track = Track(name="t", instrument=instrument, clips=tuple(clips))
    r = _renderer().render(Project(sample_rate=SR, tracks=(track,)), effects=False)
    return to_mono(r.mix).astype(np.float64)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: min(n, len(y))] = y[:n]
    return out


def drum_loop(rng: np.random.Generator, *, held_out: bool, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """A one-bar-pattern drum loop repeated over ``seconds``, random tempo and hits."""
    from producer.project import Clip

    voices = HELD_OUT_DRUMS if held_out else TRAIN_DRUMS
    bpm = rng.uniform(130, 170) if held_out else rng.uniform(90, 125)
    step = 60.0 / bpm / 4.0
    pattern = {v: rng.random(16) < (0.5 if v == "kick" else 0.3) for v in voices}
    pattern["kick"][0] = True
    clips = []
    for i in range(int(seconds / step)):
        for v, hits in pattern.items():
            if hits[i % 16]:
                clips.append(Clip(sample=f"drums/{v}", start=round(i * step, 6), hold=0.2, pitch=60,
                                  gain_db=float(rng.uniform(-8, 0))))
    return _fit(_render_track("drums", clips), int(seconds * SR))


def phrase(rng: np.random.Generator, instrument: str, *, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """Library notes of one instrument, random pitches in its range, random lengths and gaps."""
    from producer.instruments import INSTRUMENTS
    from producer.project import Clip
    from producer.samples import Library

    lib = Library.default()
    inst = INSTRUMENTS[instrument]
    pitches = [s.pitch for s in lib.by_instrument(instrument)]
    lo, hi = max(inst.low, min(pitches) - 2), min(inst.high, max(pitches) + 2)
    clips, t = [], float(rng.uniform(0, 0.3))
    while t < seconds:
        hold = float(rng.uniform(0.15, 1.2))
        pitch = int(rng.integers(lo, hi + 1))
        sample = lib.nearest(instrument, pitch, max_shift=12).id
        clips.append(Clip(sample=sample, start=round(t, 6), hold=round(hold, 6), pitch=pitch,
                          gain_db=float(rng.uniform(-12, 0))))
        t += hold + float(rng.choice([0.0, 0.0, rng.uniform(0.05, 0.5)]))
    return _fit(_render_track(instrument, clips), int(seconds * SR))


def _envelope(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random attack-decay bursts, 0..1 [shape=(n,)]."""
    env = np.zeros(n)
    t = 0
    while t < n:
        length = int(rng.uniform(0.1, 0.8) * SR)
        seg = np.exp(-np.arange(length) / (rng.uniform(0.05, 0.4) * SR))
        attack = min(length, int(0.005 * SR))
        seg[:attack] *= np.linspace(0, 1, attack)
        end = min(n, t + length)
        env[t:end] = seg[: end - t] * rng.uniform(0.2, 1.0)
        t = end + int(rng.uniform(0, 0.3) * SR)
    return env


def noise(rng: np.random.Generator, *, pink: bool, bursts: bool, seconds: float = CLIP_SECONDS) -> np.ndarray:
    n = int(seconds * SR)
    w = rng.standard_normal(n)
    if pink:  # 1/f power: shape white noise in the frequency domain
        spec = np.fft.rfft(w)
        f = np.fft.rfftfreq(n, 1 / SR)
        spec[1:] /= np.sqrt(f[1:] / 20.0)
        spec[0] = 0
        w = np.fft.irfft(spec, n)
        w /= np.std(w)
    y = 0.1 * w
    return y * _envelope(rng, n) if bursts else y * rng.uniform(0.2, 1.0)


def tone(rng: np.random.Generator, *, seconds: float = CLIP_SECONDS) -> np.ndarray:
    n = int(seconds * SR)
    f = 55.0 * 2 ** rng.uniform(0, 4)
    ph = 2 * np.pi * f * np.arange(n) / SR
    saw = 2.0 * ((ph / (2 * np.pi)) % 1.0) - 1.0
    y = saw if rng.random() < 0.6 else np.sin(ph)
    return 0.2 * y * (0.3 + 0.7 * _envelope(rng, n) if rng.random() < 0.5 else 1.0)


def control_clip(seed: int, *, held_out: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed + (HELD_OUT_SEED if held_out else 0))
    kind = rng.integers(3)
    if kind == 0:
        return drum_loop(rng, held_out=held_out)
    if kind == 1:
        insts = HELD_OUT_INSTRUMENTS if held_out else TRAIN_INSTRUMENTS
        return phrase(rng, insts[rng.integers(len(insts))])
    return noise(rng, pink=held_out, bursts=True)


def source_clip(seed: int, *, held_out: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed + 7919 + (HELD_OUT_SEED if held_out else 0))
    kind = rng.integers(3)
    if kind == 0:
        insts = HELD_OUT_INSTRUMENTS if held_out else TRAIN_INSTRUMENTS
        return phrase(rng, insts[rng.integers(len(insts))])
    if kind == 1:
        return noise(rng, pink=held_out, bursts=False)
    return tone(rng)


def pairs(n: int, *, held_out: bool = False, start: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (control, source) pairs [each shape=(CLIP_SECONDS * SR,)]."""
    return [(control_clip(start + i, held_out=held_out), source_clip(start + i, held_out=held_out))
            for i in range(n)]


# ---- imitation targets --------------------------------------------------------------------------
def trajectory(rng: np.random.Generator, voice: str, n_blocks: int, *, held_out: bool) -> np.ndarray:
    """Hidden parameter values of a voice per block [shape=(n_blocks, P)].

    Training: piecewise-linear random glides between random points. Held-out: stepwise melodies
    (semitone steps) with vibrato, notes separated by short silences (level at the floor)."""
    params = VOICES[voice]
    out = np.empty((n_blocks, len(params)))
    if not held_out:
        for j, p in enumerate(params):
            knots = np.sort(rng.choice(n_blocks, size=min(n_blocks, 6), replace=False))
            knots[0] = 0
            vals = rng.uniform(-1, 1, len(knots))
            out[:, j] = p.from_action(np.interp(np.arange(n_blocks), knots, vals))
        return out
    pitch = rng.integers(48, 84)
    level_floor = params[1].low
    k = 0
    while k < n_blocks:
        length = int(rng.integers(15, 60))
        gap = int(rng.integers(0, 6))
        pitch = int(np.clip(pitch + rng.choice([-2, -1, 1, 2, 3, 5]), 40, 90))
        level = rng.uniform(-35, -3)
        vib_rate, vib_depth = rng.uniform(4, 7), rng.uniform(0.0, 0.4)
        seg = np.arange(length)
        rows = np.empty((length, len(params)))
        rows[:, 0] = pitch + vib_depth * np.sin(2 * np.pi * vib_rate * seg * 512 / SR)
        rows[:, 1] = level
        for j, p in enumerate(params[2:], start=2):
            rows[:, j] = p.from_action(rng.uniform(-1, 1))
        end = min(n_blocks, k + length)
        out[k:end] = rows[: end - k]
        if end < n_blocks and gap:
            g_end = min(n_blocks, end + gap)
            out[end:g_end] = rows[-1]
            out[end:g_end, 1] = level_floor
            end = g_end
        k = end
    return out


def voice_trajectory(seed: int, voice: str, *, n_blocks: int, held_out: bool) -> np.ndarray:
    """The hidden parameter values of voice target ``seed`` per block [shape=(n_blocks, P)]."""
    rng = np.random.default_rng(seed + (HELD_OUT_SEED if held_out else 0) + 104729)
    return trajectory(rng, voice, n_blocks, held_out=held_out)


def voice_target(seed: int, voice: str, *, block: int, n_blocks: int, held_out: bool) -> np.ndarray:
    """The voice under a hidden trajectory, mono [shape=(n_blocks * block,)]."""
    traj = voice_trajectory(seed, voice, n_blocks=n_blocks, held_out=held_out)
    synth = Synth(voice, block=block, sr=SR)
    return np.concatenate([synth.render(v) for v in traj])


def instrument_target(seed: int, *, held_out: bool) -> np.ndarray:
    rng = np.random.default_rng(seed + 15485863 + (HELD_OUT_SEED if held_out else 0))
    insts = HELD_OUT_INSTRUMENTS if held_out else TRAIN_INSTRUMENTS
    return phrase(rng, insts[rng.integers(len(insts))])
