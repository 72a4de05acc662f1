"""AlexNet backbone (structure, LRN, conversion) and the `alexnet` spectrogram model end to end."""

import numpy as np
import pytest

from tests.harness import check_tflite
from tests.models._image_backbone import check_image_backbone, spectrogram_images
from tests.models.test_spectrogram_cnn import SMALL, check_spectrogram_model
from tfaudio.models.alexnet import MIN_INPUT_SIZE, AlexNetBackbone, LocalResponseNormalization

pytestmark = pytest.mark.usefixtures("fixed_seed")

IMAGE_SHAPE = (72, 68, 1)


def test_full_size_matches_paper_layout():
    backbone = AlexNetBackbone(image_shape=(227, 227, 3))
    names = [layer.name for layer in backbone.layers]
    convs = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]
    assert names == ["images", *convs, "flatten", "fc6", "drop6", "fc7"]
    assert tuple(backbone.get_layer("conv1").output.shape[1:]) == (55, 55, 96)
    assert tuple(backbone.get_layer("pool5").output.shape[1:]) == (6, 6, 256)
    # Single-tower AlexNet with fc8 (1000 classes) has 62,378,344 parameters:
    # the widely quoted count for the ungrouped 96-256-384-384-256 / 4096-4096-1000 network.
    assert backbone.count_params() + 4096 * 1000 + 1000 == 62_378_344


def test_small_backbone_round_trips_and_converts(tmp_path):
    x = spectrogram_images(IMAGE_SHAPE)
    backbone = AlexNetBackbone(image_shape=x.shape[1:], width_multiplier=0.125)
    assert tuple(backbone(x).shape) == (4, 512)
    check_image_backbone(backbone, x, tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: image_shape="):
        AlexNetBackbone(image_shape=(MIN_INPUT_SIZE - 1, 100, 1))
    with pytest.raises(ValueError, match="Received: image_shape="):
        AlexNetBackbone(image_shape=(100, 100))
    with pytest.raises(ValueError, match="Received: width_multiplier="):
        AlexNetBackbone(image_shape=(100, 100, 1), width_multiplier=0)
    with pytest.raises(ValueError, match="Received: dropout="):
        AlexNetBackbone(image_shape=(100, 100, 1), dropout=1.0)


def _lrn_reference(x, depth_radius, bias, alpha, beta):
    """AlexNet eq. (section 3.3) in NumPy: b_i = a_i / (k + alpha * sum_{j=i-r}^{i+r} a_j^2) ** beta."""
    squares = np.square(x)
    out = np.empty_like(x)
    channels = x.shape[-1]
    for i in range(channels):
        window = squares[..., max(0, i - depth_radius) : min(channels, i + depth_radius + 1)].sum(-1)
        out[..., i] = x[..., i] / (bias + alpha * window) ** beta
    return out


def test_local_response_normalization_matches_paper_formula(tmp_path):
    x = np.random.default_rng(1).normal(scale=20.0, size=(2, 5, 5, 12)).astype(np.float32)
    layer = LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    # float32 vs float64 power: 1e-5 relative on values of order 10.
    np.testing.assert_allclose(layer(x).numpy(), _lrn_reference(x.astype(np.float64), 2, 2.0, 1e-4, 0.75), rtol=1e-5)
    assert LocalResponseNormalization.from_config(layer.get_config()).get_config() == layer.get_config()

    backbone = AlexNetBackbone(image_shape=(72, 68, 1), width_multiplier=0.125, local_response_normalization=True)
    assert {"lrn1", "lrn2"} <= {layer.name for layer in backbone.layers}
    images = spectrogram_images(IMAGE_SHAPE)
    _, _, ops = check_tflite(backbone, images, tmp_path, atol=1e-4)  # float32 kernels only differ
    assert "LOCAL_RESPONSE_NORMALIZATION" in ops


def test_alexnet_model_end_to_end(fsdd_clips, tmp_path):
    # Width 1/8 keeps the 5 conv + 3 FC structure; the 32x32 spectrogram is resized to 67x67.
    model = check_spectrogram_model("alexnet", dict(SMALL, width_multiplier=0.125), fsdd_clips, tmp_path)
    assert tuple(model.backbone.inputs[0].shape[1:]) == (MIN_INPUT_SIZE, MIN_INPUT_SIZE, 1)
    assert "pool" not in [layer.name for layer in model.layers]  # AlexNet ends in fc7: no global pooling
