"""Pictures of a run: training curves and confusion matrices, as PNG files (matplotlib, optional).

matplotlib is the optional extra `tfaudio[plot]`; it is imported only when a picture is drawn,
with the non-interactive Agg backend (no display needed). Files are written atomically.

Example:
    >>> from tfaudio import plots
    >>> plots.training_curves_plot(metrics["history"], "runs/kws/training_curves.png")
    >>> plots.confusion_matrix_plot(metrics["confusion_matrix"], metrics["labels"], "confusion.png")
"""

import os

import numpy as np

CURVES_FILE = "training_curves.png"
CONFUSION_FILE = "confusion_matrix.png"
INSTALL_HINT = "pip install 'tfaudio[plot]' (or: pip install matplotlib)"


def pyplot():
    """`matplotlib.pyplot` on the Agg backend; ImportError with the install command when missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"Plots need matplotlib, which is not installed: {INSTALL_HINT}") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"Plots are written as PNG: the path must end with .png. Received: path={path!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = f"{path[:-4]}.tmp{os.getpid()}.png"
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        pyplot().close(fig)
    return path


def training_curves_plot(history, path, title=None):
    """Loss and accuracy per epoch (training and validation), and the learning rate, as a PNG.

    Args:
        history: list of per-epoch dicts with "epoch" and Keras logs (`loss`, `accuracy`,
            `val_loss`, `val_accuracy`, `learning_rate`), as in a run's `metrics.json`.
        path: str. Output .png file.
        title: str or None.

    Returns:
        `path`.
    """
    if not history:
        raise ValueError("`history` is empty: no epoch to plot.")
    plt = pyplot()
    epochs = [int(row.get("epoch", i)) + 1 for i, row in enumerate(history)]
    panels = [("loss", "loss"), ("accuracy", "accuracy")]
    has_lr = any("learning_rate" in row for row in history)
    fig, axes = plt.subplots(1, 2 + has_lr, figsize=(4.2 * (2 + has_lr), 3.4))
    for ax, (key, name) in zip(axes, panels):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            values = [row.get(prefix + key) for row in history]
            if any(v is not None for v in values):
                xs = [e for e, v in zip(epochs, values) if v is not None]
                ax.plot(xs, [v for v in values if v is not None], style, ms=3,
                        label="validation" if prefix else "training")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if has_lr:
        axes[-1].plot(epochs, [row.get("learning_rate", np.nan) for row in history], "-o", ms=3)
        axes[-1].set_xlabel("epoch")
        axes[-1].set_ylabel("learning rate")
        axes[-1].grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def confusion_matrix_plot(confusion, labels, path, title=None):
    """A confusion matrix (rows: true label, columns: predicted), coloured by row share, counts written in.

    Args:
        confusion: `[n, n]` ints (list or array).
        labels: n label names.
        path: str. Output .png file.
        title: str or None. The overall accuracy is appended.

    Returns:
        `path`.
    """
    confusion = np.asarray(confusion, dtype=np.int64)
    n = len(labels)
    if confusion.shape != (n, n):
        raise ValueError(
            f"`confusion` must be [len(labels), len(labels)]. Received: confusion.shape={confusion.shape}, {n} labels"
        )
    plt = pyplot()
    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    size = max(4.0, 0.5 * n + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true label")
    ax.set_xticks(range(n), labels, rotation=60 if max(map(len, map(str, labels))) > 3 else 0, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7 if n > 15 else 8,
                        color="white" if share[i, j] > 0.5 else "black")
    total = confusion.sum()
    accuracy = f"accuracy {np.trace(confusion) / total:.1%} of {total}" if total else "no examples"
    ax.set_title(f"{title}\n{accuracy}" if title else accuracy, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def confusion_from_dataset(model, dataset, num_classes):
    """`[n, n]` confusion matrix of a Keras `model` on a dataset of `(x, label)` (int or one-hot labels)."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for x, y in dataset:
        y = np.asarray(y)
        if y.ndim == 2:
            y = y.argmax(axis=-1)
        pred = np.asarray(model.predict_on_batch(x)).argmax(axis=-1)
        np.add.at(confusion, (y.astype(np.int64), pred), 1)
    return confusion


def plot_run(run_dir, history, labels, model=None, test_ds=None):
    """The pictures of a training run: `training_curves.png`, and with `model` and `test_ds`
    `confusion_matrix.png` (on the test split) in `run_dir`.

    Without matplotlib this prints why and writes nothing (a finished training never fails
    for a picture). Returns the list of files written.
    """
    try:
        pyplot()
    except ImportError as e:
        print(f"No plots written: {e}", flush=True)
        return []
    written = []
    name = os.path.basename(os.path.abspath(run_dir))
    if history:
        written.append(training_curves_plot(history, os.path.join(run_dir, CURVES_FILE), title=name))
    if model is not None and test_ds is not None:
        confusion = confusion_from_dataset(model, test_ds, len(labels))
        written.append(confusion_matrix_plot(confusion, labels, os.path.join(run_dir, CONFUSION_FILE),
                                             title=f"{name}: test split"))
    return written
