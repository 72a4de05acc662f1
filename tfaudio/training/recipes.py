"""Named training recipes: sets of `TrainConfig` fields that `tfaudio train --recipe NAME` starts from."""

# Keyword spotting, as the TensorFlow speech_commands training and the KWS papers train (TF's
# train.py: background noise at frequency 0.8 and volume up to 0.1, time shift +-100 ms; SpecAugment
# and label smoothing as in BC-ResNet / kws_streaming), with a cosine learning-rate decay.
# What each part is worth on a speaker-disjoint fold: `python benchmarks/kws.py --ablation bc_resnet_1`
# (not measured yet on this machine; see benchmarks/results/kws.md for what was).
KWS = {
    "schedule": "cosine",
    "learning_rate": 3e-3,
    "warmup_epochs": 1.0,
    "time_shift_seconds": 0.1,
    "background_noise": "auto",  # the data's own noise when it has some (speech_commands), else none
    "background_frequency": 0.8,
    "background_volume": 0.1,
    "spec_augment": True,
    "freq_mask_param": 5,
    "num_freq_masks": 2,
    "time_mask_seconds": 0.1,
    "num_time_masks": 2,
    "label_smoothing": 0.1,
}

RECIPES = {"none": {}, "kws": KWS}


def recipe_fields(name):
    """The `TrainConfig` fields of recipe `name` ("none" or "kws"), as a new dict."""
    if name not in RECIPES:
        raise ValueError(f"Unknown recipe. Expected one of {sorted(RECIPES)}. Received: recipe={name!r}")
    return dict(RECIPES[name])
