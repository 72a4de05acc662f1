"""BC-ResNet: parameter counts against the paper, structure, round trips, TFLite float and int8, causal padding."""

import numpy as np
import pytest

from tests.models import _kws
from tfaudio.models import available, build
from tfaudio.models.bc_resnet import PAPER_PARAMS, BCResNet, channels

pytestmark = pytest.mark.usefixtures("fixed_seed")

# The input batch norm over the 40 mel bands (scale and offset): not in the reference network.
_FEATURE_NORM = 2 * 40


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def reference_params(width, num_classes=12):
    """Parameters of the authors' BCResNets(int(8 * width)), counted from its layer list (torch counts
    conv weights, BN and SubSpectralNorm affine weights, the final 1x1 conv's bias)."""
    c = channels(width)
    total = 25 * c[0] + 2 * c[0]  # head 5x5 conv (1 -> c0), BN
    previous = c[0]
    for stage, blocks in enumerate((2, 2, 4, 4)):
        out = c[stage + 1]
        for _ in range(blocks):
            if previous != out:
                total += previous * out + 2 * out  # transition 1x1 conv, BN
            total += 3 * out + 2 * 5 * out  # frequency depthwise 3x1, SubSpectralNorm(out, 5)
            total += 3 * out + 2 * out + out * out  # temporal depthwise 1x3, BN, pointwise
            previous = out
    total += 25 * c[-2] + c[-2] * c[-1] + 2 * c[-1]  # classifier depthwise 5x5, pointwise, BN
    return total + c[-1] * num_classes + num_classes  # 1x1 conv to the logits, with bias


def test_registered():
    assert "bc_resnet" in available()
    assert isinstance(build("bc_resnet", 12), BCResNet)


@pytest.mark.parametrize("width", [1, 1.5, 2, 3, 6, 8])
def test_parameters_match_the_reference_and_the_paper(width):
    model = build("bc_resnet", 12, width=width)
    assert trainable(model) == reference_params(width) + _FEATURE_NORM
    if width in PAPER_PARAMS:
        # Table 1 of the paper gives 3 significant digits (9.2K, 27.3K, 54.2K, 188K, 321K).
        assert abs(reference_params(width) - PAPER_PARAMS[width]) <= 0.005 * PAPER_PARAMS[width]


def test_structure_halves_frequency_and_broadcasts():
    model = build("bc_resnet", 12, width=1)
    assert model.get_layer("head_conv").output.shape[1:] == (101, 20, 16)
    assert model.get_layer("stage2_block1_ssn").output.shape[1:] == (101, 10, 12)
    assert model.get_layer("stage3_block1_ssn").output.shape[1:] == (101, 5, 16)
    # The temporal branch runs on one frequency row and is broadcast back over the five.
    assert model.get_layer("stage3_block2_pwconv").output.shape[1:] == (101, 1, 16)
    assert model.get_layer("stage3_block2_add").output.shape[1:] == (101, 5, 16)
    assert model.get_layer("stage4_block1_time_dwconv").dilation_rate == (8, 1)
    assert model.get_layer("classifier_dwconv").output.shape[1:] == (101, 1, 20)


def test_round_trip():
    x = _kws.speech_commands_clips()
    _kws.check_kws_model(build("bc_resnet", 12, width=1), x)  # saving and TFLite: tests/models/test_model_harness.py


def test_causal_time_padding_sees_no_future_samples():
    x = _kws.speech_commands_clips()[:4]
    # No time stride: output frame t reads frontend frames <= t, so t <= 71 are untouched.
    _kws.check_causal(lambda **kw: build("bc_resnet", 12, width=1, **kw), x, untouched=72)


def test_valid_time_padding_needs_more_than_the_receptive_field():
    with pytest.raises(ValueError, match="116 frames"):
        build("bc_resnet", 12, time_padding="valid")
    model = build("bc_resnet", 12, clip_seconds=1.5, time_padding="valid")
    # 1.5 s: 1 + (24000 - 512) // 160 = 147 frames, minus 116 consumed by the unpadded time convolutions.
    assert model.get_layer("avg_pool").input.shape[1] == 147 - 116
    # Undilated at a 20 ms hop: 1 + (16000 - 512) // 320 = 49 frames, minus 4 + 2 * 12 + 4 = 32.
    model = build("bc_resnet", 12, time_padding="valid", time_dilations=[1, 1, 1, 1], frame_step_seconds=0.02)
    assert model.get_layer("avg_pool").input.shape[1] == 49 - 32
    assert model.get_layer("stage4_block1_time_dwconv").dilation_rate == (1, 1)
    assert model.get_config()["time_dilations"] == [1, 1, 1, 1]


def test_bad_arguments():
    for kwargs, name in [
        (dict(width=0.5), "width"),
        (dict(width=True), "width"),
        (dict(num_mel_bins=32), "num_mel_bins"),
        (dict(time_padding="full"), "time_padding"),
        (dict(dropout=-0.1), "dropout"),
        (dict(time_dilations=[1, 2]), "time_dilations"),
        (dict(time_dilations=[1, 2, 0, 8]), "time_dilations"),
    ]:
        with pytest.raises(ValueError, match=f"Received: {name}="):
            build("bc_resnet", 12, **kwargs)
