"""Training: strategies, mixed precision, augmentation wiring, callbacks, and the fit loop of `tfaudio train`."""

from tfaudio.training.losses import accuracy_metric, classification_loss
from tfaudio.training.mixup import mix_up, mixup_dataset
from tfaudio.training.schedules import WarmupCosine
from tfaudio.training.strategy import get_strategy, global_batch_size, set_mixed_precision, shard_options
from tfaudio.training.trainer import TrainConfig, train, training_model

__all__ = [
    "TrainConfig",
    "WarmupCosine",
    "accuracy_metric",
    "classification_loss",
    "get_strategy",
    "global_batch_size",
    "mix_up",
    "mixup_dataset",
    "set_mixed_precision",
    "shard_options",
    "train",
    "training_model",
]
