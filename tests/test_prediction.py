"""tfaudio.predict / tfaudio.prediction: windows of the model's clip over files of any length, rate, channels."""

import numpy as np
import pytest
import soundfile as sf

import tfaudio
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel, to_saved_model, to_tflite
from tfaudio.io import load_audio
from tfaudio.prediction import aggregate, frame_windows, softmax, window_starts

RATE = 8000
SAMPLES = 800
LABELS = ["hum", "hiss", "click"]


def test_window_starts_cover_the_whole_file():
    assert window_starts(2300, 800, 400) == [0, 400, 800, 1200, 1500]
    assert window_starts(2000, 800, 400) == [0, 400, 800, 1200]
    assert window_starts(800, 800, 400) == [0]
    assert window_starts(300, 800, 400) == [0]
    with pytest.raises(ValueError, match="hop"):
        window_starts(100, 800, 0)


def test_short_clip_is_centred_and_padded_like_training():
    windows, starts = frame_windows(np.ones(300, np.float32), 800, 400)
    assert windows.shape == (1, 800) and starts == [0]
    assert windows[0, :250].sum() == 0 and windows[0, 250:550].sum() == 300 and windows[0, 550:].sum() == 0


def test_aggregate_mean_and_max():
    scores = np.array([[0.8, 0.2], [0.4, 0.6]], np.float32)
    np.testing.assert_allclose(aggregate(scores, "mean"), [0.6, 0.4])
    np.testing.assert_allclose(aggregate(scores, "max"), [0.8, 0.6])
    with pytest.raises(ValueError, match="aggregate"):
        aggregate(scores, "median")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The same small classifier as .keras (with labels.json), .tflite and SavedModel."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SAMPLES,))
    x = keras.layers.Reshape((SAMPLES, 1))(inputs)
    x = keras.layers.Conv1D(4, 9, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    folder = tmp_path_factory.mktemp("predict_models")
    model.save(folder / "model.keras")
    (folder / "labels.json").write_text('["hum", "hiss", "click"]')
    (folder / "run_config.json").write_text('{"sample_rate": 8000, "clip_seconds": 0.1}')
    return {
        "keras_model": model,
        "run": str(folder),
        "tflite": to_tflite(model, str(folder / "m.tflite"), labels=LABELS, sample_rate=RATE),
        "saved_model": to_saved_model(model, str(folder / "sm"), labels=LABELS, sample_rate=RATE),
    }


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    t = np.arange(7 * RATE) / RATE
    long = (0.3 * np.sin(2 * np.pi * 300 * t) * (t > 3) + 0.05 * rng.standard_normal(len(t))).astype("float32")
    sf.write(folder / "seven_seconds.wav", long, RATE)
    t44 = np.arange(2 * 44100) / 44100
    tone = 0.4 * np.sin(2 * np.pi * 440 * t44)
    sf.write(folder / "stereo_44k.wav", np.stack([tone, 0.5 * tone], axis=1).astype("float32"), 44100)
    batch = folder / "batch"
    batch.mkdir()
    sf.write(batch / "a.wav", long[:RATE], RATE)
    sf.write(batch / "b.flac", long[RATE : 3 * RATE], RATE)
    (batch / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt broken")
    return folder


def _reference(model, path, hop=SAMPLES // 2):
    audio, _ = load_audio(path, sample_rate=RATE, mono=True)
    windows, _ = frame_windows(audio, SAMPLES, hop)
    return softmax(model(windows).numpy())


@pytest.mark.parametrize("kind", ["tflite", "run", "saved_model"])
def test_seven_second_file_mean_of_windows(models, audio_files, kind):
    path = str(audio_files / "seven_seconds.wav")
    (result,) = tfaudio.predict(path, model=models[kind], top_k=3, timeline=True)
    windows = _reference(models["keras_model"], path)
    assert len(windows) == 139  # 7 s at 0.05 s hop: starts 0 .. 6.9 s
    expected = windows.mean(axis=0)
    order = np.argsort(-expected)
    assert result.labels == [LABELS[i] for i in order]
    np.testing.assert_allclose(result.scores, expected[order], atol=1e-5)
    assert result.duration_seconds == pytest.approx(7.0)
    assert len(result.windows) == 139 and result.windows[-1]["end"] == pytest.approx(7.0)
    assert [w["label"] for w in result.windows] == [LABELS[i] for i in windows.argmax(-1)]


def test_max_aggregation_and_hop(models, audio_files):
    path = str(audio_files / "seven_seconds.wav")
    (result,) = tfaudio.predict(path, model=models["tflite"], aggregate="max", hop_seconds=0.1, top_k=1)
    windows = _reference(models["keras_model"], path, hop=800)
    assert result.scores[0] == pytest.approx(windows.max(axis=0).max(), abs=1e-5)


def test_stereo_44k_is_mixed_and_resampled(models, audio_files):
    path = str(audio_files / "stereo_44k.wav")
    (result,) = tfaudio.predict(path, model=models["tflite"], top_k=3)
    expected = _reference(models["keras_model"], path).mean(axis=0)
    np.testing.assert_allclose(sorted(result.scores, reverse=True), np.sort(expected)[::-1], atol=1e-5)
    assert result.duration_seconds == pytest.approx(2.0, abs=1e-3)


def test_folder_with_a_corrupt_file_reports_it_and_classifies_the_rest(models, audio_files):
    results = tfaudio.predict([str(audio_files / "batch")], model=models["tflite"])
    names = [r.path.rsplit("/", 1)[-1] for r in results]
    assert names == ["a.wav", "b.flac", "corrupt.wav"]
    assert results[2].error and "corrupt.wav" in results[2].error and results[2].labels == []
    assert all(r.error is None and len(r.labels) == 3 for r in results[:2])


def test_missing_file_and_bad_arguments(models, audio_files):
    (result,) = tfaudio.predict(str(audio_files / "nope.wav"), model=models["tflite"])
    assert "nope.wav" in result.error and "not found" in result.error
    with pytest.raises(ValueError, match="top_k"):
        tfaudio.predict(str(audio_files / "seven_seconds.wav"), model=models["tflite"], top_k=0)
    with pytest.raises(ValueError, match="hop_seconds"):
        tfaudio.predict(str(audio_files / "seven_seconds.wav"), model=models["tflite"], hop_seconds=-1)
    with pytest.raises(ValueError, match="model"):
        tfaudio.predict(str(audio_files / "seven_seconds.wav"), model=str(audio_files))
    empty = audio_files / "empty_folder"
    empty.mkdir(exist_ok=True)
    with pytest.raises(ValueError, match="No audio files"):
        tfaudio.predict(str(empty), model=models["tflite"])


def test_tflite_without_labels_or_rate_needs_sample_rate(models, tmp_path):
    plain = to_tflite(models["keras_model"], str(tmp_path / "plain.tflite"))
    assert TFLiteModel(plain).metadata == {}
    with pytest.raises(ValueError, match="sample rate"):
        tfaudio.predict([], model=plain)
    from tfaudio.prediction import load_classifier

    classifier = load_classifier(plain, sample_rate=RATE)
    assert classifier.labels == ["0", "1", "2"]  # logits output: softmax applied
    np.testing.assert_allclose(classifier.probabilities(np.zeros((2, SAMPLES), np.float32)).sum(-1), 1.0, atol=1e-6)
