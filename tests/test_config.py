"""Planner presets: the shipped files load, and every kind of mistake names its key."""
import pytest

from producer.config import ConfigError, PlannerConfig, config_from_dict, load_config, load_preset


@pytest.mark.parametrize("name", ["fast", "default", "thorough"])
def test_shipped_presets_load(name):
    cfg = load_preset(name)
    assert cfg.name == name
    assert cfg.budget.evaluations > 0 and cfg.budget.seconds > 0
    assert cfg.analysis.window_seconds == 3.0 and cfg.analysis.hop_seconds == 1.0


def test_presets_grow_in_budget():
    fast, default, thorough = (load_preset(n) for n in ("fast", "default", "thorough"))
    assert fast.budget.evaluations < default.budget.evaluations < thorough.budget.evaluations


def test_missing_keys_keep_defaults():
    cfg = config_from_dict({"search": {"tracks": 2}})
    assert cfg.search.tracks == 2
    assert cfg.reward == PlannerConfig().reward


@pytest.mark.parametrize("data, key", [
    ({"serch": {}}, "serch"),
    ({"search": {"trakcs": 2}}, "search.trakcs"),
    ({"search": {"tracks": 0}}, "search.tracks"),
    ({"search": {"tracks": 2.5}}, "search.tracks"),
    ({"reward": {"chroma_weight": "high"}}, "reward.chroma_weight"),
    ({"reward": {"timbre_weight": -1.0}}, "reward.timbre_weight"),
    ({"effects": {"kinds": ["wobble"]}}, "effects.kinds"),
    ({"effects": {"enabled": 1}}, "effects.enabled"),
    ({"search": {"gain_offsets_db": []}}, "search.gain_offsets_db"),
    ({"analysis": {"window_seconds": 2.5}}, "analysis"),
    ({"analysis": {"window_seconds": 2.0, "hop_seconds": 3.0}}, "analysis.hop_seconds"),
    ({"reward": {"timbre_weight": 0.0, "chroma_weight": 0.0}}, "reward"),
])
def test_bad_settings_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict(data)


def test_bad_file_and_unknown_preset(tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text("[search]\ntracks = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    bad.write_text("[budget]\nseconds = -3\n")
    with pytest.raises(ConfigError, match=r"mine.toml: budget\.seconds"):
        load_preset(str(bad))
    with pytest.raises(ConfigError, match="no preset named 'nope'"):
        load_preset("nope")


def test_user_preset_by_path(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text("[budget]\nevaluations = 50\n[search]\ntracks = 2\n")
    cfg = load_preset(str(p))
    assert (cfg.name, cfg.budget.evaluations, cfg.search.tracks) == ("mine", 50, 2)


def test_overrides_are_validated():
    cfg = PlannerConfig().with_overrides(seconds=12, tracks=3, evaluations=99)
    assert (cfg.budget.seconds, cfg.search.tracks, cfg.budget.evaluations) == (12.0, 3, 99)
    with pytest.raises(ConfigError, match="search.tracks"):
        PlannerConfig().with_overrides(tracks=0)
    with pytest.raises(ConfigError, match="budget.seconds"):
        PlannerConfig().with_overrides(seconds=0)
