"""The note model: a small frame CNN + dilated temporal convolutions that hear polyphonic music.

Input: mono audio at ``SR`` (16 kHz). Front end inside the net (so training and transcription
share it): |STFT| (n_fft 2048, hop ``HOP`` = 256 samples = 16 ms, centred, Hann) -> ``N_MELS``
mel bands 30-8000 Hz -> log -> a learnt per-band normalisation. Then three 3x3 conv layers (two
each halving the frequency axis), a linear layer per frame and four residual dilated
convolutions over time (dilations 1, 2, 4, 8: the heads hear +-0.5 s).

Heads, per frame [shape=(batch, frames, ...)], all logits except velocity:

- ``onset`` [88]: a note of MIDI pitch 21 + k starts in this frame (or the one before);
- ``frame`` [88]: the pitch sounds;
- ``velocity`` [88]: MIDI velocity / 127 of a note starting there (sigmoid; trained at onsets only);
- ``drums`` [5]: a hit of ``DRUM_CLASSES`` (kick, snare, hi-hat, tom, cymbal) starts here;
- ``instrument`` [88, len(INSTRUMENT_CLASSES)]: which instrument of producer's vocabulary plays
  the note starting at this pitch (trained at onsets only).

Frame rate ``FPS`` = 62.5 frames/s; frame k is centred on sample k * HOP.

Two architectures share that contract (``config["arch"]``):

- ``"mel"`` (the first shipped weights): the log-mel front end above, frequency flattened into one
  vector per frame. It must learn every pitch separately, and got octaves wrong.
- ``"harmonic"``: a log-frequency spectrum with 3 bins per semitone (MIDI 20.7-119.7), each band
  taken from the STFT whose resolution suits it (4096 samples below 220 Hz, 2048 to 660 Hz, 1024
  above), stacked with copies shifted by the harmonics 1/2, 1, 2, 3, 4, 5, so a note's overtones
  line up in the channels at its own pitch. Convolutions over (time, log-frequency) are then the
  same detector at every pitch, pooled to semitones, with dilated convolutions over time and one
  over an octave of neighbouring pitches (it separates a note from its own octave overtone). Drums
  read the same features pooled into 11 wide bands.
"""
from __future__ import annotations

import numpy as np

SR = 16000
N_FFT = 2048
HOP = 256
FPS = SR / HOP
N_MELS = 229
FMIN, FMAX = 30.0, 8000.0
LOW_PITCH, N_PITCHES = 21, 88  # MIDI 21-108
DRUM_CLASSES = ("kick", "snare", "hihat", "tom", "cymbal")
# Pitched instruments of producer.instruments (drums have their own head).
INSTRUMENT_CLASSES = ("acoustic_guitar", "bass", "cello", "clarinet", "electric_guitar", "flute", "organ", "piano",
                      "saxophone", "trumpet", "violin", "voice")
DEFAULT_CONFIG = {"c1": 8, "c2": 16, "c3": 32, "hidden": 192, "dilations": (1, 2, 4, 8)}  # "mel"
HARMONIC_CONFIG = {"arch": "harmonic", "c1": 8, "c2": 16, "channels": 24, "dilations": (1, 2, 4, 8),
                   "drum_hidden": 64}
BINS_PER_SEMITONE = 3
N_BINS = BINS_PER_SEMITONE * 99  # bin 3j + 1 is centred on MIDI LOW_PITCH + j; the top reaches 8.4 kHz
HARMONICS = (0.5, 1, 2, 3, 4, 5)
# (n_fft, lowest, highest centre Hz): long windows where semitones are a few Hz apart, short ones
# above, so high notes keep sharp onsets.
RESOLUTIONS = ((4096, 0.0, 220.0), (2048, 220.0, 660.0), (1024, 660.0, float("inf")))


def mel_basis() -> np.ndarray:
    """[shape=(N_MELS, N_FFT // 2 + 1)] Slaney mel filterbank (librosa)."""
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX).astype(np.float32)


def log_bin_hz() -> np.ndarray:
    """[shape=(N_BINS,)] centre frequency of each log-frequency bin."""
    midi = LOW_PITCH + (np.arange(N_BINS) - 1) / BINS_PER_SEMITONE
    return 440.0 * 2 ** ((midi - 69) / 12)


def log_basis(n_fft: int, lo: float, hi: float) -> np.ndarray:
    """[shape=(N_BINS, n_fft // 2 + 1)] weights taking |STFT| (n_fft) to the log bins centred in
    [lo, hi): a triangle reaching the neighbouring bins' centres, at least one FFT bin wide either
    side (low bins are narrower than the FFT's spacing), each row summing to 1."""
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    df = SR / n_fft
    step = 2 ** (1 / (12 * BINS_PER_SEMITONE))
    basis = np.zeros((N_BINS, len(freqs)), np.float32)
    for b, fc in enumerate(log_bin_hz()):
        if not lo <= fc < hi or fc >= SR / 2:
            continue
        left, right = max(fc - fc / step, df), max(fc * step - fc, df)
        w = np.clip(1 - np.where(freqs < fc, (fc - freqs) / left, (freqs - fc) / right), 0, None)
        basis[b] = w / w.sum()
    return basis


