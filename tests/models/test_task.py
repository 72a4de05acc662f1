"""`Backbone` / `Task`: every registered model is a Task that knows its input format, and Keras' own
`load_model` finds every tfaudio class after `import tfaudio`."""

import inspect
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.models import Backbone, Task, available, build
from tfaudio.models.task import stores_arguments
from tfaudio.models.wav2vec2 import Wav2Vec2Classifier

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Small sizes for every family cheap enough to build in a test (the keras.applications
# backbones have fixed widths; resnet50 stands for them).
TINY = {
    "sincnet": dict(sinc_filters=8, sinc_kernel_size=51, conv_filters=(8, 8), dense_units=(16,)),
    "alexnet": dict(width_multiplier=0.05),
    "squeezenet": dict(width_multiplier=0.1),
    "resnet50": {},
    "wav2vec2_base": dict(
        hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=16, conv_dims=[8] * 7,
        num_conv_pos_embeddings=4, num_conv_pos_embedding_groups=2, classifier_proj_size=4,
    ),
    "ast_base": dict(hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=16, num_mel_bins=32),
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(TINY))
def tiny(request):
    keras.utils.set_random_seed(0)
    return request.param, build(request.param, 3, sample_rate=8000, clip_seconds=0.5, **TINY[request.param])


@pytest.mark.slow
@pytest.mark.parametrize("name", available())
def test_every_registered_model_is_a_task(name):
    # Families without an entry in TINY build at their real sizes (keras.applications backbones).
    overrides = TINY.get(name) or TINY.get(name.replace("_large", "_base"), {})
    model = build(name, 3, sample_rate=8000, clip_seconds=0.5, **overrides)
    assert isinstance(model, Task), type(model)
    assert model.num_samples == 4000 and tuple(model.inputs[0].shape) == (None, 4000)


def test_task_knows_its_input_format(tiny):
    name, model = tiny
    assert isinstance(model, Task), name
    assert (model.sample_rate, model.clip_seconds, model.num_samples) == (8000, 0.5, 4000)
    assert tuple(model.inputs[0].shape) == (None, 4000)
    config = model.get_config()
    assert (config["sample_rate"], config["clip_seconds"]) == (8000, 0.5)
    json.dumps(config)  # JSON-friendly


def test_backbone_is_serialized_once_by_the_task(tiny):
    name, model = tiny
    config = model.get_config()
    if name == "sincnet":
        assert model.backbone is None and "backbone" not in config
    elif name in ("alexnet", "squeezenet", "resnet50"):
        # Rebuilt from `architecture`, so not in the config.
        assert isinstance(model.backbone, keras.Model) and "backbone" not in config
        assert isinstance(model.backbone, Backbone) == (name != "resnet50")
    else:
        assert isinstance(model.backbone, Backbone)
        assert config["backbone"]["config"] == model.backbone.get_config()
        assert config["backbone"]["config"]["name"] == model.backbone.name
    assert type(model).from_config(config).get_config() == config


def test_wav2vec2_task_records_the_rate_and_derives_the_length():
    model = build("wav2vec2_base", 2, sample_rate=8000, clip_seconds=0.25, **TINY["wav2vec2_base"])
    assert (model.sample_rate, model.clip_seconds, model.backbone.num_samples) == (8000, 0.25, 2000)
    with pytest.raises(ValueError, match="clip_seconds=0.5"):
        Wav2Vec2Classifier(model.backbone, num_classes=2, sample_rate=8000, clip_seconds=0.5)
    # A config saved before the rate was recorded: 16 kHz, the length from the backbone.
    old = {k: v for k, v in model.get_config().items() if k not in ("sample_rate", "clip_seconds")}
    restored = Wav2Vec2Classifier.from_config(old)
    assert (restored.sample_rate, restored.clip_seconds) == (16000, 2000 / 16000)


# The configs DSCNN and BCResNet wrote before `stores_arguments` (what saved `.keras` files hold).
SAVED_CONFIGS = {
    "ds_cnn": {
        "name": "ds_cnn_m", "trainable": True, "sample_rate": 8000, "clip_seconds": 0.5, "num_classes": 3,
        "size": "m", "num_mel_bins": 40, "frame_length_seconds": 0.03, "frame_step_seconds": 0.01, "dropout": 0.2,
        "input_norm": "peak", "time_padding": "causal",
    },
    "bc_resnet": {
        "name": "bc_resnet_1.5", "trainable": True, "sample_rate": 8000, "clip_seconds": 0.5, "num_classes": 3,
        "width": 1.5, "num_mel_bins": 40, "frame_length_seconds": 0.03, "frame_step_seconds": 0.01,
        "sub_spectral_groups": 5, "dropout": 0.1, "input_norm": "peak", "time_padding": "causal",
    },
}  # fmt: skip
# Arguments added since, which those files lack: they load at these defaults.
ADDED_SINCE = {"ds_cnn": {}, "bc_resnet": {"time_dilations": None}}


@pytest.mark.parametrize("name", sorted(SAVED_CONFIGS))
def test_stored_arguments_give_the_config_saved_files_hold(name):
    saved = SAVED_CONFIGS[name]
    model = type(build(name, 3, sample_rate=8000, clip_seconds=0.5)).from_config(saved)
    assert model.get_config() == {**saved, **ADDED_SINCE[name]}
    assert all(getattr(model, key) == value for key, value in saved.items() if key != "name")


def test_stores_arguments_stores_each_named_argument_as_passed():
    class TinyTask(Task):
        @stores_arguments
        def __init__(self, units, sample_rate=8000, clip_seconds=0.25, scale=None, **kwargs):
            waveform = keras.Input((2000,))
            super().__init__(inputs=waveform, outputs=keras.layers.Dense(units)(waveform), **kwargs)
            self.sample_rate, self.clip_seconds = sample_rate, clip_seconds

    model = TinyTask(4, name="tiny")
    assert model.get_config() == {
        "name": "tiny", "trainable": True, "backbone": None, "sample_rate": 8000, "clip_seconds": 0.25,
        "units": 4, "scale": None,
    }  # fmt: skip
    assert TinyTask.from_config(model.get_config()).get_config() == model.get_config()


@pytest.mark.parametrize("name", ["ds_cnn", "bc_resnet"])
def test_stored_arguments_tasks_clone_like_the_trainer_clones_them(name):
    # `tfaudio train` wraps a model with keras.models.clone_model, which calls `cls(inputs, outputs)` for a
    # constructor that looks like Functional's: the decorated constructor must keep its own signature.
    model = build(name, 3, sample_rate=8000, clip_seconds=0.5)
    clone = keras.models.clone_model(model)
    waveform = np.random.default_rng(0).standard_normal((2, 4000)).astype("float32")
    assert clone.predict(waveform, verbose=0).shape == (2, 3)
    assert inspect.getfullargspec(type(model).__init__).args[1] == "num_classes"


def test_subclassed_task_builds_after_functional_tasks():
    # Functional tasks first: Keras' own Model.__init__ would rewrite the bases of every class above them
    # to Functional, Task included, after which a Task with its own `call` could no longer be built.
    from tfaudio.models.task import _functional_class
    from tfaudio.models.wav2vec2 import Wav2Vec2PreTrainer

    model = build("sincnet", 3, sample_rate=8000, clip_seconds=0.5, **TINY["sincnet"])
    assert isinstance(model, Task) and isinstance(model, _functional_class())
    assert Task.__bases__ == (keras.Model,)
    backbone = build("wav2vec2_base", 2, sample_rate=8000, clip_seconds=0.5, **TINY["wav2vec2_base"]).backbone
    pretrainer = Wav2Vec2PreTrainer(backbone, num_codevectors_per_group=4, codevector_dim=8, proj_codevector_dim=8,
                                    num_negatives=3, sample_rate=8000)  # fmt: skip
    assert isinstance(pretrainer, Task) and not isinstance(pretrainer, _functional_class())  # its own call
    assert (pretrainer.sample_rate, pretrainer.clip_seconds, pretrainer.num_samples) == (8000, 0.5, 4000)
    x = np.random.RandomState(0).uniform(-0.5, 0.5, (2, 4000)).astype("float32")
    assert np.isfinite(float(pretrainer(x)["loss"]))
    config = pretrainer.get_config()
    assert config["backbone"]["config"] == backbone.get_config() and config["num_negatives"] == 3
    assert Wav2Vec2PreTrainer.from_config(config).get_config() == config
    # Configs saved before the pretrainer recorded its rate: 16 kHz, the length from the backbone.
    old = {k: v for k, v in config.items() if k not in ("sample_rate", "clip_seconds")}
    restored = Wav2Vec2PreTrainer.from_config(old)
    assert (restored.sample_rate, restored.clip_seconds) == (16000, 4000 / 16000)


def _load_in_fresh_process(path, first_import, tmp_path):
    """Runs `import tfaudio` / `import keras` in the given order, then Keras' own load_model on `path`."""
    other = "keras" if first_import == "tfaudio" else "tfaudio"
    code = (
        f"import {first_import}, {other}, json, numpy as np\n"
        f"m = keras.saving.load_model({path!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'restored.npy')!r}, np.asarray(m(x, training=False)))\n"
        "print(json.dumps([type(m).__name__, m.sample_rate, m.clip_seconds]))\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("first_import", ["tfaudio", "keras"])
def test_keras_load_model_works_after_import_tfaudio(tmp_path, first_import):
    keras.utils.set_random_seed(0)
    model = build("wav2vec2_base", 3, **TINY["wav2vec2_base"])  # the converter's output class
    path = str(tmp_path / "wav2vec2.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert json.loads(z.read("config.json"))["registered_name"] == "tfaudio>Wav2Vec2Classifier"
    x = np.random.RandomState(0).uniform(-0.5, 0.5, (2, 16000)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    name, rate, seconds = _load_in_fresh_process(path, first_import, tmp_path)
    assert (name, rate, seconds) == ("Wav2Vec2Classifier", 16000, 1.0)
    np.testing.assert_array_equal(np.load(tmp_path / "restored.npy"), np.asarray(model(x, training=False)))


def test_import_tfaudio_stays_light():
    code = "import sys, tfaudio; print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras') if m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_tiny_models_save_and_load_exactly(tiny, tmp_path):
    from tests import harness

    name, model = tiny
    x = np.random.RandomState(0).uniform(-0.5, 0.5, (2, 4000)).astype("float32")
    harness.run_model_saving_test(model, x, tmp_path)
