"""KaldiFbank (AST features) vs transformers ASTFeatureExtractor on real FSDD clips; TFLite builtins."""

import numpy as np
import pytest

from tests import harness
from tfaudio.backend import keras
from tfaudio.models.ast.features import KaldiFbank, kaldi_preprocess_matrix
from tfaudio.ops.stft import builtin_ops_only


@pytest.fixture(scope="module")
def clips_16k(fsdd_clips):
    import soxr

    return [soxr.resample(clip, 8000, 16000).astype("float32") for clip in fsdd_clips]


def test_matches_ast_feature_extractor_on_fsdd(clips_16k):
    transformers = pytest.importorskip("transformers")
    max_length = 56  # jackson clips have 40..81 frames, so both padding and cropping run
    extractor = transformers.ASTFeatureExtractor(max_length=max_length)  # 128 bins, AudioSet mean/std
    layer = KaldiFbank(num_mel_bins=128, max_length=max_length, mean=extractor.mean, std=extractor.std)
    frames = [layer.num_frames(len(clip)) for clip in clips_16k]
    assert min(frames) < max_length < max(frames)
    for clip in clips_16k:
        # Without torchaudio, ASTFeatureExtractor runs its NumPy float64 Kaldi fbank (hann window,
        # pre-emphasis 0.97, DC removal, kaldi mel bank, log with eps floor): the reference here.
        expected = extractor(clip, sampling_rate=16000, return_tensors="np")["input_values"][0]
        got = layer(clip[None]).numpy()[0]
        # 1e-3 after normalisation (the bound); float32 DFT vs float64 gives ~5e-5.
        np.testing.assert_allclose(got, expected, atol=1e-3, rtol=0)


def test_povey_window_matches_transformers_spectrogram(clips_16k):
    audio_utils = pytest.importorskip("transformers.audio_utils")
    clip = clips_16k[0]
    bank = audio_utils.mel_filter_bank(
        num_frequency_bins=257, num_mel_filters=40, min_frequency=20, max_frequency=8000,
        sampling_rate=16000, norm=None, mel_scale="kaldi", triangularize_in_mel_space=True,
    )
    expected = audio_utils.spectrogram(
        clip, audio_utils.window_function(400, "povey", periodic=False), frame_length=400, hop_length=160,
        fft_length=512, power=2.0, center=False, preemphasis=0.97, mel_filters=bank, log_mel="log",
        mel_floor=1.192092955078125e-07, remove_dc_offset=True,
    ).T
    got = KaldiFbank(num_mel_bins=40, window="povey")(clip[None]).numpy()[0]
    assert got.shape == expected.shape
    # Reference: transformers' NumPy Kaldi spectrogram with Kaldi's default Povey window; raw log-mel, so 1e-2
    # (float32 vs float64 near the eps floor of quiet frames).
    np.testing.assert_allclose(got, expected, atol=1e-2, rtol=0)


def test_preprocess_matrix_is_dc_removal_then_preemphasis():
    x = np.random.default_rng(0).normal(size=(4, 400))
    y = x - x.mean(axis=1, keepdims=True)
    expected = np.concatenate([y[:, :1] * 0.03, y[:, 1:] - 0.97 * y[:, :-1]], axis=1)
    # Exact algebra in float64.
    np.testing.assert_allclose(x @ kaldi_preprocess_matrix(400, 0.97, True), expected, atol=1e-12)


def test_shapes_and_sample_rates():
    assert KaldiFbank()(np.zeros((2, 16000), "float32")).shape == (2, 98, 128)
    assert KaldiFbank(max_length=1024)(np.zeros((1, 16000), "float32")).shape == (1, 1024, 128)
    fbank_8k = KaldiFbank(sample_rate=8000, num_mel_bins=32)  # 200-sample frames, 80 hop, 256-point DFT
    assert fbank_8k(np.zeros((1, 8000), "float32")).shape == (1, 98, 32)
    assert fbank_8k.compute_output_shape((None, 8000)) == (None, 98, 32)


