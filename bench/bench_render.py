"""Render benchmark: a 16-track, 60 s project with an effect chain on every track.

Prints the full render time (the baseline), the incremental re-render time after editing one clip
on one track (same Renderer: the other 15 stems come from the cache; a linear chain renders only
the change), their ratio (target >= 10x) for every track edited in turn, and peak memory.

    .venv/bin/python bench/bench_render.py [--seconds 60] [--tracks 16]
"""
from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from dataclasses import replace

import numpy as np

from producer.project import Clip, Effect, Project, Track
from producer.render.engine import Renderer
from producer.samples import Library

# Half the chains are linear (filters, EQ, delay, reverb), half hold a non-linear or
# time-varying effect (compressor, distortion, chorus) and must be rendered whole after an edit.
CHAINS = [
    ("highpass", "peak", "reverb"),
    ("highpass", "compressor", "reverb"),
    ("lowpass", "delay"),
    ("distortion", "lowpass"),
    ("low_shelf", "high_shelf", "reverb"),
    ("peak", "chorus", "reverb"),
]


def build_project(library: Library, seconds: float, n_tracks: int, seed: int = 0) -> Project:
    rng = np.random.default_rng(seed)
    pitched = [i for i in library.instruments if i != "drums"]
    drums = library.by_instrument("drums")
    tracks = []
    for k in range(n_tracks):
        chain = tuple(Effect.make(kind) for kind in CHAINS[k % len(CHAINS)])
        if k % 4 == 3 and drums:
            hits = [Clip(d.id, float(t), 0.2, d.pitch) for t, d in
                    ((t, drums[rng.integers(len(drums))]) for t in np.arange(0, seconds - 0.5, 0.25))]
            tracks.append(Track(f"Drums {k}", "drums", gain_db=-18.0, effects=chain, clips=tuple(hits)))
            continue
        inst = pitched[k % len(pitched)]
        samples = [s for s in library.by_instrument(inst) if s.pitch is not None]
        clips = []
        for t in np.arange(0, seconds - 1.0, 0.5):
            s = samples[rng.integers(len(samples))]
            clips.append(Clip(s.id, float(t), 0.45, int(s.pitch + rng.integers(-2, 3))))
        tracks.append(Track(f"{inst} {k}", inst, gain_db=-18.0, pan=float(rng.uniform(-0.8, 0.8)),
                            effects=chain, clips=tuple(clips)))
    return Project(tracks=tuple(tracks))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--tracks", type=int, default=16)
    args = ap.parse_args()

    from producer.render.engine import LINEAR_EFFECTS

    library = Library.default()
    project = build_project(library, args.seconds, args.tracks)
    n_clips = sum(len(t.clips) for t in project.tracks)
    print(f"project: {len(project.tracks)} tracks, {n_clips} clips, {args.seconds:g} s, "
          f"{sum(len(t.effects) for t in project.tracks)} effects")

    # Warm the sample cache once so both timings measure rendering, not file decoding.
    Renderer(library).render(project, effects=False)

    tracemalloc.start()
    renderer = Renderer(library)
    t0 = time.perf_counter()
    out = renderer.render(project)
    full_s = time.perf_counter() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"full render:  {full_s:7.2f} s  ({args.seconds / full_s:.1f}x real time)  [baseline]")

    ratios = {True: [], False: []}
    for k, track in enumerate(project.tracks):
        # Edit one clip of track k: the note in the middle, 6 dB quieter.
        clips = list(track.clips)
        mid = len(clips) // 2
        clips[mid] = replace(clips[mid], gain_db=clips[mid].gain_db - 6.0)
        edited = project.replace_track(k, replace(track, clips=tuple(clips)))
        t0 = time.perf_counter()
        out2 = renderer.render(edited)
        inc_s = time.perf_counter() - t0
        assert not np.array_equal(out.mix, out2.mix)
        linear = all(e.kind in LINEAR_EFFECTS for e in track.effects)
        ratios[linear].append(full_s / inc_s)
        print(f"  edit track {k:2d} ({'+'.join(e.kind for e in track.effects):28s}) "
              f"{inc_s * 1000:7.1f} ms  ratio {full_s / inc_s:6.1f}x")
    every = ratios[True] + ratios[False]
    print(f"ratio full / incremental, median over all {len(every)} edits: {np.median(every):.1f}x "
          f"(min {min(every):.1f}x; target >= 10x)")
    if ratios[True]:
        print(f"  linear chains (delta render):      median {np.median(ratios[True]):.1f}x")
    if ratios[False]:
        print(f"  non-linear chains (whole track):   median {np.median(ratios[False]):.1f}x")
    print(f"stats: {renderer.stats}")
    print(f"peak traced memory (numpy + python) during the full render: {traced_peak / 2**20:.0f} MiB")
    print(f"peak process RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
