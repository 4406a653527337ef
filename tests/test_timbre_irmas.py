"""IRMAS path end to end on a tiny IRMAS-shaped fixture (synthetic audio), and the paper's metrics."""
import json

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main
from producer.errors import InputError
from producer.timbre import data, load_model
from producer.timbre.evaluate import evaluate_irmas, irmas_decisions, multilabel_f1, precision_at_k

CLASSES = data.CLASSES


def _tone(k, seconds, sr=44100, seed=0):
    """A class-specific timbre: fundamental and harmonic roll-off depend on the class index."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 110.0 * 2 ** (k / 4)
    y = sum((1.0 / h ** (0.5 + k / 5)) * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 8))
    y = y + 0.01 * rng.standard_normal(t.size)
    y = 0.5 * y / np.max(np.abs(y))
    return np.stack([y, 0.8 * y], axis=1).astype(np.float32)  # stereo, like IRMAS


@pytest.fixture(scope="module")
def irmas(tmp_path_factory):
    root = tmp_path_factory.mktemp("irmas")
    train = root / "IRMAS-TrainingData"
    for k, cls in enumerate(CLASSES):
        (train / cls).mkdir(parents=True)
        for i in range(3):
            # Both name shapes of the release: with and without the drums tag, numeric prefix.
            name = f"{i:03d}__[{cls}][nod][cla]{i:04d}__1.wav" if i % 2 else f"[{cls}][pop_roc]{i:04d}__2.wav"
            sf.write(train / cls / name, _tone(k, 3.0, seed=i), 44100)
    test = root / "IRMAS-TestingData-Part1" / "Part1"
    test.mkdir(parents=True)
    for j, labels in enumerate([("cel",), ("pia", "voi"), ("gel",), ("flu", "sax")]):
        y = sum(_tone(CLASSES.index(lab), 5.0, seed=10 + j) for lab in labels)
        sf.write(test / f"excerpt {j}-{j}.wav", y / len(labels), 44100)
        (test / f"excerpt {j}-{j}.txt").write_text("".join(f"{lab}\t\n" for lab in labels))
    return root


def test_file_name_tags():
    assert data.parse_training_name("008__[cel][nod][cla]0058__1.wav") == ("cel", False, "cla")
    assert data.parse_training_name("[sax][dru][jaz_blu]1736__3.wav") == ("sax", True, "jaz_blu")
    assert data.parse_training_name("[gel][pop_roc]0001__2.wav") == ("gel", None, "pop_roc")
    with pytest.raises(InputError):
        data.parse_training_name("drums_0001.wav")


def test_loader_reads_layout_and_tab_ended_labels(irmas):
    train, test = data.find_irmas(irmas)
    assert len(train) == 33 and {c.labels for c in train} == {(c,) for c in CLASSES}
    assert sum(c.drums is False for c in train) == 11 and sum(c.drums is None for c in train) == 22
    assert [c.labels for c in test] == [("cel",), ("pia", "voi"), ("gel",), ("flu", "sax")]
    bad = irmas / "bad.txt"
    bad.write_text("cel\t\nbanjo\n")
    with pytest.raises(InputError, match="banjo"):
        data.read_label_file(bad)


def test_multilabel_f1_by_hand():
    true = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], bool)
    pred = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]], bool)
    r = multilabel_f1(true, pred)
    # tp=2, fp=1, fn=2 -> micro P 2/3, R 1/2, F1 4/7; per class F1: 1.0, 0.0, 0.0
    assert r["micro_precision"] == pytest.approx(2 / 3)
    assert r["micro_recall"] == pytest.approx(0.5)
    assert r["micro_f1"] == pytest.approx(4 / 7)
    assert r["per_class_f1"] == pytest.approx([1.0, 0.0, 0.0])
    assert r["macro_f1"] == pytest.approx(1 / 3)


def test_paper_aggregation_normalises_by_the_maximum():
    windows = np.zeros((2, 11))
    windows[:, 0] = [0.2, 0.4]   # mean 0.3 -> 1.0 after normalising
    windows[:, 5] = [0.1, 0.2]   # mean 0.15 -> 0.5: kept at threshold 0.5
    windows[:, 7] = [0.1, 0.1]   # 0.1 / 0.3 = 0.33: dropped
    dec = irmas_decisions([windows], threshold=0.5)
    assert np.flatnonzero(dec[0]).tolist() == [0, 5]


def test_precision_at_k():
    emb = np.array([[1, 0], [0.99, 0.141], [0, 1], [0.141, 0.99]], np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    assert precision_at_k(emb, np.array([0, 0, 1, 1]), k=1) == 1.0
    assert precision_at_k(emb, np.array([0, 1, 0, 1]), k=1) == 0.0
    assert precision_at_k(emb, np.array([0, 0, 1, 1]), k=3) == pytest.approx(1 / 3)


def test_train_and_evaluate_end_to_end(irmas, tmp_path, capsys):
    out = tmp_path / "irmas-tiny.pt"
    rc = main(["embeddings", "train", "--irmas", str(irmas), "--arch", "fast", "--width", "0.25",
               "--epochs", "2", "--batch-size", "8", "--val-fraction", "0", "--out", str(out), "--json"])
    assert rc == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_train_clips"] == 33 and metrics["best_epoch"] in (1, 2)
    r = metrics["irmas_test"]
    assert r["n_excerpts"] == 4 and r["threshold"] == 0.5
    assert 0.0 <= r["micro_f1"] <= 1.0 and len(r["per_class_f1"]) == 11
    # The figures in the report are those of the weights that were written.
    model = load_model(str(out))
    assert model.arch == "fast" and model.embedding_dim == 64
    again = evaluate_irmas(model, data.find_irmas(irmas)[1])
    assert again["micro_f1"] == pytest.approx(r["micro_f1"]) and again["macro_f1"] == pytest.approx(r["macro_f1"])
    assert json.loads(out.with_suffix(".json").read_text())["irmas_test"]["micro_f1"] == pytest.approx(r["micro_f1"])
    # Refuses to overwrite without --force.
    assert main(["embeddings", "train", "--irmas", str(irmas), "--epochs", "1", "--out", str(out)]) == 2
