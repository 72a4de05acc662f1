"""tfaudio: audio and speech classification in Keras, from model.fit to TFLite and TF Serving."""

import pathlib

from setuptools import find_packages, setup

# The TensorFlow-free requirements, shared with the device distribution in tfaudio-runtime/.
RUNTIME = pathlib.Path(__file__).resolve().parent / "tfaudio-runtime" / "requirements.txt"
RUNTIME_REQUIRES = [line.strip() for line in RUNTIME.read_text().splitlines() if line.strip()[:1].isalnum()]

setup(
    name="tfaudio",
    version="0.1.0",
    description="Keras/TensorFlow audio classification: SincNet, log-mel CNNs, wav2vec 2.0, AST; TFLite export.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["tfaudio", "tfaudio.*"]) + ["tfaudio.converters"],
    package_dir={"tfaudio.converters": "converters"},
    install_requires=[
        *RUNTIME_REQUIRES,
        # `tensorflow` rather than `tensorflow-cpu`: tf-keras (for the [optimize] path)
        # depends on it by name, and the same wheel runs on CPU and GPU machines.
        "tensorflow>=2.21,<2.22",
        "keras>=3.10",
        # `tfaudio train` writes TensorBoard logs; TF 2.21 no longer installs it.
        "tensorboard>=2.19",
        # tfaudio.export.metadata_flatbuffer writes TFLite Model Metadata with it (TensorFlow installs it too).
        "flatbuffers>=24.3.25",
    ],
    extras_require={
        "convert": ["safetensors>=0.4"],
        "optimize": ["tf-keras>=2.21,<2.22", "tensorflow-model-optimization>=0.8"],
        "io": ["tensorflow-io>=0.37"],
        "plot": ["matplotlib>=3.7"],
        # `tfaudio detect mic`: live microphone input.
        "sounddevice": ["sounddevice>=0.4"],
        # MediaPipe Tasks, the client the exported .tflite files are tested with (not needed to write them).
        "mediapipe": ["mediapipe>=1.2"],
        "dev": [
            "matplotlib>=3.7",
            "pytest>=8",
            "safetensors>=0.4",
            "tf-keras>=2.21,<2.22",
            "tensorflow-model-optimization>=0.8",
            "librosa>=0.10",
            "scipy>=1.11",
            "torch>=2.4",
            "transformers>=4.45",
            # mediapipe is installed by a second pip call (README, .ci/run): it needs absl-py~=2.3,
            # tensorflow-model-optimization 0.8 pins absl-py~=1.2 (and runs with 2.x: its tests pass).
        ],
    },
    entry_points={"console_scripts": ["tfaudio=tfaudio.cli.main:main"]},
)
