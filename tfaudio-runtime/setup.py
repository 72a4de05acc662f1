"""tfaudio-runtime: tfaudio without TensorFlow, for devices (Raspberry Pi, boards, app build machines).

The same `tfaudio` import package as the full distribution in the folder above, with only the
requirements of its TensorFlow-free part (NumPy, soundfile, soxr, ai-edge-litert): `tfaudio.runtime`
(TFLiteModel, metadata), `tfaudio.io`, `tfaudio.bench`, and `tfaudio bench / predict / detect`
on `.tflite` files. Commands that need TensorFlow (train, export, ...) say so and stop.
Install one of the two distributions, not both (like tensorflow / tensorflow-cpu):

    pip install ./tfaudio-runtime        # from a checkout
"""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "tfaudio" / "__init__.py").read_text(), re.M).group(1)
REQUIRES = [line.strip() for line in (HERE / "requirements.txt").read_text().splitlines() if line.strip()[:1].isalnum()]

setup(
    name="tfaudio-runtime",
    version=VERSION,
    description="tfaudio's TensorFlow-free part: run and benchmark exported .tflite audio classifiers with LiteRT.",
    long_description=__doc__,
    long_description_content_type="text/plain",
    python_requires=">=3.11",
    # setup.py lives one level below the package; setuptools builds from the checkout in place.
    packages=find_packages(where=str(ROOT), include=["tfaudio", "tfaudio.*"]),
    package_dir={"tfaudio": "../tfaudio"},
    install_requires=REQUIRES,
    # `tfaudio detect mic` reads a microphone (as the full install's extra of the same name).
    extras_require={"sounddevice": ["sounddevice>=0.4"]},
    entry_points={"console_scripts": ["tfaudio=tfaudio.cli.main:main"]},
)
