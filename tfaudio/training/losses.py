"""Losses and metrics for integer labels and for the soft labels that mixup produces."""

from tfaudio.backend import keras


def classification_loss(soft_labels=False, label_smoothing=0.0):
    """Cross-entropy on logits.

    Args:
        soft_labels: bool. True when labels are probability vectors `[batch,
            classes]` (mixup, label smoothing): `CategoricalCrossentropy`, which is
            the expected cross-entropy under the mixed target `lam * y_i + (1 -
            lam) * y_j` (Zhang et al. 2018). False for integer labels `[batch]`:
            `SparseCategoricalCrossentropy`.
        label_smoothing: float. Only with `soft_labels`.
    """
    if soft_labels:
        return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    if label_smoothing:
        raise ValueError(
            f"`label_smoothing` needs `soft_labels=True`. Received: label_smoothing={label_smoothing!r}"
        )
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def accuracy_metric(soft_labels=False):
    """Top-1 accuracy matching `classification_loss(soft_labels)`'s label format."""
    if soft_labels:
        return keras.metrics.CategoricalAccuracy(name="accuracy")
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
