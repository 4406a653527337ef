"""Model files: policy pairs written staged with their checksum, configs carried through JSON."""
import json
from dataclasses import dataclass, field

import pytest

from producer.weights import from_json, sha256_of, to_json, write_model_files


@dataclass(frozen=True)
class Inner:
    a: float = 1.0


@dataclass(frozen=True)
class Config:
    name: str = "x"
    arch: tuple[int, ...] = (64, 64)
    inner: Inner = field(default_factory=Inner)


def test_a_config_survives_json_with_its_tuples_and_nested_values():
    c = Config(name="y", arch=(8, 4, 2), inner=Inner(0.25))
    data = json.loads(json.dumps(to_json(c)))
    assert data == {"name": "y", "arch": [8, 4, 2], "inner": {"a": 0.25}}
    back = from_json(Config, data)
    assert back == c and isinstance(back.arch, tuple) and isinstance(back.inner, Inner)
    assert from_json(Config, {"name": "z"}) == Config(name="z")  # missing keys: defaults
    with pytest.raises(TypeError):
        from_json(Config, {"name": "z", "unknown": 1})


def test_the_training_configs_round_trip():
    from producer.agent.policies import TrainConfig as AgentConfig
    from producer.drums.agent import TrainConfig as DrumsConfig
    from producer.drums.reward import RewardWeights

    for c in (AgentConfig(net_arch=(32, 16)), DrumsConfig(voices=("snare",), weights=RewardWeights(style=0.5))):
        assert type(c).from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_model_files_are_written_as_a_pair_with_the_zip_checksum(tmp_path):
    def save(path):
        with open(path, "wb") as f:
            f.write(b"model bytes")

    zpath = write_model_files(tmp_path / "sub" / "policy", save, {"config": {"k": 1}})
    meta = json.loads((tmp_path / "sub" / "policy.json").read_text())
    assert zpath == tmp_path / "sub" / "policy.zip" and zpath.read_bytes() == b"model bytes"
    assert meta == {"config": {"k": 1}, "sha256": sha256_of(zpath)}
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["policy.json", "policy.zip"]


def test_a_failed_save_leaves_the_old_pair_and_no_temporary_file(tmp_path):
    def save(path):
        with open(path, "wb") as f:
            f.write(b"old")

    write_model_files(tmp_path / "policy", save, {})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(path):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_model_files(tmp_path / "policy", broken, {})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
