"""Settings as frozen dataclasses; planner presets are read from ``search/*.toml``.

A preset file has one table per section below; every key is optional (missing keys keep the
defaults written here), unknown keys and out-of-range values are errors that name the key::

    [budget]
    seconds = 120.0        # wall-clock budget of the whole run (s, at least 10); --budget overrides it
    evaluations = 12000    # cap on candidate evaluations; deterministic, so same seed -> same files

    [analysis]
    window_seconds = 3.0   # reward window length (s)
    hop_seconds = 1.0      # reward window hop (s)

    [reward]
    timbre_weight = 0.5    # weight of timbre-embedding cosine similarity in a window's sim
    chroma_weight = 0.5    # weight of frame-wise chroma similarity
    envelope_weight = 0.0  # weight of the loudness-envelope term (an extra term; 0 = off)
    spectrum_weight = 0.0  # weight of the frame mel-spectrum term (an extra term; 0 = off)
    silence_db = 50.0      # frames quieter than the target's loudest frame by this much are silent

    [search]
    tracks = 4             # tracks in the recreated project (--tracks overrides)
    candidates = 24        # insert candidates considered per node (best prior first)
    batch = 6              # children scored together in one batch when a node widens
    exploration = 0.7      # UCT exploration constant c
    widening_c = 2.0       # progressive widening: a node visited n times may have
    widening_alpha = 0.5   #   ceil(widening_c * n ** widening_alpha) children
    gain_offsets_db = [0.0]  # gains tried around the estimated gain of an insert
    rank_timbre = 0.5      # candidate ranking: weight of the embedding similarity after the onset,
    rank_chroma = 0.5      #   of the residual chroma similarity,
    rank_spectrum = 1.0    #   and of the residual mel-patch similarity (see Catalogue.rank)
    rounds = 2             # re-planning rounds: each rebuilds every track against the others
    first_pass = 0.4       # share of the note budget for the first pass
    sequential = false     # first pass track by track (each against those before) instead of together

    [effects]
    enabled = true
    kinds = ["lowpass", "highpass", "reverb", "compressor"]
    max_per_track = 1
    grid_steps = 3         # values per parameter tried by a change-parameter action
    evaluations = 60       # share of the evaluation budget spent on effect-chain actions
"""
from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from producer.errors import ProducerError

PRESETS = ("fast", "default", "thorough")


class ConfigError(ProducerError):
    """A preset or setting is invalid; the message names the key."""


def presets_dir() -> Path:
    env = os.environ.get("PRODUCER_PRESETS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "search"


# recreate's wall-clock budget covers the whole run. Below this the fixed costs (loading the
# timbre model, librosa's compiled kernels and the sample catalogue, analysing one reward window,
# writing the folder: 5-8 s on 2 busy cores, measured with bench/bench_limits.py) leave no search.
MIN_BUDGET_SECONDS = 10.0


@dataclass(frozen=True)
class BudgetConfig:
    seconds: float = 120.0
    evaluations: int = 12000


@dataclass(frozen=True)
class AnalysisConfig:
    window_seconds: float = 3.0
    hop_seconds: float = 1.0


@dataclass(frozen=True)
class RewardConfig:
    timbre_weight: float = 0.5
    chroma_weight: float = 0.5
    envelope_weight: float = 0.0
    spectrum_weight: float = 0.0
    silence_db: float = 50.0


@dataclass(frozen=True)
class SearchConfig:
    tracks: int = 4
    candidates: int = 24
    batch: int = 6
    exploration: float = 0.7
    widening_c: float = 2.0
    widening_alpha: float = 0.5
    gain_offsets_db: tuple[float, ...] = (0.0,)
    rank_timbre: float = 0.5
    rank_chroma: float = 0.5
    rank_spectrum: float = 1.0
    rounds: int = 2
    sequential: bool = False
    first_pass: float = 0.4
    note_model: bool = False  # insert candidates from the note model (planner.note_prior), not the spectral prior
    chord: int = 1  # notes a track may strike at once (1: monophonic tracks, an instrument may take several)


@dataclass(frozen=True)
class EffectsConfig:
    enabled: bool = True
    kinds: tuple[str, ...] = ("lowpass", "highpass", "reverb", "compressor")
    max_per_track: int = 1
    grid_steps: int = 3
    evaluations: int = 60


@dataclass(frozen=True)
class PlannerConfig:
    name: str = "default"
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    effects: EffectsConfig = field(default_factory=EffectsConfig)

    def with_overrides(self, *, seconds: float | None = None, tracks: int | None = None,
                       evaluations: int | None = None) -> "PlannerConfig":
        cfg = self
        if seconds is not None:
            if not seconds >= MIN_BUDGET_SECONDS:
                raise ConfigError(f"budget.seconds (--budget) {seconds:g}: under the minimum of "
                                  f"{MIN_BUDGET_SECONDS:g} s (loading the model and the sample catalogue and "
                                  "writing the project folder alone take seconds)")
            _check_range("budget.seconds", seconds, MIN_BUDGET_SECONDS, 86400.0)
            cfg = dataclasses.replace(cfg, budget=dataclasses.replace(cfg.budget, seconds=float(seconds)))
        if evaluations is not None:
            _check_range("budget.evaluations", evaluations, 1, 10**8)
            cfg = dataclasses.replace(cfg, budget=dataclasses.replace(cfg.budget, evaluations=int(evaluations)))
        if tracks is not None:
            _check_range("search.tracks", tracks, 1, 16)
            cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, tracks=int(tracks)))
        return cfg


