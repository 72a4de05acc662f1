"""Small streamable models for the streaming tests: a DS-CNN-like and a residual one, built from standard layers."""

from tfaudio.backend import keras
from tfaudio.layers.log_mel_spectrogram import LogMelSpectrogram

SAMPLE_RATE = 16000


def frontend(frame_step=320):
    return LogMelSpectrogram(
        sample_rate=SAMPLE_RATE,
        fft_length=512,
        frame_length=480,
        frame_step=frame_step,
        num_mel_bins=40,
        center=False,
        top_db=None,
        name="log_mel",
    )


def ds_cnn_like(num_classes=12, frame_step=320, seed=0, dilation=2):
    """Log-mel -> BN -> Conv2D (time stride 2) -> 2 depthwise-separable blocks (the first dilated `dilation`
    in time, one residual with a time crop) -> average pooling in time -> global average pooling -> Dense."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SAMPLE_RATE,), name="waveform")
    x = frontend(frame_step)(inputs)
    x = keras.layers.BatchNormalization(name="bn0")(x)
    frames, bins = x.shape[1], x.shape[2]
    x = keras.layers.Reshape((frames, bins, 1), name="to_image")(x)
    x = keras.layers.ZeroPadding2D(((0, 0), (2, 2)), name="pad0")(x)
    x = keras.layers.Conv2D(16, (5, 5), strides=(2, 2), name="conv0")(x)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.ZeroPadding2D(((0, 0), (1, 1)), name="pad1")(x)
    x = keras.layers.DepthwiseConv2D((3, 3), dilation_rate=(dilation, 1), name="dw1")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Activation("relu", name="relu2")(x)
    x = keras.layers.Conv2D(16, 1, name="pw1")(x)
    skip = keras.layers.Cropping2D(((2, 0), (0, 0)), name="crop")(x)  # dw2 consumes 2 frames
    y = keras.layers.ZeroPadding2D(((0, 0), (1, 1)), name="pad2")(x)
    y = keras.layers.DepthwiseConv2D((3, 3), name="dw2")(y)
    y = keras.layers.BatchNormalization(name="bn3")(y)
    y = keras.layers.ReLU(name="relu3")(y)
    y = keras.layers.Conv2D(16, 1, name="pw2")(y)
    x = keras.layers.Add(name="residual")([skip, y])
    x = keras.layers.AveragePooling2D((2, 2), name="pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.1, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    model = keras.Model(inputs, outputs, name="ds_cnn_like")
    # Non-trivial batch-norm statistics, as after training.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            rng = __import__("numpy").random.default_rng(len(layer.name))
            layer.moving_mean.assign(rng.normal(size=n).astype("float32") * (30 if layer.name == "bn0" else 0.3) - (50 if layer.name == "bn0" else 0))
            layer.moving_variance.assign(rng.uniform(0.5, 2, size=n).astype("float32") * (300 if layer.name == "bn0" else 1))
    return model


def sliding_windows(stream, audio):
    """(hop end times, windows [n, window_samples]) of every full window the stream's hops complete."""
    import numpy as np

    ends, windows = [], []
    for k in range(len(audio) // stream.hop_samples):
        end = (k + 1) * stream.hop_samples + stream.lookahead_samples
        if stream.window_samples <= end <= len(audio):
            ends.append(k)
            windows.append(audio[end - stream.window_samples : end])
    return np.array(ends), np.stack(windows)


def stream_logits(step, hop_samples, audio):
    """Logits after every hop of `audio` from `step(hop [1, hop_samples]) -> logits [classes]`."""
    import numpy as np

    return np.stack([step(audio[None, k * hop_samples : (k + 1) * hop_samples]) for k in range(len(audio) // hop_samples)])


def fit_readout(model, clips, labels):
    """Sets the final Dense layer to a ridge-regression readout of `labels` from the model's pooled features.

    Random convolutions plus a fitted readout give logits with real decision margins (as after
    training), which int8 agreement checks need, without a training run in the tests.
    """
    import numpy as np

    dense = model.layers[-1]
    features = keras.Model(model.inputs, dense.input).predict(clips, verbose=0)
    features = np.concatenate([features, np.ones((len(features), 1), features.dtype)], axis=1)
    targets = np.eye(int(dense.units))[labels] * 8.0 - 4.0
    gram = features.T @ features + 1e-2 * np.eye(features.shape[1])
    weights = np.linalg.solve(gram, features.T @ targets)
    dense.kernel.assign(weights[:-1].astype("float32"))
    dense.bias.assign(weights[-1].astype("float32"))
    return model
