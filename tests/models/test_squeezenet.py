"""SqueezeNet 1.1 backbone (structure, conversion) and the `squeezenet` spectrogram model end to end."""

import pytest

from tests.models._image_backbone import check_image_backbone, spectrogram_images
from tests.models.test_spectrogram_cnn import SMALL, check_spectrogram_model
from tfaudio.models.squeezenet import MIN_INPUT_SIZE, SqueezeNetBackbone

pytestmark = pytest.mark.usefixtures("fixed_seed")

IMAGE_SHAPE = (40, 32, 1)


def test_full_size_matches_squeezenet_1_1():
    backbone = SqueezeNetBackbone(image_shape=(224, 224, 3))
    assert tuple(backbone.get_layer("conv1").output.shape[1:]) == (111, 111, 64)
    assert tuple(backbone.output.shape[1:]) == (13, 13, 512)
    fire = {name: backbone.get_layer(f"{name}_concat").output.shape[-1] for name in ("fire2", "fire4", "fire6")}
    assert fire == {"fire2": 128, "fire4": 256, "fire6": 384}
    # SqueezeNet 1.1 with conv10 (1000 classes) has 1,235,496 parameters
    # (torchvision's squeezenet1_1 and the reference Caffe model agree on this count).
    assert backbone.count_params() + 512 * 1000 + 1000 == 1_235_496


def test_fire_module_splits_expand_evenly():
    backbone = SqueezeNetBackbone(image_shape=(64, 64, 1), width_multiplier=0.5)
    assert backbone.get_layer("fire3_squeeze1x1").kernel.shape == (1, 1, 64, 8)
    assert backbone.get_layer("fire3_expand1x1").kernel.shape == (1, 1, 8, 32)
    assert backbone.get_layer("fire3_expand3x3").kernel.shape == (3, 3, 8, 32)


def test_small_backbone_round_trips_and_converts(tmp_path):
    x = spectrogram_images(IMAGE_SHAPE)
    backbone = SqueezeNetBackbone(image_shape=x.shape[1:], width_multiplier=0.25)
    assert tuple(backbone(x).shape) == (4, 1, 1, 128)
    check_image_backbone(backbone, x, tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: image_shape="):
        SqueezeNetBackbone(image_shape=(MIN_INPUT_SIZE - 1, 64, 1))
    with pytest.raises(ValueError, match="Received: width_multiplier="):
        SqueezeNetBackbone(image_shape=(64, 64, 1), width_multiplier=-1.0)


def test_squeezenet_model_end_to_end(fsdd_clips, tmp_path):
    # Width 1/4 keeps conv1, the three pools and Fire modules 2-9 on a 32x32 spectrogram.
    model = check_spectrogram_model("squeezenet", dict(SMALL, width_multiplier=0.25), fsdd_clips, tmp_path)
    assert tuple(model.backbone.inputs[0].shape[1:]) == (32, 32, 1)
