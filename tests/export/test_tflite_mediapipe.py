"""`.tflite` classifiers with standard TFLite Model Metadata load unmodified in MediaPipe's AudioClassifier.

A small log-mel SqueezeNet, briefly trained on FSDD, exported float and full int8 with labels: MediaPipe
(audio clips and audio stream modes) must name the classes with tfaudio's labels and give the scores
tfaudio's runner gives, clip for clip. SincNet gets the same checks on the whole FSDD test split in
tests/models/test_sincnet_fsdd.py.
"""

import numpy as np
import pytest

from tests.export._mediapipe import clip_scores, stream_scores
from tests.harness import assert_builtin_only
from tfaudio.backend import keras
from tfaudio.data import fsdd as fsdd_dataset
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.export.tflite_metadata import LABEL_FILE, MIN_PARSER_VERSION, metadata_schema, read_standard_metadata
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
    schema = metadata_schema()
    for quantize, path in paths.items():
        metadata, files = read_standard_metadata(path)
        # The object API returns the schema's strings as bytes.
        assert metadata.name.decode() == model.name and metadata.version.decode() == "1"
        assert metadata.minParserVersion.decode() == MIN_PARSER_VERSION
        assert ("int8" if quantize == "int8" else "float32") in metadata.description.decode()
        (subgraph,) = metadata.subgraphMetadata
        (audio_input,) = subgraph.inputTensorMetadata
        assert audio_input.content.contentPropertiesType == schema.ContentProperties.AudioProperties
        assert (audio_input.content.contentProperties.sampleRate, audio_input.content.contentProperties.channels) == (8000, 1)
        (output,) = subgraph.outputTensorMetadata
        (label_file,) = output.associatedFiles
        assert label_file.type == schema.AssociatedFileType.TENSOR_AXIS_LABELS
        assert label_file.name.decode() == LABEL_FILE
        assert not output.processUnits  # no score calibration: the graph outputs probabilities
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