def test_bad_arguments():
    with pytest.raises(ValueError, match="window"):
        KaldiFbank(window="blackman")
    with pytest.raises(ValueError, match="mean"):
        KaldiFbank(mean=1.0)
    with pytest.raises(ValueError, match="max_length"):
        KaldiFbank(max_length=0)
    with pytest.raises(ValueError, match="num_mel_bins"):
        KaldiFbank(num_mel_bins=2)


def test_serialization_and_tflite(clips_16k, tmp_path):
    layer = KaldiFbank(num_mel_bins=64, max_length=100, mean=-4.27, std=4.57)
    waves = np.stack([np.pad(c, (0, 16000 - len(c)))[:16000] for c in clips_16k[:4]])
    harness.check_config_round_trip(layer, waves)
    inputs = keras.Input((16000,))
    model = keras.Model(inputs, layer(inputs))
    harness.check_keras_round_trip(model, waves, tmp_path)
    # Float32 both sides, DFT conv vs XNNPACK: normalised features agree within 1e-3.
    _, _, ops = harness.check_tflite(model, waves, tmp_path, atol=1e-3)
    assert {"CONV_2D", "LOG"} <= set(ops), ops


def test_gain_stages_and_floor_in_float(clips_16k):
    clip = clips_16k[1][None]
    with builtin_ops_only():  # gain stages exist on the export (DFT) path only
        plain = KaldiFbank(num_mel_bins=64, gain_stages=1)(clip).numpy()
        staged = KaldiFbank(num_mel_bins=64, gain_stages=3)(clip).numpy()
    # Clipped paths only lower energies, so the max-merge is the plain log-mel up to float32 rounding,
    # which reaches ~1.5e-4 (in log units) only in bins near the 1.2e-7 floor, where energies are ~1e-7.
    np.testing.assert_allclose(staged, plain, atol=3e-4, rtol=0)
    with builtin_ops_only():
        floored = KaldiFbank(num_mel_bins=64, mel_floor=1e-2)(clip).numpy()
    np.testing.assert_allclose(floored, np.maximum(plain, np.log(1e-2)), atol=1e-5, rtol=0)  # floor before log
    with pytest.raises(ValueError, match="gain_stages"):
        KaldiFbank(gain_stages=0)
    with pytest.raises(ValueError, match="mel_floor"):
        KaldiFbank(mel_floor=0.0)


@pytest.mark.parametrize("overrides", [{}, {"window": "povey", "preemphasis": 0.0}, {"remove_dc_offset": False}])
def test_fft_and_dft_paths_agree_on_real_clips(clips_16k, overrides):
    """Training runs on tf.signal.rfft, export on one DFT convolution: the same fbank within 1e-3 dB."""
    import tensorflow as tf

    layer = KaldiFbank(num_mel_bins=128, **overrides)
    waves = np.stack([np.pad(c, (0, 16000 - len(c)))[:16000] for c in clips_16k[:8]])
    fft = layer(waves).numpy()
    with builtin_ops_only():
        dft = layer(waves).numpy()
    to_db = 10.0 / np.log(10.0)  # the features are natural logs
    below_peak = (fft.max(axis=(1, 2), keepdims=True) - fft) * to_db
    # 1e-3 dB in every bin within 60 dB of its clip's peak (measured max ~2e-4 dB); quieter bins are
    # float32 sums of terms 1e4 times their result, where either path rounds to a few 1e-3 dB.
    near = below_peak < 60.0
    assert near.sum() > 0.3 * near.size  # the rest is mostly the zero padding, floored alike in both
    np.testing.assert_allclose(fft[near] * to_db, dft[near] * to_db, rtol=0, atol=1e-3)
    np.testing.assert_allclose(fft * to_db, dft * to_db, rtol=0, atol=1e-2)  # all bins: measured max ~5e-3 dB
    spec = tf.TensorSpec([None, 16000], tf.float32)
    assert "RFFT" in {op.type for op in tf.function(layer).get_concrete_function(spec).graph.get_operations()}
    with builtin_ops_only():
        graph = tf.function(layer).get_concrete_function(spec).graph
    assert "RFFT" not in {op.type for op in graph.get_operations()}
