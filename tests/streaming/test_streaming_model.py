"""StreamingModel: one hop per call equals the non-streaming model on the window ending at every hop."""

import numpy as np
import pytest

from tests.streaming.models import SAMPLE_RATE, ds_cnn_like, frontend, sliding_windows, stream_logits
from tfaudio.backend import keras
from tfaudio.layers import LogMelSpectrogram, PeakNormalization
from tfaudio.streaming import StreamingError, StreamingModel

# float32 sums of a few thousand terms in a different order (one frame vs a whole window): ~1e-7
# relative; 1e-5 is the bound.
ATOL = 1e-5


def _keras_step(stream):
    states = [stream.initial_states()]

    def step(hop):
        logits, states[0] = stream.step(hop, states[0])
        return logits[0]

    return step


@pytest.mark.parametrize("frame_step,frames_per_hop", [(320, 1), (160, 2)], ids=["20ms_hop_1_frame", "20ms_hop_2_frames"])
def test_equals_non_streaming_on_every_window(recording, frame_step, frames_per_hop):
    # Time stride 2, a dilated depthwise conv, a time-cropped residual, average pooling with a dropped
    # trailing frame, global pooling: every streaming rule on real speech.
    model = ds_cnn_like(frame_step=frame_step)
    stream = StreamingModel(model, frames_per_hop=frames_per_hop)
    assert stream.exact and stream.hop_samples == 320
    logits = stream_logits(_keras_step(stream), stream.hop_samples, recording)
    hops, windows = sliding_windows(stream, recording)
    expected = model.predict(windows, verbose=0)
    assert len(hops) > 100
    np.testing.assert_allclose(logits[hops], expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("frames_per_hop", [4, 8])
def test_one_phase_equals_non_streaming_on_every_hop(recording, frames_per_hop):
    # all_phases=False: after conv0's and pool's time strides (time_stride 4) each layer computes only
    # the frames the hop's window reads, so 4 (or 8) frames per call and buffers without the phases.
    model = ds_cnn_like()
    stream = StreamingModel(model, frames_per_hop=frames_per_hop, all_phases=False)
    assert stream.exact and stream.time_stride == 4 and stream.hop_samples == 320 * frames_per_hop
    logits = stream_logits(_keras_step(stream), stream.hop_samples, recording)
    hops, windows = sliding_windows(stream, recording)
    assert len(hops) > 10
    np.testing.assert_allclose(logits[hops], model.predict(windows, verbose=0), atol=ATOL, rtol=0)
    every_phase = dict(StreamingModel(model).state_specs)
    one_phase = dict(stream.state_specs)
    # dw1 (3 taps dilated 2, after stride 2): 9 frames with every phase, 4 of one phase.
    assert every_phase["dw1"][0] == 9 and one_phase["dw1"][0] == 4


def test_one_phase_needs_frames_per_hop_a_multiple_of_the_stride():
    with pytest.raises(StreamingError, match="'pool'.*multiple of 4.*frames_per_hop=2"):
        StreamingModel(ds_cnn_like(), frames_per_hop=2, all_phases=False)
    with pytest.raises(ValueError, match="all_phases"):
        StreamingModel(ds_cnn_like(), all_phases="no")


def test_state_specs_and_lookahead():
    stream = StreamingModel(ds_cnn_like())
    names = [name for name, _ in stream.state_specs]
    assert names[0] == "log_mel" and stream.state_specs[0][1] == (512 - 320,)
    # 1 + (16000 - 512) // 320 = 49 frames; the last ends 128 samples before the window's end.
    assert stream.lookahead_samples == 16000 - (512 + 48 * 320) == 128
    # conv0 (kernel 5 in time) keeps 4 frames; pool (2 frames, stride 2, 17 input frames: one dropped, spacing 2)
    # 4, and 1 more so that its taps 2 frames apart are gathered by a reshape (streaming_model._taps).
    assert dict(stream.state_specs)["conv0"] == (4, 44, 1)
    assert dict(stream.state_specs)["pool"][0] == 5


def test_reset_gives_the_same_stream(recording):
    stream = StreamingModel(ds_cnn_like())
    step = _keras_step(stream)
    first = stream_logits(step, stream.hop_samples, recording[:20000])
    again = stream_logits(_keras_step(stream), stream.hop_samples, recording[:20000])
    np.testing.assert_array_equal(first, again)


def _kws(name, **kw):
    from tfaudio.models import build

    model = build(name, 12, **{"time_padding": "causal", "input_norm": None, **kw})
    rng = np.random.default_rng(0)
    for layer in model.layers:  # batch-norm statistics of a trained model, not the identity
        if hasattr(layer, "moving_variance"):
            shape = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(size=shape).astype("float32") * 0.2)
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=shape).astype("float32"))
    feature_norm = model.get_layer("feature_norm")
    feature_norm.moving_mean.assign(np.full(feature_norm.moving_mean.shape, -8.0, "float32"))
    feature_norm.moving_variance.assign(np.full(feature_norm.moving_variance.shape, 9.0, "float32"))
    return model


