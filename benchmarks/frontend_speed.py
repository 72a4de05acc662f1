"""How fast is the LogMelSpectrogram frontend, in Keras and TFLite, compared with librosa and kapre?

One run measures, on the same real FSDD clips (8 kHz, 1 s, padded/cropped):
  * tfaudio LogMelSpectrogram's training path (tf.signal.rfft; what `fit` and Keras inference
    run): Keras graph (tf.function) at batch 32 and 1, Keras eager at batch 32, and the batch-32
    graph under XLA (`jit_compile=True`, as `model.compile(jit_compile=True)` would run it);
  * its export path (the builtin DFT convolution, traced inside `builtin_ops_only()` as
    `to_tflite` does) with gain_stages=2 (the default) and 1: Keras graph, TFLite float and full
    int8 (batch 32 and 1 on the same dynamic-batch model), and the int8 error vs float;
  * librosa.feature.melspectrogram + power_to_db, one clip at a time (float32 input);
  * kapre 0.3 `get_melspectrogram_layer` (tf.signal.stft) in Keras graph mode (plain and XLA), and kapre's TFLite
    variant (STFTTflite/MagnitudeTflite, batch 1 only).
Every measurement uses one thread (TF intra/inter-op threads = 1, TFLite num_threads=1; librosa's
numpy FFT is single-threaded), and reports the best of `--repeats` passes over all clips in clips/s,
with ratios to librosa and to kapre. Output: JSON + a markdown table under benchmarks/results/.

Run: python benchmarks/frontend_speed.py [--clips 256] [--repeats 3]   (about 1-2 minutes)
"""

import argparse
import glob
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

from benchmarks._results import cpu_allocator  # noqa: E402
from tfaudio.backend import keras  # noqa: E402
from tfaudio.export import TFLiteModel, tflite_op_names, to_tflite  # noqa: E402
from tfaudio.layers import LogMelSpectrogram  # noqa: E402
from tfaudio.ops.stft import builtin_ops_only  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_RATE, SAMPLES = 8000, 8000
FFT_LENGTH, FRAME_STEP, NUM_MEL_BINS = 256, 80, 40
BATCH = 32


