"""SincNet trained on the FSDD official split: TFLite float agrees with Keras, int8 keeps accuracy.

Issue 2's deployment checks on real data: after training, the float TFLite model must predict
the same class as Keras on every one of the 300 official test clips, and the full-int8 model's
accuracy must be within 1 point of the float model's. Issue 11's: the files are standard audio
classifiers, so MediaPipe's AudioClassifier gives the runner's scores on every clip, and the int8
file fed raw clips by a bare LiteRT interpreter keeps that accuracy.
"""

import numpy as np
import pytest

from tests.export._mediapipe import plain_litert_scores
from tests.harness import assert_builtin_only
from tfaudio.backend import keras
from tfaudio.data import fsdd as fsdd_dataset
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.models import build

# The paper's structure, narrowed so that training fits a CPU test (about a minute per epoch
# on 2 cores); the default sizes are measured in benchmarks/sincnet_fsdd.py.
LABELS = [str(digit) for digit in range(10)]
SMALL = {"sinc_filters": 32, "sinc_kernel_size": 101, "conv_filters": [32, 32], "dense_units": [256, 256]}
EPOCHS = 5


def _arrays(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


@pytest.fixture(scope="module")
def trained(fsdd):
    keras.utils.set_random_seed(0)
    train_ds, test_ds, labels = fsdd_dataset(str(fsdd), sample_rate=8000, clip_seconds=1.0, batch_size=32)
    model = build("sincnet", num_classes=len(labels), sample_rate=8000, clip_seconds=1.0, **SMALL)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_ds, epochs=EPOCHS, verbose=0)
    x_test, y_test = _arrays(test_ds)
    x_calib, _ = _arrays(train_ds.take(8))  # 256 training clips for int8 calibration
    return model, x_test, y_test, x_calib


@pytest.fixture(scope="module")
def files(trained, tmp_path_factory):
    """Float and int8 `.tflite` files (builtin-only), standard audio classifiers as `tfaudio export` writes."""
    model, _, _, x_calib = trained
    tmp_path = tmp_path_factory.mktemp("tflite")
    # With labels: a softmax output and MediaPipe's metadata.
    paths = {
        "float": to_tflite(model, str(tmp_path / "float.tflite"), labels=LABELS),
        "int8": to_tflite(model, str(tmp_path / "int8.tflite"), quantize="int8", representative_data=x_calib, labels=LABELS),
    }
    for path in paths.values():
        assert_builtin_only(path)
    return paths


@pytest.fixture(scope="module")
def predictions(trained, files):
    """Top-1 of Keras, float TFLite and int8 TFLite on the 300 test clips."""
    model, x_test, y_test, _ = trained
    keras_pred = model.predict(x_test, batch_size=50, verbose=0).argmax(-1)
    float_pred = TFLiteModel(files["float"]).predict(x_test, batch_size=50).argmax(-1)
    int8_pred = TFLiteModel(files["int8"]).predict(x_test, batch_size=50).argmax(-1)
    return keras_pred, float_pred, int8_pred, y_test


@pytest.mark.slow
def test_tflite_float_top1_agrees_with_keras_on_all_test_clips(predictions):
    keras_pred, float_pred, _, y_test = predictions
    assert len(y_test) == 300
    # Sanity floor for a 5-epoch run of the small model (the default model reaches 97%).
    assert (keras_pred == y_test).mean() >= 0.85
    np.testing.assert_array_equal(float_pred, keras_pred)


@pytest.mark.slow
def test_tflite_int8_accuracy_within_one_point_of_float(predictions):
    keras_pred, float_pred, int8_pred, y_test = predictions
    float_acc, int8_acc = (float_pred == y_test).mean(), (int8_pred == y_test).mean()
    # The figures the notes quote (shown by `pytest -rP`).
    print(f"SincNet FSDD test split: Keras {(keras_pred == y_test).mean():.2%}, float {float_acc:.2%}, int8 {int8_acc:.2%}")
    # Issue 2's target. It holds because the model peak-normalises its input (the runner does so
    # before quantising) and its conv blocks end in ReLU6 fused into int8 convs (SincNet docstring).
    assert int8_acc >= float_acc - 0.01, (int8_acc, float_acc)


@pytest.mark.slow
def test_plain_litert_int8_on_raw_clips_keeps_tfaudios_int8_accuracy(trained, files, predictions):
    """The int8 file is self-contained: its peak normalisation runs in float inside the graph."""
    _, x_test, y_test, _ = trained
    _, float_pred, int8_pred, _ = predictions
    plain = plain_litert_scores(files["int8"], x_test).argmax(-1)  # no tfaudio code on the way
    np.testing.assert_array_equal(plain, int8_pred)
    assert (plain == y_test).mean() >= (float_pred == y_test).mean() - 0.01


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["float", "int8"])
def test_mediapipe_matches_the_runner_on_every_test_clip(trained, files, quantize):
    pytest.importorskip("mediapipe")
    from tests.export._mediapipe import clip_scores

    _, x_test, _, _ = trained
    path = files[quantize]
    expected = TFLiteModel(path).predict(x_test, batch_size=50)
    got, names = clip_scores(path, x_test, 8000, len(LABELS))
    assert names == LABELS
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))
    # float: two interpreters running one graph; int8: within one output step of the softmax (1/256).
    np.testing.assert_allclose(got, expected, atol=1e-5 if quantize == "float" else 1 / 256, rtol=0)
