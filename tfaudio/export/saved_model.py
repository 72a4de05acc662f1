"""SavedModel export with a serving signature for TensorFlow Serving."""

import os

import tensorflow as tf

from tfaudio.atomic import atomic_path


class _ServingModule(tf.Module):
    def __init__(self, model, labels):
        super().__init__(name="tfaudio_serving")
        self.model = model
        self.labels = tf.constant([str(label) for label in labels], dtype=tf.string)
        self.samples = int(model.inputs[0].shape[1])
        samples = self.samples
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None, samples], tf.float32, name="waveform")],
        )

    def _serve(self, waveform):
        checks = [
            tf.debugging.assert_equal(
                tf.shape(waveform)[1],
                self.samples,
                message=f"`waveform` must be float32 [batch, {self.samples}] (clips of the model's length)",
            ),
            tf.debugging.assert_all_finite(waveform, "`waveform` contains NaN or Inf"),
        ]
        # The checks must run before the model, whose own shape errors are cryptic.
        with tf.control_dependencies(checks):
            waveform = tf.identity(waveform)
        logits = tf.cast(self.model(waveform, training=False), tf.float32)
        class_ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "class_ids": class_ids,
            "labels": tf.gather(self.labels, class_ids),
        }


def to_saved_model(model, export_dir, version=1, labels=None):
    """Writes `export_dir/<version>/` in the layout TensorFlow Serving loads.

    The `serving_default` signature takes `waveform` float32 `[batch, samples]`
    and returns `logits`, `probabilities`, `class_ids` and `labels` (strings).
    TensorFlow Serving rejects requests of another dtype or number of samples
    against this signature before they reach the model.

    Args:
        model: keras.Model with one waveform input and logits output.
        export_dir: str. The model's folder in the serving model base path.
        version: int. Version sub-folder. Defaults to 1.
        labels: list of str or None. Class names; defaults to "0".."N-1".

    Returns:
        The path of the version folder.
    """
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int. Received: version={version!r}")
    num_classes = model.outputs[0].shape[-1]
    if labels is None:
        labels = [str(i) for i in range(num_classes)]
    if len(labels) != num_classes:
        raise ValueError(
            f"`labels` must have one name per output class ({num_classes}). Received: {len(labels)} labels"
        )
    path = os.path.join(str(export_dir), str(version))
    module = _ServingModule(model, labels)
    with atomic_path(path) as tmp:  # a killed export never leaves a half-written version folder
        tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve})
    return path
