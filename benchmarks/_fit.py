"""The training recipe of the transformer benchmarks (ast_bench.py, wav2vec2.py) on FSDD's training split."""

import time

import numpy as np

from tfaudio.backend import keras

FSDD_TRAIN_CLIPS = 2700  # the official split: every speaker's takes 5-49 of each digit


def fit_cosine(model, train, test, *, epochs, batch_size, learning_rate, max_warmup_steps, weight_decay):
    """Compiles `model` for logits and sparse labels and fits it on `train`, validating on `test`.

    AdamW; the learning rate warms up linearly from 0 to `learning_rate` over a tenth of the steps
    (at most `max_warmup_steps`), then follows a cosine decay down to 1% of it.
    Returns `(history, train_seconds)`.
    """
    steps = epochs * int(np.ceil(FSDD_TRAIN_CLIPS / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, alpha=0.01, warmup_target=learning_rate, warmup_steps=min(max_warmup_steps, steps // 10)
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(train, validation_data=test, epochs=epochs, verbose=2)
    return history, time.perf_counter() - start
