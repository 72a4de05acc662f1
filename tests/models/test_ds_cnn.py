"""DS-CNN (Hello Edge): parameter counts against the paper, round trips, TFLite float and int8, causal padding."""

import numpy as np
import pytest

from tests.models import _kws
from tfaudio.backend import keras
from tfaudio.models import available, build
from tfaudio.models.ds_cnn import PAPER_MEMORY_KB, SIZES, DSCNN

pytestmark = pytest.mark.usefixtures("fixed_seed")


def folded_weights(model):
    """Conv and dense weights plus one bias per output channel: the parameters once batch norm is folded
    into the convolutions, as TFLite stores them (and as the paper counts them)."""
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            count += int(np.prod(layer.kernel.shape)) + int(np.prod(layer.kernel.shape[-2:]))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            count += int(np.prod(layer.kernel.shape)) + int(layer.kernel.shape[-1])
    return count


def paper_activation_bytes(size):
    """Largest in+out activation pair (8 bits) of the paper's 49 x 10 MFCC input, as its Table 7 counts memory."""
    (filters, _, (st, sf)), blocks = SIZES[size]
    t, f = -(-49 // st), -(-10 // sf)
    pairs = [49 * 10 + t * f * filters]
    for filters, _, (st, sf) in blocks:
        t2, f2 = -(-t // st), -(-f // sf)
        pairs.append(t * f * filters + t2 * f2 * filters)  # depthwise in -> out (the larger one)
        t, f = t2, f2
    return max(pairs)


def test_registered():
    assert "ds_cnn" in available()
    assert isinstance(build("ds_cnn", 12), DSCNN)


@pytest.mark.parametrize("size, weights", [("s", 22_604), ("m", 135_032), ("l", 410_700)])
def test_parameters_match_hello_edge_table_7(size, weights):
    model = build("ds_cnn", 12, size=size)
    assert folded_weights(model) == weights
    # Table 7's "Memory" (KB) is weights + the largest activation pair, one byte each: equal to the table's digits.
    assert round((weights + paper_activation_bytes(size)) / 1000, 1) == PAPER_MEMORY_KB[size]
    # Keras counts the batch norms' scale and offset separately (no conv bias), plus the input batch norm (2 x 40).
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    batch_norm_channels = sum(int(l.gamma.shape[0]) for l in model.layers if l.name.endswith("_bn"))
    assert trainable == weights - batch_norm_channels + 2 * batch_norm_channels + 80


def test_shapes_and_round_trip():
    x = _kws.speech_commands_clips()
    model = build("ds_cnn", 12)
    assert model.get_layer("to_image").output.shape[1:] == (101, 40, 1)
    _kws.check_kws_model(model, x)  # saving and TFLite: tests/models/test_model_harness.py


def test_causal_time_padding_sees_no_future_samples():
    x = _kws.speech_commands_clips()[:4]
    # Causal: output frame t reads frontend frames <= 2 t (conv_1 has stride 2 in time), so t <= 35 are untouched.
    _kws.check_causal(lambda **kw: build("ds_cnn", 12, **kw), x, untouched=36)


def test_valid_time_padding_pads_no_time():
    model = build("ds_cnn", 12, time_padding="valid")
    # 97 frames (not centred) -> conv_1 10 frames stride 2: 44 -> four 3-frame depthwise convs: 36.
    assert model.get_layer("avg_pool").input.shape[1] == 36
    x = _kws.speech_commands_clips()[:4]
    # Output frame t reads frontend frames 2 t .. 2 t + 9 + 2 * 8 = 2 t + 25: t <= 23 read only frames < 72.
    _kws.check_causal(lambda **kw: build("ds_cnn", 12, **kw), x, untouched=24, time_padding="valid")


def test_bad_arguments():
    for kwargs, name in [
        (dict(size="xl"), "size"),
        (dict(time_padding="full"), "time_padding"),
        (dict(input_norm="rms"), "input_norm"),
        (dict(dropout=1.0), "dropout"),
        (dict(frame_step_seconds=0.05), "frame_length_seconds"),
    ]:
        with pytest.raises(ValueError, match=f"Received: {name}="):
            build("ds_cnn", 12, **kwargs)
