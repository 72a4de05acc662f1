"""`tfaudio evaluate`: specs with or without a split, label mapping, resampling, --split, --plot."""

import json
import os
import pathlib
import sys

import numpy as np
import pytest
import soundfile as sf

from tfaudio.cli import evaluate as ev
from tfaudio.cli.main import main

REPO = pathlib.Path(__file__).resolve().parents[2]


def constant_model(path, labels, winner, samples):
    """A saved .keras model that always predicts `labels[winner]`, with labels.json beside it."""
    from tfaudio.backend import keras

    inputs = keras.Input(shape=(samples,), name="waveform")
    outputs = keras.layers.Dense(len(labels), kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant(np.eye(len(labels))[winner]))(inputs)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(path)
    (path.parent / "labels.json").write_text(json.dumps(labels))
    return str(path)


def _clip(path, rate=8000, seconds=0.5):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.1 * np.sin(np.arange(int(rate * seconds)) / 3.0), rate, subtype="PCM_16")
    return path


@pytest.fixture
def words(tmp_path):
    root = tmp_path / "words"
    for i in range(3):
        _clip(root / "yes" / f"{i}.wav")
    for i in range(2):
        _clip(root / "no" / f"{i}.wav", rate=16000)  # resampled to the model's 8 kHz
    return root


def test_folder_without_split_is_evaluated_whole(words, tmp_path):
    model = constant_model(tmp_path / "m" / "model.keras", ["no", "yes"], winner=1, samples=4000)
    metrics = ev.evaluate(model, data=f"folder:{words}", sample_rate=8000, clip_seconds=0.5)
    assert (metrics["split"], metrics["examples"], metrics["accuracy"]) == ("all", 5, 0.6)
    assert metrics["confusion_matrix"] == [[0, 2], [0, 3]] and metrics["per_class_accuracy"] == {"no": 0.0, "yes": 1.0}
    # With a split in the spec, the test split only.
    held_out = ev.evaluate(model, data=f"folder:{words}?validation_split=0.4", sample_rate=8000, clip_seconds=0.5)
    assert held_out["split"] == "test" and held_out["examples"] == 2


def test_manifests_with_test_rows_only_or_no_split_column(words, tmp_path):
    model = constant_model(tmp_path / "m" / "model.keras", ["maybe", "no", "yes"], winner=2, samples=4000)
    only_test = tmp_path / "test_only.csv"
    only_test.write_text(f"path,label,split\n{words}/yes/0.wav,yes,test\n{words}/no/0.wav,no,test\n")
    metrics = ev.evaluate(model, data=f"manifest:{only_test}", sample_rate=8000, clip_seconds=0.5)
    assert (metrics["split"], metrics["examples"], metrics["accuracy"]) == ("test", 2, 0.5)
    assert metrics["labels"] == ["maybe", "no", "yes"]  # the model's label order; the data's ids mapped onto it
    plain = tmp_path / "plain.csv"
    plain.write_text("path,label\nwords/yes/1.wav,yes\nwords/yes/2.wav,yes\nwords/no/1.wav,no\n")
    assert ev.evaluate(model, data=f"manifest:{plain}", sample_rate=8000, clip_seconds=0.5)["examples"] == 3
    split = tmp_path / "split.csv"
    split.write_text(f"path,label,split\n{words}/yes/0.wav,yes,train\n{words}/no/0.wav,no,validation\n")
    assert ev.evaluate(model, data=f"manifest:{split}", sample_rate=8000, clip_seconds=0.5)["split"] == "all"
    val = ev.evaluate(model, data=f"manifest:{split}", sample_rate=8000, clip_seconds=0.5, split="validation")
    assert (val["examples"], val["accuracy"]) == (1, 0.0)
    with pytest.raises(SystemExit, match="has no test split"):
        ev.evaluate(model, data=f"manifest:{split}", sample_rate=8000, clip_seconds=0.5, split="test")


def test_labels_the_model_does_not_know_are_refused(words, tmp_path):
    model = constant_model(tmp_path / "m" / "model.keras", ["yes", "stop"], winner=0, samples=4000)
    with pytest.raises(SystemExit, match=r"labels the model does not know: \['no'\]"):
        ev.evaluate(model, data=f"folder:{words}", sample_rate=8000, clip_seconds=0.5)
    with pytest.raises(SystemExit, match="A data spec is"):
        ev.evaluate(model, data="nosuch:x", sample_rate=8000)


def test_centre_fit_matches_the_test_pipeline():
    import tensorflow as tf

    from tfaudio.data import fit_length

    for length in (5, 9, 10, 11, 16):
        audio = np.arange(1, length + 1, dtype=np.float32)
        np.testing.assert_array_equal(ev.centre_fit(audio, 10), fit_length(tf.constant(audio), 10).numpy())


def test_other_peoples_digits_from_the_shared_folder(tmp_path):
    """The `task=digits` spec of the shared 12-class folder: 157 clips, 16 kHz resampled to an 8 kHz model."""
    root = REPO.parent / "shared" / "data" / "speech_commands"
    if not (root / "_unknown_").is_dir():
        pytest.skip(f"no Speech Commands folder at {root}")
    model = constant_model(tmp_path / "m" / "model.keras", [str(d) for d in range(10)], winner=8, samples=8000)
    out = tmp_path / "digits.json"
    code = main(["evaluate", "--model", model, "--data", f"speech_commands:{root}?task=digits&split=none",
                 "--sample-rate", "8000", "--clip-seconds", "1.0", "--out", str(out)])
    metrics = json.loads(out.read_text())
    assert code == 0 and metrics["examples"] == 157 and metrics["split"] == "all"
    assert metrics["accuracy"] == pytest.approx(21 / 157)  # "eight": 21 clips


def test_plot_writes_the_confusion_matrix(words, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    model = constant_model(tmp_path / "m" / "model.keras", ["no", "yes"], winner=1, samples=4000)
    png = tmp_path / "plots" / "confusion.png"
    argv = ["evaluate", "--model", model, "--data", f"folder:{words}", "--sample-rate", "8000",
            "--clip-seconds", "0.5", "--plot", str(png)]
    assert main(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 2000
    assert "confusion matrix written to" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    assert main(argv) == 2  # one error line (tfaudio.cli.main)
    assert "pip install 'tfaudio[plot]'" in capsys.readouterr().err