def harmonic_shifts() -> list[int]:
    """Bins by which the harmonic copies move (1/2 -> -36, 1 -> 0, 2 -> +36, 3 -> +57, ...)."""
    return [int(round(12 * BINS_PER_SEMITONE * np.log2(h))) for h in HARMONICS]


def build_net(config: dict | None = None):
    """The torch module for ``config``: ``arch`` "mel" (keys of DEFAULT_CONFIG, the default for
    weights saved before the key existed) or "harmonic" (keys of HARMONIC_CONFIG); missing keys
    take their default."""
    config = dict(config or {})
    arch = config.pop("arch", "mel")
    if arch == "harmonic":
        return _build_harmonic({**HARMONIC_CONFIG, **config, "arch": "harmonic"})
    if arch != "mel":
        raise ValueError(f"unknown note model architecture {arch!r}")
    return _build_mel(config)


def _build_harmonic(cfg: dict):
    import torch
    import torch.nn.functional as Fn
    from torch import nn

    unknown = set(cfg) - set(HARMONIC_CONFIG)
    if unknown:
        raise ValueError(f"unknown note model settings {sorted(unknown)}")
    n_inst = len(INSTRUMENT_CLASSES)

    class HarmonicNoteNet(nn.Module):
        def __init__(self, c1: int, c2: int, channels: int, dilations, drum_hidden: int, arch: str):
            super().__init__()
            for i, (n_fft, lo, hi) in enumerate(RESOLUTIONS):
                self.register_buffer(f"basis{i}", torch.from_numpy(log_basis(n_fft, lo, hi)), persistent=False)
                self.register_buffer(f"window{i}", torch.hann_window(n_fft), persistent=False)
            self.norm = nn.BatchNorm1d(N_BINS)
            shifts = harmonic_shifts()
            self.shifts, self.pad_lo, self.pad_hi = shifts, -min(shifts), max(shifts)
            C = channels
            self.local = nn.Sequential(
                nn.Conv2d(len(HARMONICS), c1, (5, 5), padding=(2, 2)), nn.BatchNorm2d(c1), nn.ReLU(),
                nn.Conv2d(c1, c2, (3, 3), padding=(1, 1)), nn.BatchNorm2d(c2), nn.ReLU(),
                # three bins -> one semitone: pitch k of the output is MIDI LOW_PITCH + k
                nn.Conv2d(c2, C, (1, BINS_PER_SEMITONE), stride=(1, BINS_PER_SEMITONE)), nn.BatchNorm2d(C), nn.ReLU())
            self.octave = nn.Conv2d(C, C, (1, 13), padding=(0, 6))
            self.temporal = nn.ModuleList(nn.Conv2d(C, C, (3, 1), padding=(d, 0), dilation=(d, 1)) for d in dilations)
            self.out = nn.Conv2d(C, 3 + n_inst, 1)
            self.drums = nn.Sequential(
                nn.Conv1d(C * 11, drum_hidden, 3, padding=1), nn.ReLU(),
                nn.Conv1d(drum_hidden, drum_hidden, 3, padding=2, dilation=2), nn.ReLU(),
                nn.Conv1d(drum_hidden, len(DRUM_CLASSES), 1))

        def features(self, audio):
            """audio [shape=(batch, samples)] -> log spectrum [shape=(batch, frames, N_BINS)]."""
            total = 0
            for i, (n_fft, _, _) in enumerate(RESOLUTIONS):
                window = getattr(self, f"window{i}")
                spec = torch.stft(audio, n_fft, HOP, window=window, center=True, return_complex=True).abs()
                # / window sum: a sine has the same height at every resolution
                total = total + torch.matmul(getattr(self, f"basis{i}"), spec) * (2.0 / window.sum())
            return self.norm(torch.log(total + 1e-5)).transpose(1, 2)

        def forward(self, audio):
            x = self.features(audio)  # (b, t, bins)
            b, t, _ = x.shape
            padded = Fn.pad(x, (self.pad_lo, self.pad_hi))
            x = torch.stack([padded[..., self.pad_lo + s:self.pad_lo + s + N_BINS] for s in self.shifts], dim=1)
            h = self.local(x)[..., :N_PITCHES]  # (b, C, t, 88)
            h = h + torch.relu(self.octave(h))
            for conv in self.temporal:
                h = h + torch.relu(conv(h))
            o = self.out(h)  # (b, 3 + n_inst, t, 88)
            bands = Fn.avg_pool2d(h, (1, 8))  # (b, C, t, 11): 88 pitches in bands of 8 semitones
            d = self.drums(bands.permute(0, 1, 3, 2).reshape(b, -1, t))  # (b, 5, t)
            return {"onset": o[:, 0], "frame": o[:, 1], "velocity": torch.sigmoid(o[:, 2]),
                    "drums": d.transpose(1, 2), "instrument": o[:, 3:].permute(0, 2, 3, 1)}

    return HarmonicNoteNet(**cfg)


