"""Learning-rate schedules: linear warm-up followed by cosine decay."""

import math

import tensorflow as tf

from tfaudio.backend import keras, register_serializable


@register_serializable
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `learning_rate`, then cosine decay to `min_learning_rate`.

    `lr(step) = learning_rate * step / warmup_steps` for `step < warmup_steps`, then
    `min_lr + (lr - min_lr) * (1 + cos(pi * progress)) / 2` with
    `progress = (step - warmup_steps) / (total_steps - warmup_steps)` clipped to [0, 1]
    (Loshchilov & Hutter 2017 without restarts; Goyal et al. 2017 warm-up).

    Args:
        learning_rate: float. Peak learning rate.
        total_steps: int. Steps of the whole run (warm-up included).
        warmup_steps: int. Steps of linear warm-up. Defaults to 0.
        min_learning_rate: float. Final learning rate. Defaults to 0.0.

    Example:
    >>> schedule = WarmupCosine(1e-3, total_steps=1000, warmup_steps=100)
    >>> optimizer = keras.optimizers.Adam(schedule)
    """

    def __init__(self, learning_rate, total_steps, warmup_steps=0, min_learning_rate=0.0):
        if learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive. Received: learning_rate={learning_rate!r}")
        if total_steps < 1:
            raise ValueError(f"`total_steps` must be >= 1. Received: total_steps={total_steps!r}")
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"`warmup_steps` must be in [0, total_steps={total_steps}]. Received: warmup_steps={warmup_steps!r}"
            )
        if not 0 <= min_learning_rate <= learning_rate:
            raise ValueError(
                f"`min_learning_rate` must be in [0, learning_rate]. Received: min_learning_rate={min_learning_rate!r}"
            )
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.min_learning_rate = float(min_learning_rate)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        peak = tf.constant(self.learning_rate, tf.float32)
        warmup = peak * step / max(self.warmup_steps, 1)
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        progress = tf.clip_by_value((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        cosine = self.min_learning_rate + (peak - self.min_learning_rate) * 0.5 * (1.0 + tf.cos(math.pi * progress))
        return tf.where(step < self.warmup_steps, warmup, cosine)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "min_learning_rate": self.min_learning_rate,
        }
