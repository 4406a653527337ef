"""Running a policy block by block: on audio (a file, or any source of blocks) or on descriptors
that another program sends (``producer.agent.osc``).

``CrossRunner`` plays the effect chain on a source in answer to a control signal;
``ImitationRunner`` plays a synth voice in answer to incoming audio. Both build exactly the
observation their training env builds (``producer.agent.envs``), call the policy once a block,
and keep the parameter trajectory. ``take_project`` turns a cross-adaptive take into a project
whose automation replays it (``producer.agent.chain.render_automation`` renders it offline).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from producer.agent import params as P
from producer.agent.chain import CHAIN_PARAMS, LOWPASS_Q, Chain, breakpoints
from producer.agent.envs import MAPPINGS, OBS_CLIP
from producer.agent.features import BlockAnalyzer
from producer.agent.synth import VOICES, Synth


@dataclass
class Take:
    """What a run played: parameter values per block [shape=(K, P)], output audio
    [shape=(channels, K * block)], compute seconds per block, and whether it was interrupted."""

    names: tuple[str, ...]
    values: list[np.ndarray] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    compute: list[float] = field(default_factory=list)  # wall seconds per block
    cpu: list[float] = field(default_factory=list)  # this thread's CPU seconds per block
    interrupted: bool = False
    ended_by: str = "end of input"

    @property
    def blocks(self) -> int:
        return len(self.values)

    def value_array(self) -> np.ndarray:
        return np.array(self.values).reshape(len(self.values), len(self.names))

    def audio_array(self, channels: int) -> np.ndarray:
        return np.concatenate(self.audio, axis=1) if self.audio else np.zeros((channels, 0))


class CrossRunner:
    """Cross-adaptive policy on a stream: ``step(control, source) -> (values, processed)``."""

    def __init__(self, policy, *, block: int, sr: int, mapping: str):
        if mapping not in MAPPINGS:
            raise ValueError(f"unknown mapping {mapping!r}")
        self.policy = policy
        self.block, self.sr, self.mapping = block, sr, mapping
        self.chain = Chain(sr)
        self.control = BlockAnalyzer(block, sr)
        self.dry = BlockAnalyzer(block, sr)
        self.wet = BlockAnalyzer(block, sr)
        self.names = tuple(p.name for p in CHAIN_PARAMS)
        self.onehot = np.array([m == mapping for m in MAPPINGS], dtype=np.float64)
        self.values = P.defaults(CHAIN_PARAMS)
        self.action = P.actions(CHAIN_PARAMS, self.values)
        self.processed = self.wet.push(np.zeros(block))

    def decide(self, fc: np.ndarray, fs: np.ndarray) -> np.ndarray:
        """Parameter values for the block whose control and dry-source descriptors are given."""
        s = self.policy.scaler
        z = np.concatenate([s(fc), s(fs), s(self.processed)])
        obs = np.concatenate([np.clip(z, -OBS_CLIP, OBS_CLIP), self.onehot, self.action])
        self.action = np.clip(self.policy.act(obs), -1.0, 1.0)
        self.values = P.values(CHAIN_PARAMS, self.action)
        return self.values

    def step(self, control: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """control and source: mono blocks [shape=(block,)]; returns the processed block [shape=(1, block)]."""
        values = self.decide(self.control.push(control), self.dry.push(source))
        out = self.chain.process(source, values)
        self.processed = self.wet.push(out)
        return values, out[None, :]

    def step_features(self, fc: np.ndarray, fs: np.ndarray, fp: np.ndarray | None = None) -> np.ndarray:
        """Descriptors only (OSC): without the processed source's descriptors ``fp``, they are
        estimated from the dry source's: louder by the gain, no brighter than the cutoff."""
        values = self.decide(fc, fs)
        if fp is None:
            fp = np.array(fs, dtype=np.float64).copy()
            fp[0] += values[0]
            fp[1] = min(fp[1], float(np.log2(values[1])))
        self.processed = np.asarray(fp, dtype=np.float64)
        return values


