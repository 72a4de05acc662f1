"""Training: the fit loop of `tfaudio train` (`train`, `TrainConfig`), in parts.

- `config`: `TrainConfig`, every option of a run.
- `data`: the run's datasets (data spec, mixup, sharding, prefetch).
- `model_wrapping`: augmentations and float32 frontends around the model (`training_model`).
- `optimizers`, `schedules`, `losses`, `mixup`, `callbacks`, `batch_norm` (precise BN).
- `strategy` (tf.distribute) and `multi_worker_patch` (Keras 3 under MultiWorkerMirroredStrategy).
- `run_folder`: the files a run writes (read by the CLI; no TensorFlow).
- `trainer`: `train`, the fit stages.

Names load on first use, so `tfaudio.training.run_folder` imports no TensorFlow.
"""

import importlib

_NAMES = {
    "TrainConfig": "tfaudio.training.config",
    "WarmupCosine": "tfaudio.training.schedules",
    "accuracy_metric": "tfaudio.training.losses",
    "classification_loss": "tfaudio.training.losses",
    "get_strategy": "tfaudio.training.strategy",
    "global_batch_size": "tfaudio.training.strategy",
    "mix_up": "tfaudio.training.mixup",
    "mixup_dataset": "tfaudio.training.mixup",
    "reestimate_batch_norm": "tfaudio.training.batch_norm",
    "set_mixed_precision": "tfaudio.training.strategy",
    "shard_options": "tfaudio.training.strategy",
    "train": "tfaudio.training.trainer",
    "training_model": "tfaudio.training.model_wrapping",
}


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'tfaudio.training' has no attribute {name!r}")


__all__ = sorted(_NAMES)