# key -> (low, high) for numbers; checked on load and on override.
_RANGES = {
    "budget.seconds": (MIN_BUDGET_SECONDS, 86400.0),
    "budget.evaluations": (1, 10**8),
    "analysis.window_seconds": (1.0, 30.0),
    "analysis.hop_seconds": (1.0, 30.0),
    "reward.timbre_weight": (0.0, 100.0),
    "reward.chroma_weight": (0.0, 100.0),
    "reward.envelope_weight": (0.0, 100.0),
    "reward.spectrum_weight": (0.0, 100.0),
    "reward.silence_db": (10.0, 120.0),
    "search.tracks": (1, 16),
    "search.candidates": (1, 1000),
    "search.batch": (1, 256),
    "search.exploration": (0.0, 100.0),
    "search.widening_c": (0.5, 100.0),
    "search.widening_alpha": (0.0, 1.0),
    "search.rank_timbre": (0.0, 100.0),
    "search.rank_chroma": (0.0, 100.0),
    "search.rank_spectrum": (0.0, 100.0),
    "search.rounds": (0, 50),
    "search.first_pass": (0.05, 1.0),
    "search.chord": (1, 8),
    "effects.max_per_track": (0, 8),
    "effects.grid_steps": (2, 33),
    "effects.evaluations": (0, 10**7),
}

_SECTIONS = {
    "budget": BudgetConfig,
    "analysis": AnalysisConfig,
    "reward": RewardConfig,
    "search": SearchConfig,
    "effects": EffectsConfig,
}


def _check_range(key: str, value, low, high) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value!r} is outside [{low:g}, {high:g}]")


def _coerce(key: str, value, default):
    """Check one value against the type of its default; returns it in that type."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if default and isinstance(default[0], str):
            if not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
            return tuple(value)
        if not value or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                for v in value):
            raise ConfigError(f"{key}: expected a non-empty list of numbers, got {value!r}")
        return tuple(float(v) for v in value)
    raise ConfigError(f"{key}: unsupported setting")  # pragma: no cover - table is ours


def config_from_dict(data: dict, *, name: str = "custom") -> PlannerConfig:
    """Build a PlannerConfig from a parsed TOML mapping; raises ConfigError naming the bad key."""
    if not isinstance(data, dict):
        raise ConfigError("preset: expected a table")
    sections = {}
    for sec, value in data.items():
        if sec not in _SECTIONS:
            raise ConfigError(f"{sec}: unknown section (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{sec}: expected a table, got {value!r}")
        cls = _SECTIONS[sec]
        defaults = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, v in value.items():
            full = f"{sec}.{key}"
            if key not in known:
                raise ConfigError(f"{full}: unknown key (known: {', '.join(sorted(known))})")
            v = _coerce(full, v, getattr(defaults, key))
            if full in _RANGES:
                _check_range(full, v, *_RANGES[full])
            kwargs[key] = v
        sections[sec] = cls(**kwargs)
    cfg = PlannerConfig(name=name, **sections)
    _check_consistency(cfg)
    return cfg


def _check_consistency(cfg: PlannerConfig) -> None:
    from producer.effects import EFFECTS

    if cfg.analysis.hop_seconds > cfg.analysis.window_seconds:
        raise ConfigError(f"analysis.hop_seconds: {cfg.analysis.hop_seconds:g} is longer than "
                          f"analysis.window_seconds {cfg.analysis.window_seconds:g}")
    if cfg.analysis.window_seconds != int(cfg.analysis.window_seconds) or \
            cfg.analysis.hop_seconds != int(cfg.analysis.hop_seconds):
        # Window embeddings are built from 1 s segments, so windows must start and end on them.
        raise ConfigError("analysis.window_seconds and analysis.hop_seconds: must be whole seconds")
    r = cfg.reward
    if r.timbre_weight + r.chroma_weight + r.envelope_weight + r.spectrum_weight <= 0:
        raise ConfigError("reward: timbre_weight, chroma_weight, envelope_weight and spectrum_weight are all 0")
    for kind in cfg.effects.kinds:
        if kind not in EFFECTS:
            raise ConfigError(f"effects.kinds: unknown effect {kind!r} (known: {', '.join(EFFECTS)})")


def load_config(path: str | os.PathLike) -> PlannerConfig:
    """Read one preset file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such preset file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read preset ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    try:
        return config_from_dict(data, name=path.stem)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_preset(name: str) -> PlannerConfig:
    """A preset by name (``fast``, ``default``, ``thorough`` in ``search/``) or by .toml path."""
    if name.endswith(".toml") or os.sep in name:
        return load_config(name)
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in presets_dir().glob("*.toml")) or list(PRESETS)
        raise ConfigError(f"no preset named {name!r} (known: {', '.join(known)}; or give a .toml path)")
    return load_config(path)