def load_clips(root, count):
    import soundfile as sf

    paths = sorted(glob.glob(os.path.join(root, "recordings", "*.wav")))
    paths = paths[:: max(1, len(paths) // count)][:count]
    clips = []
    for path in paths:
        audio, rate = sf.read(path, dtype="float32")
        assert rate == SAMPLE_RATE, (path, rate)
        clips.append(np.pad(audio[:SAMPLES], (0, max(0, SAMPLES - len(audio)))))
    return np.stack(clips)


def best_rates(runners, repeats):
    """clips/s of each runner's fastest pass, by wall time and by this process's CPU time.

    `runners`: name -> (run, clips). The passes are interleaved (every method once per round)
    so that load from other processes on a shared machine hits all methods alike; one warm-up
    pass first. Every method is single-threaded, so CPU time is what it costs even when other
    jobs share the cores; wall time is inflated by them.
    """
    for run, clips in runners.values():
        run(clips)
    best = {name: float("inf") for name in runners}
    best_cpu = {name: float("inf") for name in runners}
    for _ in range(repeats):
        for name, (run, clips) in runners.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run(clips)
            best_cpu[name] = min(best_cpu[name], time.process_time() - start_cpu)
            best[name] = min(best[name], time.perf_counter() - start)
    wall = {name: len(runners[name][1]) / seconds for name, seconds in best.items()}
    cpu = {name: len(runners[name][1]) / max(seconds, 1e-9) for name, seconds in best_cpu.items()}
    return wall, cpu


def batched(fn, batch_size):
    def run(clips):
        for i in range(0, len(clips), batch_size):
            fn(clips[i : i + batch_size])

    return run


def librosa_runner():
    import librosa

    def run(clips):
        for clip in clips:
            mel = librosa.feature.melspectrogram(
                y=clip, sr=SAMPLE_RATE, n_fft=FFT_LENGTH, hop_length=FRAME_STEP, n_mels=NUM_MEL_BINS
            )
            librosa.power_to_db(mel)

    return run, librosa.__version__


def kapre_model(tflite_variant):
    import kapre
    from kapre import time_frequency as tfq
    from kapre import time_frequency_tflite as tfq_lite
    from kapre.composed import get_melspectrogram_layer

    if not tflite_variant:
        layer = get_melspectrogram_layer(
            input_shape=(SAMPLES, 1), n_fft=FFT_LENGTH, hop_length=FRAME_STEP, sample_rate=SAMPLE_RATE,
            n_mels=NUM_MEL_BINS, return_decibel=True, input_data_format="channels_last",
            output_data_format="channels_last",
        )
        return layer, kapre.__version__
    # kapre's TFLite path: STFTTflite/MagnitudeTflite replace tf.signal.stft; batch size 1 only.
    inputs = keras.Input((SAMPLES, 1), batch_size=1)
    x = tfq_lite.STFTTflite(n_fft=FFT_LENGTH, hop_length=FRAME_STEP, input_data_format="channels_last",
                            output_data_format="channels_last")(inputs)
    x = tfq_lite.MagnitudeTflite()(x)
    x = tfq.ApplyFilterbank(type="mel", data_format="channels_last", filterbank_kwargs=dict(
        sample_rate=SAMPLE_RATE, n_freq=FFT_LENGTH // 2 + 1, n_mels=NUM_MEL_BINS, f_min=0.0, f_max=None,
        htk=False, norm="slaney"))(x)
    x = tfq.MagnitudeToDecibel()(x)
    return keras.Model(inputs, x), kapre.__version__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd", default=os.environ.get("TFAUDIO_FSDD", os.path.join(HERE, "..", "..", "shared", "data", "fsdd")))
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    clips = load_clips(args.fsdd, args.clips)
    work = tempfile.mkdtemp(prefix="frontend_speed_")
    runners, notes = {}, []

    layer = LogMelSpectrogram(
        sample_rate=SAMPLE_RATE, fft_length=FFT_LENGTH, frame_step=FRAME_STEP, num_mel_bins=NUM_MEL_BINS
    )
    train_graph = tf.function(layer, input_signature=[tf.TensorSpec([None, SAMPLES], tf.float32)])
    runners["tfaudio keras graph, training path (FFT) (batch 32)"] = (batched(train_graph, BATCH), clips)
    # What `model.compile(jit_compile=True)` makes of the same layer (tfaudio's trainer compiles without XLA).
    train_xla = tf.function(layer, input_signature=[tf.TensorSpec([None, SAMPLES], tf.float32)], jit_compile=True)
    runners["tfaudio keras graph, training path (FFT), XLA jit_compile=True (batch 32)"] = (batched(train_xla, BATCH), clips)
    runners["tfaudio keras graph, training path (FFT) (batch 1)"] = (batched(train_graph, 1), clips)
    runners["tfaudio keras eager, training path (FFT) (batch 32)"] = (batched(layer, BATCH), clips)

    sizes, int8_error = {}, {}
    for stages in (2, 1):  # 2 is the default (int8-friendly gain staging), 1 the plain graph
        tag = f"gain_stages={stages}"
        layer = LogMelSpectrogram(
            sample_rate=SAMPLE_RATE, fft_length=FFT_LENGTH, frame_step=FRAME_STEP, num_mel_bins=NUM_MEL_BINS,
            gain_stages=stages,
        )
        inputs = keras.Input((SAMPLES,))
        model = keras.Model(inputs, layer(inputs))
        with builtin_ops_only():  # the export path, as to_tflite traces it
            graph = tf.function(layer).get_concrete_function(tf.TensorSpec([None, SAMPLES], tf.float32))
        runners[f"tfaudio keras graph, export path (DFT) {tag} (batch 32)"] = (batched(graph, BATCH), clips)

        float_path = to_tflite(model, os.path.join(work, f"logmel{stages}_float.tflite"))
        # Calibrate on the even clips, measure int8 error on the odd ones.
        int8_path = to_tflite(model, os.path.join(work, f"logmel{stages}_int8.tflite"), quantize="int8",
                              representative_data=clips[::2])
        float_runner, int8_runner = TFLiteModel(float_path), TFLiteModel(int8_path)
        for kind, runner in (("float", float_runner), ("int8", int8_runner)):
            for batch_size in (BATCH, 1):
                runners[f"tfaudio tflite {kind}, {tag} (batch {batch_size})"] = (batched(runner, batch_size), clips)
        sizes[tag] = dict(float_bytes=os.path.getsize(float_path), int8_bytes=os.path.getsize(int8_path))
        with builtin_ops_only():
            expected = layer(clips[1::2]).numpy()
        error = np.abs(int8_runner.predict(clips[1::2]) - expected)
        peak = expected.max(axis=(1, 2), keepdims=True)
        int8_error[tag] = {
            "mean_db": round(float(error.mean()), 2),
            **{f"mean_db_within_{w}db_of_clip_peak": round(float(error[expected >= peak - w].mean()), 2) for w in (10, 20, 40)},
        }

    run_librosa, librosa_version = librosa_runner()
    runners["librosa (one clip at a time)"] = (run_librosa, clips)

    kapre_version = None
    try:
        kapre_layer, kapre_version = kapre_model(tflite_variant=False)
        kapre_graph = tf.function(lambda x: kapre_layer(x), input_signature=[tf.TensorSpec([None, SAMPLES, 1], tf.float32)])
        runners["kapre keras graph (batch 32)"] = (batched(kapre_graph, BATCH), clips[..., None])
        kapre_xla = tf.function(lambda x: kapre_layer(x), input_signature=[tf.TensorSpec([None, SAMPLES, 1], tf.float32)],
                                jit_compile=True)  # fmt: skip
        runners["kapre keras graph, XLA jit_compile=True (batch 32)"] = (batched(kapre_xla, BATCH), clips[..., None])
    except Exception as e:  # report why rather than failing the whole benchmark
        notes.append(f"kapre Keras layer could not run: {type(e).__name__}: {e}")
    try:
        kapre_lite, _ = kapre_model(tflite_variant=True)
        kapre_path = to_tflite(kapre_lite, os.path.join(work, "kapre_float.tflite"), batch_size=1)
        kapre_runner = TFLiteModel(kapre_path)
        runners["kapre tflite float (batch 1)"] = (batched(kapre_runner, 1), clips[..., None])
        notes.append(f"kapre TFLite ops: {', '.join(tflite_op_names(kapre_path))} (fixed batch 1)")
    except Exception as e:
        notes.append(f"kapre TFLite variant could not be converted/run: {type(e).__name__}: {str(e)[:500]}")

    notes.append(f"tfaudio TFLite float ops (gain_stages=1): {', '.join(tflite_op_names(float_path))} (dynamic batch)")
    notes.append(f"tfaudio TFLite sizes (bytes): {json.dumps(sizes)}")
    notes.append(
        "tfaudio int8 vs float Keras on the odd clips (calibrated on the even ones), dB: " + json.dumps(int8_error)
    )
    notes.append(
        "Outputs are not identical across libraries: tfaudio and librosa use center=True (101 frames, power mel, "
        "dB with top_db=80); kapre uses no centring (97 frames) and a magnitude mel with its own dB floor. "
        "The work per clip is the same DFT size, hop and number of mel bins."
    )
    notes.append(
        "Targets (issue 13) compare the plain Keras graphs: tfaudio's training path at batch 32 against kapre's at "
        "batch 32 and against librosa. The XLA rows (`jit_compile=True`, compiled in the warm-up pass) show what "
        "`model.compile(jit_compile=True)` gives both layers; tfaudio's trainer compiles without XLA, and a "
        "SavedModel holding an XLA function needs TF Serving's experimental `--xla_cpu_compilation_enabled` "
        "(tensorflow/serving#1858), so the layer does not force it."
    )

    results, cpu_results = best_rates(runners, args.repeats)
    allocator = cpu_allocator()  # one process: tfaudio, librosa and kapre all run on it
    librosa_rate = results["librosa (one clip at a time)"]
    kapre_rate = results.get("kapre keras graph (batch 32)")
    librosa_cpu = cpu_results["librosa (one clip at a time)"]
    kapre_cpu = cpu_results.get("kapre keras graph (batch 32)")
    rows = [
        {
            "method": name,
            "clips_per_s": round(rate, 1),
            "vs_librosa": round(rate / librosa_rate, 2),
            "vs_kapre_keras": round(rate / kapre_rate, 2) if kapre_rate else None,
            "clips_per_cpu_s": round(cpu_results[name], 1),
            "vs_librosa_cpu": round(cpu_results[name] / librosa_cpu, 2),
            "vs_kapre_keras_cpu": round(cpu_results[name] / kapre_cpu, 2) if kapre_cpu else None,
        }
        for name, rate in results.items()
    ]
    report = {
        "question": "LogMelSpectrogram throughput vs librosa and kapre, same clips, same run, one thread",
        "config": dict(sample_rate=SAMPLE_RATE, samples=SAMPLES, fft_length=FFT_LENGTH, frame_step=FRAME_STEP,
                       num_mel_bins=NUM_MEL_BINS, clips=len(clips), repeats=args.repeats, threads=1),
        "versions": dict(tensorflow=tf.__version__, keras=keras.__version__, librosa=librosa_version,
                         kapre=kapre_version, python=platform.python_version()),
        "machine": dict(processor=platform.processor() or platform.machine(), cpu_count=os.cpu_count()),
        "tf_cpu_allocator": allocator,
        "results": rows,
        "tflite_sizes_bytes": sizes,
        "int8_error_db": int8_error,
        "notes": notes,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "frontend_speed.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = [
        "# Frontend speed: LogMelSpectrogram vs librosa vs kapre",
        "",
        f"{len(clips)} FSDD clips, 1 s at 8 kHz; fft_length={FFT_LENGTH}, frame_step={FRAME_STEP}, "
        f"num_mel_bins={NUM_MEL_BINS}; one thread everywhere; best of {args.repeats} interleaved passes (shared machine: absolute rates are noisy, compare within a run). "
        f"TF {tf.__version__}, librosa {librosa_version}, kapre {kapre_version}. Command: `python benchmarks/frontend_speed.py "
        f"--clips {args.clips} --repeats {args.repeats}`; run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; TF CPU allocator {allocator} "
        "(`import tfaudio` asks for BFC before the first tensor; kapre runs in the same process, on the same one).",
        "",
        "Columns: clips per CPU second (this process's CPU time: steady under load) and per wall second.",
        "",
        "| method | clips/CPU s | x librosa (CPU) | x kapre Keras graph (CPU) | clips/s (wall) | x librosa (wall) | x kapre (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        vs_kapre = "" if row["vs_kapre_keras"] is None else f"{row['vs_kapre_keras']:.2f}"
        vs_kapre_cpu = "" if row["vs_kapre_keras_cpu"] is None else f"{row['vs_kapre_keras_cpu']:.2f}"
        lines.append(
            f"| {row['method']} | {row['clips_per_cpu_s']:.1f} | {row['vs_librosa_cpu']:.2f} | {vs_kapre_cpu} "
            f"| {row['clips_per_s']:.1f} | {row['vs_librosa']:.2f} | {vs_kapre} |"
        )
    lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    with open(os.path.join(args.out, "frontend_speed.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
