"""`.tflite` classifiers with standard TFLite Model Metadata load unmodified in MediaPipe's AudioClassifier.

A small log-mel SqueezeNet, briefly trained on FSDD, exported float and full int8 with labels: MediaPipe
(audio clips and audio stream modes) must name the classes with tfaudio's labels and give the scores
tfaudio's runner gives, clip for clip. SincNet gets the same checks on the whole FSDD test split in
tests/models/test_sincnet_fsdd.py.
"""

import importlib.util
import sys
import warnings
import zipfile

import numpy as np
import pytest

from tests.export._mediapipe import clip_scores, stream_scores
from tests.harness import assert_builtin_only
from tfaudio.backend import keras
from tfaudio.data import fsdd as fsdd_dataset
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.export.tflite_metadata import LABEL_FILE, MIN_PARSER_VERSION, read_standard_metadata
from tfaudio.models import build

pytest.importorskip("mediapipe")

LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SQUEEZENET = dict(frame_step=256, num_mel_bins=32, width_multiplier=0.25)


def _arrays(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


@pytest.fixture(scope="module")
def exported(fsdd, tmp_path_factory):
    """Float and int8 files of a SqueezeNet trained 2 epochs on 320 FSDD clips, and 40 test clips."""
    keras.utils.set_random_seed(0)
    train_ds, test_ds, _ = fsdd_dataset(str(fsdd), sample_rate=8000, clip_seconds=1.0, batch_size=32)
    model = build("squeezenet", num_classes=10, sample_rate=8000, clip_seconds=1.0, **SQUEEZENET)
    x_train, y_train = _arrays(train_ds.take(10))
    model.adapt_normalization(x_train)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(True))
    model.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0)
    x_test, _ = _arrays(test_ds.take(2))
    folder = tmp_path_factory.mktemp("mediapipe")
    paths = {
        "float": to_tflite(model, str(folder / "float.tflite"), labels=LABELS),
        "int8": to_tflite(model, str(folder / "int8.tflite"), quantize="int8", representative_data=x_train, labels=LABELS),
    }
    return model, paths, x_test[:40]


def test_standard_metadata_fields(exported):
    model, paths, _ = exported
    for quantize, path in paths.items():
        metadata, files = read_standard_metadata(path)
        assert metadata["name"] == model.name and metadata["version"] == "1"
        assert metadata["min_parser_version"] == MIN_PARSER_VERSION
        assert ("int8" if quantize == "int8" else "float32") in metadata["description"]
        (subgraph,) = metadata["subgraph_metadata"]
        (audio_input,) = subgraph["input_tensor_metadata"]
        assert audio_input["content"]["content_properties_type"] == "AudioProperties"
        assert audio_input["content"]["content_properties"] == {"sample_rate": 8000, "channels": 1}
        (output,) = subgraph["output_tensor_metadata"]
        (label_file,) = output["associated_files"]
        assert label_file["type"] == "TENSOR_AXIS_LABELS"
        assert label_file["name"] == LABEL_FILE
        assert "process_units" not in output  # no score calibration: the graph outputs probabilities
        assert files[LABEL_FILE].decode().splitlines() == LABELS
        # tfaudio's own metadata stays beside it for tfaudio's runner.
        runner = TFLiteModel(path)
        assert runner.metadata["labels"] == LABELS and runner.metadata["output"] == "probabilities"
        assert_builtin_only(path)


@pytest.mark.parametrize("quantize", ["float", "int8"])
def test_mediapipe_clips_and_stream_modes_match_the_runner(exported, quantize):
    _, paths, clips = exported
    path = paths[quantize]
    runner = TFLiteModel(path)
    expected = runner(clips)
    np.testing.assert_allclose(expected.sum(-1), 1.0, atol=1e-2)  # probabilities, not logits
    got, names = clip_scores(path, clips, 8000, len(LABELS))
    assert names == LABELS
    streamed = stream_scores(path, clips, 8000, len(LABELS))
    assert streamed.shape == expected.shape
    # float: the same graph run by two interpreters (op order may differ); int8: the float
    # output of the DEQUANTIZE is exact, so one output quantisation step (1/256) is a loose bound.
    atol = 1e-5 if quantize == "float" else 1 / 256
    for scores in (got, streamed):
        np.testing.assert_array_equal(scores.argmax(-1), expected.argmax(-1))
        np.testing.assert_allclose(scores, expected, atol=atol, rtol=0)