class ImitationRunner:
    """Imitation policy on a stream: ``step(incoming) -> (values, synth block)``."""

    def __init__(self, policy, *, block: int, sr: int):
        self.policy = policy
        self.block, self.sr = block, sr
        self.params = VOICES[policy.config.voice]
        self.names = tuple(p.name for p in self.params)
        self.synth = Synth(policy.config.voice, block=block, sr=sr)
        self.incoming = BlockAnalyzer(block, sr)
        self.heard_an = BlockAnalyzer(block, sr)
        self.values = P.defaults(self.params)
        self.action = P.actions(self.params, self.values)
        self.heard = self.heard_an.push(np.zeros(block))

    def step_features(self, f_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.policy.scaler
        z = np.concatenate([s(f_in), s(self.heard)])
        obs = np.concatenate([np.clip(z, -OBS_CLIP, OBS_CLIP), self.action])
        self.action = np.clip(self.policy.act(obs), -1.0, 1.0)
        self.values = P.values(self.params, self.action)
        y = self.synth.render(self.values)
        self.heard = self.heard_an.push(y)
        return self.values, y[None, :]

    def step(self, incoming: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.step_features(self.incoming.push(incoming))


def run_blocks(runner, blocks, *, realtime: bool = False, on_block=None) -> Take:
    """Feed ``blocks`` (an iterable of the runner's ``step`` arguments) to the runner.

    ``realtime`` paces the loop at the block period. ``on_block(k, values)`` is called after
    every block (the OSC parameter stream). Ctrl-C ends the take: what was played is kept.
    """
    take = Take(runner.names)
    period = runner.block / runner.sr
    t_start = time.perf_counter()
    try:
        for k, args in enumerate(blocks):
            t0, c0 = time.perf_counter(), time.thread_time()
            values, out = runner.step(*args)
            take.compute.append(time.perf_counter() - t0)
            take.cpu.append(time.thread_time() - c0)
            take.values.append(values)
            take.audio.append(out)
            if on_block is not None:
                on_block(k, values)
            if realtime:
                wait = t_start + (k + 1) * period - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
    except KeyboardInterrupt:
        take.interrupted = True
        take.ended_by = "Ctrl-C"
    return take


def file_blocks(*signals: np.ndarray, block: int):
    """Yield aligned blocks of signals (mono [shape=(n,)] or [shape=(channels, n)]), padding the
    last partial block with zeros; the shortest signal sets the length."""
    n = min(s.shape[-1] for s in signals)
    for k in range(0, n, block):
        out = []
        for s in signals:
            b = s[..., k:k + block]
            if b.shape[-1] < block:
                b = np.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, block - b.shape[-1])])
            out.append(b)
        yield tuple(out)


# ---- the take as a project ------------------------------------------------------------------------
def thin(points: list[tuple[float, float]], max_points: int) -> tuple[list[tuple[float, float]], float]:
    """At most ``max_points`` breakpoints: greedy thinning with the smallest tolerance that fits
    (bisection); returns the points and the largest deviation from the original (value units)."""
    if len(points) <= max_points:
        return points, 0.0
    t = np.array([p[0] for p in points])
    v = np.array([p[1] for p in points])

    def greedy(tol):
        keep, anchor = [0], 0
        for i in range(2, len(points)):
            seg = slice(anchor + 1, i)
            interp = v[anchor] + (v[i] - v[anchor]) * (t[seg] - t[anchor]) / (t[i] - t[anchor])
            if np.max(np.abs(interp - v[seg])) > tol:
                keep.append(i - 1)
                anchor = i - 1
        keep.append(len(points) - 1)
        return keep

    lo, hi = 0.0, float(np.ptp(v)) + 1e-9
    best = greedy(hi)
    for _ in range(30):
        mid = (lo + hi) / 2
        k = greedy(mid)
        if len(k) <= max_points:
            best, hi = k, mid
        else:
            lo = mid
    kept = [points[i] for i in best]
    dev = float(np.max(np.abs(np.interp(t, t[best], v[best]) - v)))
    return kept, dev


def take_project(values: np.ndarray, *, block: int, sr: int, sample: str, duration: float,
                 max_points: int | None = None):
    """A project replaying a cross-adaptive take: one track playing ``sample`` (a path beside
    project.json) from 0 for ``duration`` s, its gain automated and a low-pass whose cutoff is
    automated. Returns (project, largest thinning deviation per parameter)."""
    from producer.project import MAX_AUTOMATION_POINTS, Clip, Effect, Project, Track

    limit = max_points or MAX_AUTOMATION_POINTS
    gain, gdev = thin(breakpoints(values[:, 0], block=block, sr=sr), limit)
    cutoff, cdev = thin(breakpoints(values[:, 1], block=block, sr=sr), limit)
    lowpass = Effect.make("lowpass", automation={"cutoff_hz": cutoff}, cutoff_hz=float(values[0, 1]), q=LOWPASS_Q)
    # A file's pitch is unknown, so the clip is not transposed; "piano" is only a label (an
    # instrument that does not loop a held note, so the clip plays the file as it is).
    track = Track(name="Live", instrument="piano", gain_db=float(values[0, 0]), effects=(lowpass,),
                  clips=(Clip(sample=sample, start=0.0, hold=round(duration, 6), pitch=60),),
                  automation=(("gain_db", tuple(gain)),))
    project = Project(sample_rate=sr, tracks=(track,))
    # through the model's own validation: a take that would not load again fails here
    return Project.from_dict(project.to_dict()), {"gain_db": gdev, "cutoff_hz": cdev}
