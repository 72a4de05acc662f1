"""tfaudio.plots: training curves and confusion matrices as PNG, and a clear message without matplotlib."""

import sys

import numpy as np
import pytest

from tfaudio import plots

PNG = b"\x89PNG\r\n\x1a\n"

HISTORY = [
    {"epoch": 0, "loss": 2.0, "accuracy": 0.3, "val_loss": 2.1, "val_accuracy": 0.25, "learning_rate": 1e-3},
    {"epoch": 1, "loss": 1.2, "accuracy": 0.6, "val_loss": 1.4, "val_accuracy": 0.55, "learning_rate": 5e-4},
    {"epoch": 2, "loss": 0.8, "accuracy": 0.8, "val_loss": 1.1, "val_accuracy": 0.65, "learning_rate": 1e-4},
]


def _image(path):
    matplotlib_image = pytest.importorskip("matplotlib.image")
    assert path.read_bytes()[:8] == PNG
    return matplotlib_image.imread(path)


def test_training_curves(tmp_path):
    pytest.importorskip("matplotlib")
    path = plots.training_curves_plot(HISTORY, tmp_path / "curves.png", title="run")
    image = _image(tmp_path / "curves.png")
    assert path == str(tmp_path / "curves.png") and image.shape[1] > image.shape[0] > 200  # three panels side by side
    assert image[..., :3].std() > 0.05  # something is drawn
    assert list(tmp_path.iterdir()) == [tmp_path / "curves.png"]  # no temporary file left
    plots.training_curves_plot([{"epoch": 0, "loss": 1.0}], tmp_path / "no_val.png")  # training only, no lr
    with pytest.raises(ValueError, match="empty"):
        plots.training_curves_plot([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="must end with .png"):
        plots.training_curves_plot(HISTORY, tmp_path / "curves.pdf")


def test_confusion_matrix(tmp_path):
    pytest.importorskip("matplotlib")
    labels = ["_silence_", "_unknown_", "yes", "no"]
    confusion = np.array([[5, 0, 0, 0], [1, 3, 1, 0], [0, 0, 4, 1], [0, 0, 0, 0]])
    plots.confusion_matrix_plot(confusion, labels, tmp_path / "cm.png", title="test")
    image = _image(tmp_path / "cm.png")
    assert min(image.shape[:2]) > 300
    with pytest.raises(ValueError, match=r"Received: confusion.shape=\(2, 2\), 4 labels"):
        plots.confusion_matrix_plot([[1, 0], [0, 1]], labels, tmp_path / "bad.png")


def test_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'tfaudio\[plot\]'"):
        plots.confusion_matrix_plot([[1]], ["a"], tmp_path / "cm.png")
    assert plots.plot_run(tmp_path, HISTORY, ["a"]) == []  # training never fails for a picture
    assert "No plots written: Plots need matplotlib" in capsys.readouterr().out
    assert not list(tmp_path.iterdir())
