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
DEFAULT_CONFIG = {"c1": 8, "c2": 16, "c3": 32, "hidden": 192, "dilations": (1, 2, 4, 8)}


def mel_basis() -> np.ndarray:
    """[shape=(N_MELS, N_FFT // 2 + 1)] Slaney mel filterbank (librosa)."""
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX).astype(np.float32)


def build_net(config: dict | None = None):
    """The torch module for ``config`` (keys of DEFAULT_CONFIG; missing ones take their default)."""
    import torch
    from torch import nn

    cfg = {**DEFAULT_CONFIG, **(config or {})}
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