def _build_mel(config: dict):
    import torch
    from torch import nn

    cfg = {**DEFAULT_CONFIG, **config}
    unknown = set(cfg) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown note model settings {sorted(unknown)}")

    class NoteNet(nn.Module):
        def __init__(self, c1: int, c2: int, c3: int, hidden: int, dilations):
            super().__init__()
            self.register_buffer("mel", torch.from_numpy(mel_basis()), persistent=False)
            self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
            self.norm = nn.BatchNorm1d(N_MELS)

            def block(i, o):
                return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU()]

            # Each layer halves the frequency axis, so the cost stays near that of the first.
            self.conv = nn.Sequential(*block(1, c1), nn.MaxPool2d((1, 2)), *block(c1, c2), nn.MaxPool2d((1, 2)),
                                      *block(c2, c3), nn.MaxPool2d((1, 2)), nn.Dropout(0.1))
            self.proj = nn.Sequential(nn.Linear(c3 * (N_MELS // 8), hidden), nn.ReLU(), nn.Dropout(0.1))
            # Dilated temporal convolutions (residual) instead of a recurrent layer: on CPU a GRU's
            # backward pass ran step by step and took 60 % of a training step.
            self.temporal = nn.ModuleList(nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d) for d in dilations)
            self.n_inst = len(INSTRUMENT_CLASSES)
            self.heads = nn.Linear(hidden, 3 * N_PITCHES + len(DRUM_CLASSES) + N_PITCHES * self.n_inst)

        def features(self, audio):
            """audio [shape=(batch, samples)] -> log-mel [shape=(batch, frames, N_MELS)]."""
            spec = torch.stft(audio, N_FFT, HOP, window=self.window, center=True, return_complex=True).abs()
            mel = torch.matmul(self.mel, spec)  # (batch, mels, frames)
            return self.norm(torch.log(mel + 1e-4)).transpose(1, 2)

        def forward(self, audio):
            x = self.features(audio)
            b, t, _ = x.shape
            x = self.conv(x.unsqueeze(1))  # (b, c3, t, mels / 8)
            x = self.proj(x.permute(0, 2, 1, 3).reshape(b, t, -1))
            x = x.transpose(1, 2)
            for conv in self.temporal:
                x = x + torch.relu(conv(x))
            h = self.heads(x.transpose(1, 2))
            P, D = N_PITCHES, len(DRUM_CLASSES)
            return {"onset": h[..., :P], "frame": h[..., P:2 * P], "velocity": torch.sigmoid(h[..., 2 * P:3 * P]),
                    "drums": h[..., 3 * P:3 * P + D], "instrument": h[..., 3 * P + D:].reshape(b, t, P, self.n_inst)}

    return NoteNet(**cfg)


def frame_targets(notes: np.ndarray, drums: np.ndarray, n_frames: int) -> dict[str, np.ndarray]:
    """Truth -> per-frame targets for ``n_frames`` frames from time 0.

    notes [shape=(n, 5)]: pitch, onset s, offset s, velocity, GM program; drums [shape=(m, 3)]:
    time s, class index, velocity. Returns onset/frame/velocity [shape=(n_frames, 88)] float32,
    drums [shape=(n_frames, 5)] float32, instrument [shape=(n_frames, 88)] int64 (-1: no onset)."""
    from producer.notes.devset import instrument_for_program

    onset = np.zeros((n_frames, N_PITCHES), np.float32)
    frame = np.zeros_like(onset)
    vel = np.zeros_like(onset)
    inst = np.full((n_frames, N_PITCHES), -1, np.int64)
    dr = np.zeros((n_frames, len(DRUM_CLASSES)), np.float32)
    for pitch, on, off, v, prog in notes:
        k = int(pitch) - LOW_PITCH
        if not 0 <= k < N_PITCHES:
            continue
        f0 = int(round(on * FPS))
        f1 = max(f0 + 1, int(round(off * FPS)))
        if f0 >= n_frames:
            continue
        frame[f0:min(f1, n_frames), k] = 1.0
        for f in (f0, f0 + 1):  # two frames (32 ms): the onset falls between frame centres
            if f < n_frames:
                onset[f, k] = 1.0
                vel[f, k] = v / 127.0
                inst[f, k] = INSTRUMENT_CLASSES.index(instrument_for_program(int(prog)))
    for t, c, _ in drums:
        f0 = int(round(t * FPS))
        for f in (f0, f0 + 1):
            if 0 <= f < n_frames:
                dr[f, int(c)] = 1.0
    return {"onset": onset, "frame": frame, "velocity": vel, "drums": dr, "instrument": inst}
