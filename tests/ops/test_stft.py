"""STFT ops (framing, DFT kernels, power spectrogram) vs NumPy/librosa, and their TFLite conversion."""

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import tensorflow as tf

from tests.harness import check_tflite
from tfaudio.backend import keras
from tfaudio.ops import stft


@pytest.fixture(scope="module")
def clip(fsdd):
    audio, _ = sf.read(fsdd / "recordings" / "6_jackson_0.wav", dtype="float32")
    return audio


@pytest.mark.parametrize("name", ["hann", "hamming"])
@pytest.mark.parametrize("periodic", [True, False])
def test_window_matches_scipy(name, periodic):
    ref = scipy.signal.get_window(name, 400, fftbins=periodic)
    # Same float64 cosine formula.
    np.testing.assert_allclose(stft.window(name, 400, periodic=periodic), ref, rtol=0, atol=1e-12)


def test_povey_window_matches_transformers():
    from transformers.audio_utils import window_function

    ref = window_function(400, "povey", periodic=False)
    np.testing.assert_allclose(stft.window("povey", 400), ref, rtol=0, atol=1e-12)  # same formula, float64


@pytest.mark.parametrize("fft_length, frame_length", [(512, None), (256, 200), (255, 101)])
def test_dft_matrices_match_numpy_rfft(fft_length, frame_length):
    rng = np.random.default_rng(0)
    width = frame_length or fft_length
    frames = rng.standard_normal((5, width))
    real, imag = stft.dft_matrices(fft_length, frame_length)
    # librosa centres a short window inside the fft_length frame.
    left = (fft_length - width) // 2
    padded = np.zeros((5, fft_length))
    padded[:, left : left + width] = frames * stft.window("hann", width)
    ref = np.fft.rfft(padded, axis=-1)
    # float64 both sides; 1e-9 relative to the largest bin is rounding over <= 512 terms.
    scale = np.abs(ref).max()
    np.testing.assert_allclose(frames @ real, ref.real, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(frames @ imag, ref.imag, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize("fft_length", [256, 255])
def test_power_fold_matrix_sums_real_and_imaginary_squares(fft_length):
    rng = np.random.default_rng(1)
    frames = rng.standard_normal((3, fft_length))
    kernel = stft.dft_kernel(fft_length)[:, 0, :]
    ref = np.abs(np.fft.rfft(frames * stft.window("hann", fft_length), axis=-1)) ** 2
    np.testing.assert_allclose((frames @ kernel) ** 2 @ stft.power_fold_matrix(fft_length), ref, rtol=1e-10)


@pytest.mark.parametrize(
    "fft_length, frame_length, frame_step, center, pad_mode",
    [
        (512, None, 160, True, "constant"),
        (256, 200, 80, True, "reflect"),
        (511, 300, 100, False, "constant"),
        (255, 255, 64, True, "reflect"),
    ],
)
def test_power_spectrogram_matches_librosa(clip, fft_length, frame_length, frame_step, center, pad_mode):
    ref = np.abs(
        librosa.stft(
            clip.astype(np.float64), n_fft=fft_length, hop_length=frame_step, win_length=frame_length,
            center=center, pad_mode=pad_mode,
        )
    ).T ** 2
    got = stft.power_spectrogram(
        clip[None], fft_length, frame_step, frame_length, center=center, pad_mode=pad_mode
    ).numpy()[0]
    assert got.shape == ref.shape
    assert got.shape[0] == stft.num_frames(len(clip), fft_length, frame_step, center)
    # float32 DFT summing <= 512 products: error ~1e-6 of the frame's peak power (measured 1.1e-6).
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * ref.max())


def test_magnitude_spectrogram_matches_librosa(clip):
    ref = np.abs(librosa.stft(clip.astype(np.float64), n_fft=256, hop_length=80)).T
    got = stft.power_spectrogram(clip[None], 256, 80, power=1.0).numpy()[0]
    # sqrt of float32 power; 1e-5 of the peak as above.
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * ref.max())


def test_frame_matches_tf_signal_frame(clip):
    x = tf.constant(np.stack([clip[:4000], clip[1000:5000]]))
    np.testing.assert_array_equal(stft.frame(x, 400, 160).numpy(), tf.signal.frame(x, 400, 160).numpy())
    dynamic = tf.function(lambda s: stft.frame(s, 400, 160), input_signature=[tf.TensorSpec([None, None])])
    np.testing.assert_array_equal(dynamic(x).numpy(), tf.signal.frame(x, 400, 160).numpy())


@pytest.mark.parametrize(
    "left, right, frame_length, frame_step, pad_mode",
    [(128, 128, 256, 80, "constant"), (128, 128, 256, 80, "reflect"), (100, 100, 200, 100, "constant"),
     (0, 0, 256, 128, "constant"), (-28, -28, 200, 80, "constant"), (64, 64, 50, 80, "reflect"), (3, 0, 7, 3, "constant")],
)  # fmt: skip
def test_pad_and_frame_matches_tf_signal_frame(clip, left, right, frame_length, frame_step, pad_mode):
    """The training path's row-slice framing gives tf.signal.frame's frames exactly (static and unknown lengths)."""
    for length in (4000, 3999, 260):
        x = tf.constant(np.stack([clip[:length], clip[1000 : 1000 + length]]))
        expected = tf.signal.frame(stft.pad_signal(x, left, right, pad_mode), frame_length, frame_step).numpy()
        np.testing.assert_array_equal(stft.pad_and_frame(x, left, right, frame_length, frame_step, pad_mode), expected)
        dynamic = tf.function(
            lambda s: stft.pad_and_frame(s, left, right, frame_length, frame_step, pad_mode),
            input_signature=[tf.TensorSpec([None, None])],
        )
        np.testing.assert_array_equal(dynamic(x).numpy(), expected)


def test_frame_and_power_spectrogram_convert_to_builtin_tflite(clip, tmp_path):
    inputs = keras.Input((4000,))

    def features(x):
        framed_real = tf.matmul(stft.frame(x, 512, 160), stft.dft_matrices(512)[0].astype("float32"))
        return tf.concat([stft.power_spectrogram(x, 512, 160, center=False), framed_real], axis=-1)

    model = keras.Model(inputs, keras.layers.Lambda(features, output_shape=(22, 514))(inputs))
    batch = np.stack([clip[:4000], clip[500:4500], clip[1000:5000]])
    # float32 both sides, same ops order up to the converter's fusion: 1e-4 relative to the peak.
    got, expected, ops = check_tflite(model, batch, tmp_path)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * np.abs(expected).max())
    assert "CONV_2D" in ops and "GATHER" in ops, ops


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: stft.window("kaiser", 10), "window"),
        (lambda: stft.dft_kernel(256, 300), "frame_length"),
        (lambda: stft.dft_kernel(1), "fft_length"),
        (lambda: stft.pad_signal(tf.zeros((1, 10)), 2, 2, "edge"), "pad_mode"),
    ],
)
def test_bad_arguments_raise(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        call()
