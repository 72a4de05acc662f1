"""Do MediaPipe and a bare LiteRT interpreter get tfaudio's accuracy from its `.tflite` files?

Trains the narrowed SincNet of tests/models/test_sincnet_fsdd.py on FSDD's official split (same
seed and epochs), exports float and full int8 with labels (standard metadata, softmax output,
peak normalisation in float inside the int8 graph), and scores the 300 test clips with: Keras,
tfaudio's runner (`TFLiteModel`), a plain `ai_edge_litert.Interpreter` fed each raw clip, and
MediaPipe's `AudioClassifier` (audio clips mode). Writes benchmarks/results/deploy_fsdd.{json,md}
with accuracies, top-1 agreement with the runner and the largest score difference.

Run: python benchmarks/deploy_fsdd.py [--epochs 5]
"""

import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = {"sinc_filters": 32, "sinc_kernel_size": 101, "conv_filters": [32, 32], "dense_units": [256, 256]}


def _arrays(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--out", default=os.path.join(HERE, "results", "deploy_fsdd"))
    args = p.parse_args()

    from tests.conftest import fsdd_root
    from tests.export._mediapipe import clip_scores, plain_litert_scores
    from tfaudio.backend import keras
    from tfaudio.data import fsdd
    from tfaudio.export import TFLiteModel, to_tflite
    from tfaudio.models import build

    keras.utils.set_random_seed(0)
    train_ds, test_ds, labels = fsdd(str(fsdd_root()), sample_rate=8000, clip_seconds=1.0, batch_size=32)
    model = build("sincnet", num_classes=len(labels), sample_rate=8000, clip_seconds=1.0, **SMALL)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_ds, epochs=args.epochs, verbose=2)
    x_test, y_test = _arrays(test_ds)
    x_calib, _ = _arrays(train_ds.take(8))
    report = {"model": "sincnet", "overrides": SMALL, "epochs": args.epochs, "test_clips": int(len(y_test))}
    report["keras_float_accuracy"] = float((model.predict(x_test, verbose=0).argmax(-1) == y_test).mean())
    with tempfile.TemporaryDirectory() as tmp:
        for quantize in (None, "int8"):
            name = quantize or "float"
            path = os.path.join(tmp, f"{name}.tflite")
            to_tflite(model, path, quantize=quantize, representative_data=x_calib, labels=list(labels))
            runner = TFLiteModel(path).predict(x_test, batch_size=50)
            plain = plain_litert_scores(path, x_test)
            mediapipe, _ = clip_scores(path, x_test, 8000, len(labels))
            report[name] = {
                "runner_accuracy": float((runner.argmax(-1) == y_test).mean()),
                "plain_litert_accuracy": float((plain.argmax(-1) == y_test).mean()),
                "mediapipe_accuracy": float((mediapipe.argmax(-1) == y_test).mean()),
                "mediapipe_top1_equals_runner": float((mediapipe.argmax(-1) == runner.argmax(-1)).mean()),
                "mediapipe_max_abs_score_diff": float(np.abs(mediapipe - runner).max()),
                "size_bytes": os.path.getsize(path),
            }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=2)
    lines = [
        "# FSDD official test split (300 clips, unseen takes): tfaudio runner vs plain LiteRT vs MediaPipe",
        "",
        f"SincNet {SMALL}, {args.epochs} epochs, Keras float accuracy {report['keras_float_accuracy']:.3f}.",
        "",
        "| file | runner acc | plain LiteRT acc | MediaPipe acc | MediaPipe top-1 = runner | max abs score diff | size |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("float", "int8"):
        r = report[name]
        lines.append(
            f"| {name} | {r['runner_accuracy']:.3f} | {r['plain_litert_accuracy']:.3f} | {r['mediapipe_accuracy']:.3f} "
            f"| {r['mediapipe_top1_equals_runner']:.3f} | {r['mediapipe_max_abs_score_diff']:.2e} | {r['size_bytes'] / 1024:.0f} KiB |"
        )
    lines.append(
        f"\nint8 vs float accuracy (plain LiteRT, raw clips): {report['int8']['plain_litert_accuracy']:.3f} vs "
        f"{report['float']['plain_litert_accuracy']:.3f}."
    )
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
