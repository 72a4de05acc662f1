"""Pruning: a tiny SincNet's Dense/Conv kernels reach the target sparsity, and the stripped model exports to TFLite."""

import os

import numpy as np
import pytest

from tests.harness import assert_builtin_only
from tests.optimize._tf_keras import clips, run_tf_keras
from tfaudio.export import TFLiteModel

# Runs under tf_keras (tfmot does not support Keras 3): reads clips from stdin, prints JSON.
_PRUNE_SCRIPT = """
import json, sys
import numpy as np
import tensorflow_model_optimization as tfmot
from tfaudio.backend import keras, USE_LEGACY_KERAS
from tfaudio.export import to_tflite
from tfaudio.models import build
from tfaudio.optimize import prune, strip_pruning
assert USE_LEGACY_KERAS and keras.__name__ == "tf_keras", keras.__name__
args = json.loads(sys.stdin.read())
x, y = np.asarray(args["x"], np.float32), np.asarray(args["y"])
keras.utils.set_random_seed(0)
model = build("sincnet", 8, sample_rate=8000, clip_seconds=0.25, sinc_filters=8, sinc_kernel_size=51,
              conv_filters=(8, 8), conv_kernel_sizes=(5, 5), pool_sizes=(3, 3, 3), dense_units=(32, 32))
before = model(x, training=False).numpy()
pruned = prune(model, target_sparsity=args["target"], begin_step=0, end_step=4, frequency=1)
unchanged = float(np.abs(pruned(x, training=False).numpy() - before).max())
wrapped = sorted(l.layer.name for l in pruned.layers if hasattr(l, "pruning_schedule"))
pruned.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
# 8 clips, batch 4: 2 steps per epoch, 3 epochs = 6 steps, past end_step=4.
pruned.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
stripped = strip_pruning(pruned)
sparsity = {l.name: float(np.mean(l.get_weights()[0] == 0)) for l in stripped.layers if l.name in wrapped}
sinc = stripped.get_layer("sinc_conv")
to_tflite(stripped, args["path"])
print(json.dumps({
    "unchanged": unchanged, "wrapped": wrapped, "sparsity": sparsity,
    "stripped_types": sorted({type(l).__name__ for l in stripped.layers}),
    "sinc_zero": float(np.mean(sinc.get_weights()[0] == 0)),
    "keras": stripped(x, training=False).numpy().tolist(),
}))
"""


@pytest.mark.slow
def test_sincnet_pruning_reaches_target_and_exports(fsdd_clips, tmp_path):
    x = clips(fsdd_clips)
    path = str(tmp_path / "sincnet_pruned.tflite")
    target = 0.5
    out = run_tf_keras(_PRUNE_SCRIPT, {"x": x.tolist(), "y": list(range(len(x))), "path": path, "target": target})

    # Wrapping keeps the model's function until training prunes it (exact: same weights, mask all ones).
    assert out["unchanged"] == 0.0
    # Dense and Conv layers only; SincConv1D and the normalisations are left alone.
    assert out["wrapped"] == ["conv_1", "conv_2", "dense_1", "dense_2", "logits"], out["wrapped"]
    assert out["sinc_zero"] == 0.0
    assert not any(t.startswith("PruneLowMagnitude") for t in out["stripped_types"]), out["stripped_types"]
    for name, sparsity in out["sparsity"].items():
        # Within 1%: the mask zeroes round(target * size) weights of each kernel (kernels here have >= 256).
        assert abs(sparsity - target) <= 0.01, (name, sparsity)

    assert os.path.isfile(path)
    assert_builtin_only(path)
    got = TFLiteModel(path)(x)
    expected = np.asarray(out["keras"], np.float32)
    # Float TFLite vs the stripped Keras model: 1e-4, float32 reordering through 6 layers.
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_prune_refuses_keras3_models():
    from tfaudio.backend import keras
    from tfaudio.optimize import prune

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="TF_USE_LEGACY_KERAS=1"):
        prune(model)
