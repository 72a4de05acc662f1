"""keras.applications' ImageNet weights for a backbone: downloaded once into the Keras cache, checked by hash."""

import os

from tfaudio.models.spectrogram_cnn.architectures import ARCHITECTURES


def keras_cache_dir():
    """Folder where `keras.applications` keeps downloaded weights: `$KERAS_HOME/models`, else `~/.keras/models`."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return os.path.join(home, "models")


def imagenet_weights_path(architecture):
    """Path of `architecture`'s no-top ImageNet weights, downloading them into the Keras cache the first time.

    As `keras.applications` does (`keras.utils.get_file`): a cached file whose
    MD5 matches is used as it is; a missing or corrupt one is downloaded from
    keras.applications' URL and checked.

    Raises:
        ValueError: the architecture has no ImageNet weights in keras.applications.
        FileNotFoundError: the file is not in the cache and cannot be downloaded
            (no network, or the download does not match the hash); the message
            names the file, the folder to put it in and the URL.
    """
    from tfaudio.backend import keras

    spec = ARCHITECTURES[architecture]
    if spec.imagenet_file is None:
        raise ValueError(
            f"No ImageNet weights ship with keras.applications for this architecture; "
            f"use weights=None or a weights file path. Received: architecture={architecture!r}"
        )
    folder = keras_cache_dir()
    try:
        # get_file falls back to /tmp/.keras when the folder does not exist yet.
        os.makedirs(folder, exist_ok=True)
        return keras.utils.get_file(
            spec.imagenet_file,
            spec.imagenet_url,
            file_hash=spec.imagenet_md5,
            cache_subdir="models",
            cache_dir=os.path.dirname(folder),
        )
    except Exception as e:  # urllib, HTTP and hash-mismatch errors surface as several types
        raise FileNotFoundError(
            f"ImageNet weights for {architecture!r} are not in the Keras cache and could not be downloaded ({e}). "
            f"Place the file {spec.imagenet_file!r} in the folder {folder!r} (download it from {spec.imagenet_url} "
            f"on a machine with internet access, or set KERAS_HOME to a folder whose 'models' sub-folder holds it)."
        ) from e