@pytest.mark.slow
@pytest.mark.parametrize("name,kw", [("ds_cnn", {"size": "s"}), ("bc_resnet", {"width": 1})])
def test_causal_kws_models_equal_non_streaming_on_the_first_window(word_clips, name, kw):
    # Causal time padding: the ring buffers start as the non-streaming model's zero padding, so a
    # stream primed with a window's first samples reproduces that window exactly (kws_streaming's
    # equivalence); on later windows the buffers hold the real past instead of zeros.
    model = _kws(name, **kw)
    stream = StreamingModel(model)
    assert not stream.exact and stream.causal_layers
    clips = word_clips[:4]
    states = stream.initial_states(len(clips), prime=clips[:, : stream.prime_samples])
    start, hop = stream.prime_samples, stream.hop_samples
    for k in range((stream.window_samples - stream.lookahead_samples - start) // hop):
        logits, states = stream.step(clips[:, start + k * hop : start + (k + 1) * hop], states)
    np.testing.assert_allclose(logits, model.predict(clips, verbose=0), atol=ATOL, rtol=0)


def test_valid_undilated_bc_resnet_equals_non_streaming_on_every_window(recording):
    # The streamable BC-ResNet (benchmarks/streaming.py): no time padding, no dilation, 20 ms frames, so
    # its 33-frame receptive field fits the 49-frame window; every one of its 12 blocks' rules on real speech.
    model = _kws("bc_resnet", width=1, time_padding="valid", time_dilations=[1, 1, 1, 1], frame_step_seconds=0.02)
    stream = StreamingModel(model)
    assert stream.exact and stream.hop_samples == 320
    audio = recording[: 2 * SAMPLE_RATE]
    logits = stream_logits(_keras_step(stream), stream.hop_samples, audio)
    hops, windows = sliding_windows(stream, audio)
    assert len(hops) > 40
    np.testing.assert_allclose(logits[hops], model.predict(windows, verbose=0), atol=ATOL, rtol=0)


def _wrap(*layers, frontend_layer=None):
    inputs = keras.Input((SAMPLE_RATE,))
    x = inputs
    for layer in layers[:1]:
        x = layer(x)
    x = (frontend_layer or frontend())(x)
    x = keras.layers.Reshape((x.shape[1], x.shape[2], 1))(x)
    for layer in layers[1:]:
        x = layer(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: _wrap(PeakNormalization(name="peak")), "'peak' \\(PeakNormalization\\).*own peak"),
        (lambda: _wrap(keras.layers.Identity(), frontend_layer=LogMelSpectrogram(center=False)), "top_db"),
        (lambda: _wrap(keras.layers.Identity(), frontend_layer=LogMelSpectrogram(top_db=None)), "center=True"),
        (lambda: _wrap(keras.layers.Identity(), keras.layers.Conv2D(4, 3, padding="same", name="c")), "'c'.*padding='same'"),
        (lambda: _wrap(keras.layers.Identity(), keras.layers.ZeroPadding2D(((0, 2), (0, 0)), name="z")), "'z'.*future"),
        (lambda: _wrap(keras.layers.Identity(), keras.layers.Resizing(50, 50, name="r")), "'r'.*resamples"),
    ],
    ids=["peak_normalization", "top_db", "center", "same_padding", "future_padding", "resizing"],
)
def test_layers_that_cannot_stream_are_named_with_the_reason(build, match):
    with pytest.raises(StreamingError, match=match):
        StreamingModel(build())


def test_per_window_value_times_frames_is_refused():
    # Squeeze-and-excitation over time: every frame is scaled by a value of the whole window.
    inputs = keras.Input((SAMPLE_RATE,))
    x = keras.layers.Reshape((49, 40, 1))(frontend()(inputs))
    gate = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = keras.layers.Multiply(name="excite")([x, gate])
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    with pytest.raises(StreamingError, match="'excite'.*per-window value"):
        StreamingModel(model)


def test_unknown_layers_are_refused_until_registered(recording):
    from tfaudio.streaming import register_framewise

    class Square(keras.layers.Layer):
        def call(self, x):
            return x * x

    def build():
        inputs = keras.Input((SAMPLE_RATE,))
        x = Square(name="square")(frontend()(inputs))
        return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(x)))

    with pytest.raises(StreamingError, match="'square'.*register_framewise"):
        StreamingModel(build())
    register_framewise(Square)
    model = build()
    stream = StreamingModel(model)
    logits = stream_logits(_keras_step(stream), stream.hop_samples, recording[:24000])
    hops, windows = sliding_windows(stream, recording[:24000])
    # Squared log-mels make logits of ~1e4 from sums of terms of that size: float32 rounding leaves ~1e-3
    # absolute on the small logits (measured 1.9e-3 on one of 50 in one run), so 1e-2 absolute.
    np.testing.assert_allclose(logits[hops], model.predict(windows, verbose=0), rtol=1e-5, atol=1e-2)


def test_spectrogram_cnns_cannot_stream():
    from tfaudio.models import build

    model = build("squeezenet", 3, width_multiplier=0.25)
    with pytest.raises(StreamingError, match="PeakNormalization"):
        StreamingModel(model)
    with pytest.raises(StreamingError, match="center=True"):
        StreamingModel(build("squeezenet", 3, width_multiplier=0.25, input_norm=None))
