"""Inputs and the shared checks for the image backbone tests (AlexNet, SqueezeNet)."""

import numpy as np

from tests.harness import check_batch_invariance, check_config_round_trip, check_keras_round_trip, check_tflite


def spectrogram_images(shape, batch=4, seed=0):
    """`batch` images of `shape` (height, width, channels) with roughly unit-normal values, as
    standardised log-mel spectrograms have: float32 [batch, *shape]."""
    return np.random.default_rng(seed).normal(size=(batch, *shape)).astype(np.float32)


def check_image_backbone(backbone, images, tmp_path):
    """Batch invariance, config and `.keras` round trips, float and int8 builtin-only TFLite."""
    check_batch_invariance(backbone, images)
    check_config_round_trip(backbone, images)
    check_keras_round_trip(backbone, images, tmp_path)
    check_tflite(backbone, images, tmp_path, atol=1e-4)  # float32 kernels only differ; features are O(1)
    check_tflite(backbone, images, tmp_path, quantize="int8", representative_data=images)
