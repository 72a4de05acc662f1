"""Writes the reference `.tflite` files that every device report benchmarks (needs the full install).

Device reports compare boards only if they time the same files, and a board has no TensorFlow to
make them, so the files are kept in `benchmarks/devices/models/`: the keyword-spotting models
`ds_cnn` and `bc_resnet` with their default sizes, 12 classes, 16 kHz, 1 s, float32 and full int8
(float input/output, calibrated on 64 real Speech Commands clips). Weights are the builders' random
initialisation with a fixed seed: latency does not depend on the weights' values, only on the
graph, shapes and types, which are those of the trained models. `models.json` says what each file is.
(The default SincNet is left out: its float file is 33 MB, too big to keep in the repository.)

Run: python benchmarks/devices/make_models.py [--speech-commands PATH]     (about 2 minutes)
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

MODELS = ("ds_cnn", "bc_resnet")
NUM_CLASSES = 12
SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0
CALIBRATION_CLIPS = 64


def calibration_clips(root, count):
    from tfaudio.io import find_audio_files, load_audio

    files = find_audio_files(root)
    if not files:
        raise SystemExit(f"error: no audio files under {root} (give --speech-commands PATH)")
    picked = [files[i] for i in np.linspace(0, len(files) - 1, count).astype(int)]  # spread over the classes
    samples = int(SAMPLE_RATE * CLIP_SECONDS)
    clips = [load_audio(f, sample_rate=SAMPLE_RATE)[0][:samples] for f in picked]
    return np.stack([np.pad(c, (0, samples - len(c))) for c in clips]).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech-commands", default=str(REPO.parent / "shared" / "data" / "speech_commands"))
    parser.add_argument("--out", default=str(HERE / "models"))
    args = parser.parse_args(argv)

    from tfaudio.backend import keras
    from tfaudio.export import to_tflite
    from tfaudio.models import build

    clips = calibration_clips(args.speech_commands, CALIBRATION_CLIPS)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    index = []
    for name in MODELS:
        keras.utils.set_random_seed(0)
        model = build(name, NUM_CLASSES, sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS)
        metadata = {"sample_rate": SAMPLE_RATE, "clip_seconds": CLIP_SECONDS, "reference_model": name}
        for quantize in (None, "int8"):
            file = f"{name}_{'float' if quantize is None else quantize}.tflite"
            path = os.path.join(args.out, file)
            to_tflite(model, path, quantize=quantize, representative_data=clips if quantize else None, metadata=metadata)
            index.append(
                {
                    "file": file,
                    "model": name,
                    "quantize": quantize or "float32",
                    "num_classes": NUM_CLASSES,
                    "sample_rate": SAMPLE_RATE,
                    "clip_seconds": CLIP_SECONDS,
                    "parameters": int(model.count_params()),
                    "size_bytes": os.path.getsize(path),
                    "tfaudio_commit": commit.stdout.strip() or None,
                }
            )
            print(f"{path}: {index[-1]['size_bytes'] / 1024:.1f} KiB", flush=True)
    with open(os.path.join(args.out, "models.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
