"""producer.timbre: the load_model / embed / predict contract, on the tiny model."""
import shutil

import numpy as np
import pytest
import torch

from producer.errors import InputError, ModelError
from producer.timbre import load_model
from producer.timbre import pretrained
from producer.timbre.model import FastCNN, HanCNN, sub_window_starts

SR = 22050
CLASSES = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny")


def _windows(batch=4, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    rows = [0.3 * np.sin(2 * np.pi * (110 * (i + 1)) * t) + 0.02 * rng.standard_normal(t.size) for i in range(batch)]
    return np.stack(rows).astype(np.float32)


def test_contract_shapes_norms_and_metadata(tiny):
    y = _windows(4)
    emb, probs = tiny.embed(y), tiny.predict(y)
    assert tiny.sr == 22050 and tiny.classes == CLASSES
    assert emb.shape == (4, tiny.embedding_dim) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert probs.shape == (4, 11) and np.all((probs > 0) & (probs < 1))


def test_embeddings_are_deterministic_and_batch_independent(tiny):
    y = _windows(5)
    a = tiny.embed(y)
    np.testing.assert_array_equal(a, tiny.embed(y))
    np.testing.assert_allclose(a[3:4], tiny.embed(y[3:4]), atol=1e-5)
    # Different sounds give different embeddings.
    assert np.abs(a[0] - a[4]).max() > 1e-3


def test_any_length_from_one_second(tiny):
    for n in (SR, int(1.7 * SR), 3 * SR, 10 * SR + 123):
        assert tiny.embed(np.zeros((1, n), np.float32) + 0.1).shape == (1, tiny.embedding_dim)
    with pytest.raises(InputError):
        tiny.embed(np.zeros((1, SR - 1), np.float32))
    with pytest.raises(InputError):
        tiny.embed(np.zeros(3 * SR, np.float32))  # missing batch axis


def test_sub_windows_of_a_three_second_window():
    assert sub_window_starts(130) == [0, 44, 86]  # 3 s: three passes, the last aligned to the end
    assert sub_window_starts(44) == [0]
    assert sub_window_starts(60) == [0]  # 16 frames left over: not worth another pass
    assert sub_window_starts(70) == [0, 26]


def test_architectures_follow_the_paper_shapes():
    han = HanCNN().eval()
    x = torch.zeros(2, 1, 128, 44)
    assert han(x).shape == (2, 11) and han.penultimate(x).shape == (2, 1024)
    convs = [m.out_channels for m in han.features if isinstance(m, torch.nn.Conv2d)]
    assert convs == [32, 32, 64, 64, 128, 128, 256, 256]
    assert [m.negative_slope for m in han.modules() if isinstance(m, torch.nn.LeakyReLU)][0] == 0.33
    assert FastCNN().eval().penultimate(x).shape == (2, 256)


def test_missing_and_corrupt_weights_raise_model_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "EMBEDDINGS_DIR", tmp_path)
    with pytest.raises(ModelError, match="missing"):
        load_model("tiny")
    src = pretrained.Path(pretrained.__file__).resolve().parents[2] / "embeddings" / "timbre-tiny.pt"
    shutil.copy(src, tmp_path / "timbre-tiny.pt")
    assert load_model("tiny").embedding_dim == 16
    with open(tmp_path / "timbre-tiny.pt", "r+b") as f:
        f.seek(200)
        f.write(b"garbage")
    with pytest.raises(ModelError, match="corrupt"):
        load_model("tiny")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(str(tmp_path / "junk.pt"))
    with pytest.raises(ModelError, match="no timbre model"):
        load_model("nonesuch")


def test_shipped_default_recognises_rendered_instruments():
    """The shipped default on fresh clips (new seed) from the small training soundfont:
    measured 17/22 (0.77) when written; chance is 2/22."""
    pretty_midi = pytest.importorskip("pretty_midi")
    from pathlib import Path

    from producer.timbre.evaluate import render_eval_clips

    model = load_model()
    assert model.arch == "fast" and model.embedding_dim == 256
    ys, labels = render_eval_clips(Path(pretty_midi.__file__).parent / "TimGM6mb.sf2", 22, seed=99)
    emb, probs = model.embed_and_predict(ys)
    assert np.mean(probs.argmax(1) == labels) >= 0.6
    # Same-instrument clips sit closer than different-instrument ones on average.
    sim = emb @ emb.T
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    diff = labels[:, None] != labels[None, :]
    assert sim[same].mean() > sim[diff].mean() + 0.2  # measured 0.76 vs 0.39


def test_supervised_contrastive_loss_rewards_same_class_clusters():
    import torch

    from producer.timbre.train import supcon_loss

    y = torch.eye(3).repeat_interleave(4, dim=0)  # 12 items, 3 classes of 4
    rng = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 16, generator=rng)
    clustered = centres.repeat_interleave(4, dim=0) + 0.05 * torch.randn(12, 16, generator=rng)
    shuffled = clustered[torch.randperm(12, generator=rng)]
    tight, mixed = float(supcon_loss(clustered, y)), float(supcon_loss(shuffled, y))
    assert tight < 0.5 * mixed
    # No item has a positive in the batch: nothing to learn from, the loss is zero (not NaN).
    assert float(supcon_loss(torch.randn(3, 16), torch.eye(3))) == 0.0
