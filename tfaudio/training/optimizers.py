"""The optimizer of a training stage: Adam, AdamW or SGD, with a constant or warm-up cosine schedule."""

from tfaudio.backend import keras
from tfaudio.training.schedules import WarmupCosine


def make_optimizer(config, learning_rate, total_steps, warmup_steps):
    if config.schedule == "cosine":
        learning_rate = WarmupCosine(learning_rate, max(total_steps, 1), min(warmup_steps, total_steps), config.min_learning_rate)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay or 1e-4)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate)
