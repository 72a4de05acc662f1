"""Strategy selection, batch scaling, sharding options and mixed-precision policy (no devices needed)."""

import json
from types import SimpleNamespace

import pytest
import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.training import strategy as st


@pytest.fixture
def fake_distribute(monkeypatch):
    """Records which strategy class `get_strategy` instantiates, with which devices."""
    made = []

    def factory(kind):
        def make(*args, **kwargs):
            made.append((kind, kwargs.get("devices", args[0] if args else None)))
            return SimpleNamespace(kind=kind, num_replicas_in_sync=2)

        return make

    monkeypatch.setattr(tf.distribute, "MirroredStrategy", factory("mirrored"))
    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", factory("multi_worker"))
    monkeypatch.setattr(tf.distribute, "OneDeviceStrategy", factory("one_device"))
    monkeypatch.delenv("TF_CONFIG", raising=False)
    return made


def _gpus(monkeypatch, count):
    devices = [SimpleNamespace(name=f"/device:GPU:{i}") for i in range(count)]
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: devices if kind == "GPU" else [])


def test_auto_picks_mirrored_with_two_gpus(fake_distribute, monkeypatch):
    _gpus(monkeypatch, 2)
    assert st.get_strategy("auto").kind == "mirrored"


def test_auto_picks_one_device_on_one_gpu_or_cpu(fake_distribute, monkeypatch):
    _gpus(monkeypatch, 1)
    st.get_strategy("auto")
    _gpus(monkeypatch, 0)
    st.get_strategy("auto")
    assert fake_distribute == [("one_device", "/device:GPU:0"), ("one_device", "/cpu:0")]


def test_auto_picks_multi_worker_from_tf_config(fake_distribute, monkeypatch):
    _gpus(monkeypatch, 2)
    cluster = {"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert st.get_strategy("auto").kind == "multi_worker"
    assert st.task_id() == ("worker", 1)


def test_unknown_strategy():
    with pytest.raises(ValueError, match="horovod"):
        st.get_strategy("horovod")


def test_global_batch_and_shard_options():
    strategy = SimpleNamespace(num_replicas_in_sync=4)
    assert st.global_batch_size(32, strategy) == 128
    ds = st.shard_options(tf.data.Dataset.range(8))
    assert ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
    with pytest.raises(ValueError, match="policy"):
        st.shard_options(ds, "rows")


def test_mixed_precision_policy():
    before = keras.mixed_precision.global_policy().name
    try:
        st.set_mixed_precision("mixed_bfloat16")
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        st.set_mixed_precision("none")
        assert keras.mixed_precision.global_policy().name == "float32"
        with pytest.raises(ValueError, match="mixed_float8"):
            st.set_mixed_precision("mixed_float8")
    finally:
        keras.mixed_precision.set_global_policy(before)
