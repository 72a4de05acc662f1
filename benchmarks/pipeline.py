"""How fast is the tfaudio input pipeline, and what does its cache buy during training?

One run measures, on the same FSDD training files (8 kHz WAVs), with the files already in the
OS page cache (every file is read once first) so that only decoding counts:
  * input pipeline throughput, clips/s, decoding + resampling to `--sample-rate` (16 kHz by
    default, so soxr really resamples 8 -> 16 kHz) + crop/pad to 1 s + batching:
      - `tfaudio.data.make_dataset` (parallel `tf.data` map, AUTOTUNE over the machine's cores),
        uncached; and with `cache="memory"`: first pass (fills the cache) and second pass;
      - a straightforward librosa loop: `librosa.load(path, sr=rate)` (soxr_hq) + crop/pad,
        one clip at a time, the way a plain training script would;
  * training steps/s of SincNet (`tfaudio.models.build("sincnet", ...)`, sizes from
    `--model-overrides`) fitting on the uncached vs the memory-cached pipeline (steady state:
    the second epoch of each, so tracing and cache filling are excluded).
Output: JSON + a markdown table under benchmarks/results/.

Run: python benchmarks/pipeline.py [--clips 1024] [--sample-rate 16000] [--train-clips 640]
     [--model-overrides '{"sinc_filters": 40, ...}']     (about 3-6 minutes on 2 busy cores)
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OVERRIDES = {
    "sinc_filters": 40,
    "sinc_kernel_size": 101,
    "conv_filters": [32, 32],
    "dense_units": [256],
    "pool_sizes": [4, 4, 4],
    "global_pooling": "avg",
}


def warm_page_cache(paths):
    for path in paths:
        with open(path, "rb") as f:
            f.read()


def time_dataset(dataset):
    start = time.perf_counter()
    count = 0
    for x, _ in dataset:
        count += int(x.shape[0])
    return count, time.perf_counter() - start


def librosa_loop(paths, rate, samples):
    import librosa

    start = time.perf_counter()
    out = np.zeros((len(paths), samples), np.float32)
    for i, path in enumerate(paths):
        audio, _ = librosa.load(path, sr=rate, mono=True)
        audio = audio[:samples]
        out[i, : len(audio)] = audio
    return len(paths), time.perf_counter() - start


class EpochTimes:
    def __init__(self):
        from tfaudio.backend import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.times.append(time.perf_counter() - outer._start)

        self.times = []
        self.callback = Callback()


def training_steps_per_second(split, rate, batch, cache, overrides, seed):
    from tfaudio.backend import keras
    from tfaudio.data import make_dataset
    from tfaudio.models import build
    from tfaudio.training import accuracy_metric, classification_loss

    ds = make_dataset(split, sample_rate=rate, clip_seconds=1.0, batch_size=batch, training=True, seed=seed, cache=cache)
    keras.utils.set_random_seed(seed)
    model = build("sincnet", 10, sample_rate=rate, clip_seconds=1.0, **overrides)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss=classification_loss(), metrics=[accuracy_metric()], jit_compile=False
    )
    timer = EpochTimes()
    model.fit(ds, epochs=2, verbose=0, shuffle=False, callbacks=[timer.callback])
    steps = int(np.ceil(len(split.paths) / batch))
    return {"steps": steps, "epoch_seconds": timer.times, "steps_per_second": steps / timer.times[-1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd", default=os.environ.get("TFAUDIO_FSDD", os.path.join(HERE, "..", "..", "shared", "data", "fsdd")))
    parser.add_argument("--clips", type=int, default=1024, help="Clips for the throughput comparison.")
    parser.add_argument("--train-clips", type=int, default=640, help="Clips per epoch for the steps/s comparison.")
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model-overrides", default=json.dumps(DEFAULT_OVERRIDES), help="JSON overrides of sincnet.")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    import tensorflow as tf

    from tfaudio.data import Split, fsdd_files, make_dataset

    train, _, _ = fsdd_files(args.fsdd)
    step = max(1, len(train.paths) // args.clips)
    paths, labels = train.paths[::step][: args.clips], train.labels[::step][: args.clips]
    split = Split(paths=tuple(paths), labels=tuple(labels))
    warm_page_cache(paths)
    rate, samples = args.sample_rate, args.sample_rate

    results = {"clips": len(paths), "sample_rate": rate, "cores": os.cpu_count(), "platform": platform.platform(),
               "tensorflow": tf.__version__, "throughput_clips_per_s": {}}
    tp = results["throughput_clips_per_s"]

    n, t = librosa_loop(paths, rate, samples)
    tp["librosa loop (load sr=16k soxr_hq + crop)"] = n / t
    print(f"librosa loop: {n / t:.1f} clips/s", flush=True)

    def pipeline(cache):
        return make_dataset(split, sample_rate=rate, clip_seconds=1.0, batch_size=args.batch_size, training=True,
                            seed=0, cache=cache, validate=False)

    n, t = time_dataset(pipeline(False))
    tp["tfaudio pipeline, no cache"] = n / t
    cached = pipeline("memory")
    n, t = time_dataset(cached)
    tp["tfaudio pipeline, cache=memory, 1st pass (fills cache)"] = n / t
    n, t = time_dataset(cached)
    tp["tfaudio pipeline, cache=memory, 2nd pass"] = n / t
    for k, v in tp.items():
        print(f"{k}: {v:.1f} clips/s", flush=True)
    base = tp["librosa loop (load sr=16k soxr_hq + crop)"]
    results["ratio_to_librosa"] = {k: v / base for k, v in tp.items()}

    if not args.skip_training:
        overrides = json.loads(args.model_overrides)
        tstep = max(1, len(train.paths) // args.train_clips)
        tsplit = Split(paths=tuple(train.paths[::tstep][: args.train_clips]), labels=tuple(train.labels[::tstep][: args.train_clips]))
        warm_page_cache(tsplit.paths)
        results["training"] = {"model": "sincnet", "overrides": overrides, "clips_per_epoch": len(tsplit.paths),
                               "batch_size": args.batch_size}
        for name, cache in (("no cache", False), ("cache=memory", "memory")):
            r = training_steps_per_second(tsplit, rate, args.batch_size, cache, overrides, seed=0)
            results["training"][name] = r
            print(f"SincNet training, {name}: {r['steps_per_second']:.2f} steps/s (epochs {r['epoch_seconds']})", flush=True)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "pipeline.json"), "w") as f:
        json.dump(results, f, indent=2)
    lines = [
        f"Input pipeline on {len(paths)} FSDD training clips, 8 kHz WAV -> {rate} Hz, 1 s crop/pad, batch "
        f"{args.batch_size}, {os.cpu_count()} cores (shared), files in the page cache.",
        "",
        "| pipeline | clips/s | x librosa loop |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v:.1f} | {results['ratio_to_librosa'][k]:.2f} |" for k, v in tp.items()]
    if "training" in results:
        tr = results["training"]
        lines += [
            "",
            f"SincNet training steps/s ({tr['clips_per_epoch']} clips/epoch, overrides {json.dumps(tr['overrides'])}), "
            "second epoch:",
            "",
            "| data | steps/s | epoch seconds (1st, 2nd) |",
            "|---|---|---|",
        ]
        for name in ("no cache", "cache=memory"):
            r = tr[name]
            lines.append(f"| {name} | {r['steps_per_second']:.2f} | {', '.join(f'{s:.1f}' for s in r['epoch_seconds'])} |")
    with open(os.path.join(args.out, "pipeline.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
