"""ImageNet weights for the keras.applications backbones: downloaded once into the Keras cache, checked by MD5.

No network: each test prepares the cache and serves the "download" from a file:// origin.
"""

import hashlib
import os

import pytest

from tfaudio.models.spectrogram_cnn import ARCHITECTURES, imagenet_weights_path, keras_cache_dir

FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture
def origin(tmp_path, monkeypatch):
    """A fake weights file served from a file:// URL, with its MD5 as the expected hash; KERAS_HOME in tmp."""
    source = tmp_path / "origin" / FILE
    source.parent.mkdir()
    source.write_bytes(b"not really resnet50 weights" * 100)
    spec = ARCHITECTURES["resnet50"]
    monkeypatch.setattr(spec, "imagenet_url", source.as_uri())
    monkeypatch.setattr(spec, "imagenet_md5", hashlib.md5(source.read_bytes()).hexdigest())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    return source


def test_the_published_hashes_are_keras_applications_own():
    # The MD5s keras.applications checks its no-top files against (keras/src/applications/*.py).
    from keras.src.applications import densenet, inception_v3, resnet, vgg16  # noqa: F401
    import inspect

    for name, module in (("vgg16", vgg16), ("inception_v3", inception_v3), ("densenet121", densenet)):
        assert ARCHITECTURES[name].imagenet_md5 in inspect.getsource(module), name
    assert ARCHITECTURES["resnet50"].imagenet_md5 == resnet.WEIGHTS_HASHES["resnet50"][1]


def test_downloads_once_then_reads_the_cache(origin, tmp_path):
    path = imagenet_weights_path("resnet50")
    assert path == os.path.join(str(tmp_path / "home" / "models"), FILE) == os.path.join(keras_cache_dir(), FILE)
    assert open(path, "rb").read() == origin.read_bytes()
    origin.unlink()  # the origin is gone: the second call must not download
    assert imagenet_weights_path("resnet50") == path


def test_a_corrupt_cached_file_is_fetched_again(origin):
    path = imagenet_weights_path("resnet50")
    with open(path, "wb") as f:
        f.write(b"truncated")
    assert open(imagenet_weights_path("resnet50"), "rb").read() == origin.read_bytes()


def test_no_cache_and_no_download_names_the_file_folder_and_url(origin):
    url = origin.as_uri()
    origin.unlink()
    with pytest.raises(FileNotFoundError) as info:
        imagenet_weights_path("resnet50")
    message = str(info.value)
    assert FILE in message and keras_cache_dir() in message and url in message


def test_a_download_that_does_not_match_the_hash_is_refused(origin, monkeypatch):
    monkeypatch.setattr(ARCHITECTURES["resnet50"], "imagenet_md5", "0" * 32)
    with pytest.raises(FileNotFoundError, match=FILE):
        imagenet_weights_path("resnet50")
