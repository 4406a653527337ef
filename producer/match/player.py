"""A chain player for the search: one DawDreamer graph of every template stage, built once and
re-rendered with new parameter values (building the graph costs ~0.3 s, compiling the Faust
stages included; a 5 s render ~65 ms). It renders what ``producer.render.engine`` renders for the
same chain, to float rounding (``tests/test_match.py`` checks it)."""
from __future__ import annotations

import numpy as np

from producer.project import Effect
from producer.render.engine import BLOCK_SIZE
from producer.render.effects import make_processor, set_params


class ChainPlayer:
    """Plays ``dry`` [shape=(2, n)] through chains of the given effect kinds, in this order."""

    def __init__(self, dry: np.ndarray, sr: int, kinds: tuple[str, ...]):
        import dawdreamer as daw

        self.sr = sr
        self.n = dry.shape[1]
        self.kinds = tuple(kinds)
        self.engine = daw.RenderEngine(sr, BLOCK_SIZE)
        graph = [(self.engine.make_playback_processor("clips", np.ascontiguousarray(dry, dtype=np.float32)), [])]
        self.processors = []
        previous = "clips"
        for i, kind in enumerate(self.kinds):
            name = f"fx{i}_{kind}"
            proc = make_processor(self.engine, name, kind, {})
            self.processors.append(proc)
            graph.append((proc, [previous]))
            previous = name
        self.engine.load_graph(graph)
        self.renders = 0

    def play(self, effects: tuple[Effect, ...]) -> np.ndarray:
        """The chain's output [shape=(2, n)] float32; ``effects`` match the player's kinds."""
        for proc, effect, kind in zip(self.processors, effects, self.kinds):
            if effect.kind != kind:
                raise ValueError(f"stage {kind} given a {effect.kind}")
            set_params(proc, kind, effect.param_dict)
        self.engine.render(self.n / self.sr)
        self.renders += 1
        out = np.asarray(self.engine.get_audio(), dtype=np.float32)
        if out.shape[1] < self.n:
            out = np.pad(out, ((0, 0), (0, self.n - out.shape[1])))
        return out[:, : self.n]