def test_probabilities_match_keras_softmax(exported):
    model, paths, clips = exported
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(model(clips, training=False)))
    np.testing.assert_allclose(TFLiteModel(paths["float"])(clips), expected, atol=1e-5, rtol=0)


def test_mediapipe_resamples_other_rates_to_the_metadata_rate(exported):
    """MediaPipe reads the input rate from AudioProperties: a 16 kHz clip is resampled to 8 kHz."""
    from tfaudio.io import resample

    _, paths, clips = exported
    runner = TFLiteModel(paths["float"])
    upsampled = np.stack([resample(clip, 8000, 16000) for clip in clips[:8]])
    # (its resampler's delay leaves a few samples for a second window, which is ignored)
    got, _ = clip_scores(paths["float"], upsampled, 16000, len(LABELS), one_window=False)
    # Two resamplers (MediaPipe's and soxr) do not give the same samples: compare the decisions.
    agreement = (got.argmax(-1) == runner(clips[:8]).argmax(-1)).mean()
    assert agreement >= 0.75, agreement


def test_labels_without_sample_rate_or_with_newlines_are_rejected(tmp_path):
    inputs = keras.Input((64,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="sample_rate"):
        to_tflite(model, str(tmp_path / "m.tflite"), labels=["a", "b"])
    with pytest.raises(ValueError, match="single-line"):
        to_tflite(model, str(tmp_path / "m.tflite"), labels=["a\nb", "c"], sample_rate=16000)
    with pytest.raises(ValueError, match="one name per output class"):
        to_tflite(model, str(tmp_path / "m.tflite"), labels=["a", "b", "c"], sample_rate=16000)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_already_probabilities_model_gets_no_second_softmax(tmp_path):
    inputs = keras.Input((64,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    x = np.random.default_rng(0).uniform(-1, 1, (4, 64)).astype("float32")
    path = to_tflite(model, str(tmp_path / "m.tflite"), labels=["a", "b", "c"], sample_rate=16000, logits=False)
    runner = TFLiteModel(path)
    assert runner.metadata["output"] == "probabilities"
    np.testing.assert_allclose(runner(x), model(x).numpy(), atol=1e-6)


def _hide_mediapipe(monkeypatch):
    """Makes this process look like a default install: `find_spec("mediapipe")` is None, `import mediapipe` fails."""
    for name in [n for n in sys.modules if n == "mediapipe" or n.startswith("mediapipe.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, package=None: None if name.partition(".")[0] == "mediapipe" else find_spec(name, package),
    )


def test_export_without_mediapipe_writes_metadata_that_mediapipe_accepts(tmp_path, monkeypatch):
    """The default install has no mediapipe: the file still gets the standard metadata and the label file."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8000,))
    frames = keras.layers.Reshape((80, 100))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(frames)))
    labels = ["low", "mid", "high"]
    with monkeypatch.context() as hidden:
        _hide_mediapipe(hidden)
        assert importlib.util.find_spec("mediapipe") is None
        with pytest.raises(ImportError):
            import mediapipe  # noqa: F401
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = to_tflite(model, str(tmp_path / "m.tflite"), labels=labels, sample_rate=16000)
        assert not [w for w in caught if "metadata" in str(w.message).lower() or "mediapipe" in str(w.message).lower()]
        metadata, files = read_standard_metadata(path)  # reading needs no mediapipe either
    (subgraph,) = metadata["subgraph_metadata"]
    assert subgraph["input_tensor_metadata"][0]["content"]["content_properties"] == {"sample_rate": 16000, "channels": 1}
    assert subgraph["output_tensor_metadata"][0]["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    assert files == {LABEL_FILE: b"low\nmid\nhigh\n"}
    with zipfile.ZipFile(path) as archive:  # dated 1980-01-01, not now: exports are reproducible
        assert archive.getinfo(LABEL_FILE).date_time == (1980, 1, 1, 0, 0, 0)

    # Back in a process with MediaPipe: its AudioClassifier loads the file and scores as tfaudio's runner does.
    clips = np.random.default_rng(0).uniform(-0.5, 0.5, (6, 8000)).astype("float32")
    expected = TFLiteModel(path)(clips)
    got, names = clip_scores(path, clips, 16000, len(labels))
    assert names == labels
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)  # one float graph, two interpreters
