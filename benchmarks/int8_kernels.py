"""How much faster are XNNPACK's int8 kernels than its float ones on this CPU? One op, float vs full int8.

Each case is a Keras model of one layer with the shape it has in a tfaudio model (DS-CNN's
first conv and pointwise convs, BC-ResNet's head, the frontend's DFT convolution, SincNet's and
AlexNet's dense layers, a ResNet 3x3 conv, a depthwise conv, a transformer projection),
converted to float and full-int8 TFLite (`tfaudio.export.to_tflite`, calibrated on the random
inputs it is timed on). Each file is timed on the ai_edge_litert interpreter (XNNPACK, batch 1,
1 thread) in interleaved rounds; the figure is the median over rounds of this process's CPU
time per invoke (blocks of invokes lasting ~5 ms), so other jobs on a shared machine slow every
file alike. int8 / float is that ratio; GMAC/s counts the layer's multiply-accumulates.

This answers whether "full int8 at most 0.5x float" is reachable on this CPU at all: where the
single op runs no faster than that in int8, no graph change around it can make the model so.

Run: python benchmarks/int8_kernels.py [--rounds 21]   (about 1 minute; writes
benchmarks/results/int8_kernels.{json,md})
"""

import argparse
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (input shape without batch, layer factory name, layer kwargs, where it occurs)
CASES = {
    "conv 1ch 10x4 s2 (ds_cnn conv_1)": ((101, 40, 1), "conv", dict(filters=64, kernel_size=(10, 4), strides=2,
                                          padding="same"), "DS-CNN S first conv on the 101x40 log-mel"),  # fmt: skip
    "conv 4ch 5x2 (the same, space-to-depth)": ((55, 21, 4), "conv", dict(filters=64, kernel_size=(5, 2)),
                                                "the same sums after a 2x2 space-to-depth"),  # fmt: skip
    "conv 8ch 3x2 ->128 (the same sums, 4x2 blocks)": ((28, 21, 8), "conv", dict(filters=128, kernel_size=(3, 2)),
                                                     "the same sums, 2x2 output phases of 4x2 input blocks"),  # fmt: skip
    "conv 1ch 5x5 s(1,2) (bc_resnet head)": ((51, 40, 1), "conv", dict(filters=32, kernel_size=5, strides=(1, 2),
                                              padding="same"), "BC-ResNet-2 head, 20 ms hop"),  # fmt: skip
    "conv 8ch 2x3 ->128 (the same sums, 4x2 blocks)": ((14, 22, 8), "conv", dict(filters=128, kernel_size=(2, 3)),
                                                     "the same sums, 4 time phases of 4x2 input blocks"),  # fmt: skip
    "conv 1x1 64->64 (ds_cnn pointwise)": ((51, 20, 64), "conv", dict(filters=64, kernel_size=1), "DS-CNN S"),
    "conv 1x1 32->32 (bc_resnet pointwise)": ((51, 10, 32), "conv", dict(filters=32, kernel_size=1), "BC-ResNet-2"),
    "depthwise 3x3 64ch (ds_cnn)": ((51, 20, 64), "depthwise", dict(kernel_size=3, padding="same"), "DS-CNN S"),
    "depthwise 1x3 16ch (bc_resnet freq)": ((51, 20, 16), "depthwise", dict(kernel_size=(1, 3), padding="same"),
                                            "BC-ResNet-2 stage 1"),  # fmt: skip
    "conv 3x3 64->64 (resnet)": ((28, 28, 64), "conv", dict(filters=64, kernel_size=3, padding="same"), "ResNet-like"),
    "conv 3x3 256->256 (vgg)": ((8, 8, 256), "conv", dict(filters=256, kernel_size=3, padding="same"), "VGG-like"),
    "DFT conv 1x3 160->512 (16 kHz frontend)": ((1, 103, 160), "conv", dict(filters=512, kernel_size=(1, 3)),
                                                "LogMel 512-point DFT, 10 ms hop (polyphase)"),  # fmt: skip
    "dense 2048->2048 (sincnet)": ((2048,), "dense", dict(units=2048), "SincNet's MLP, batch 1 (GEMV)"),
    "dense 9216->4096 (alexnet)": ((9216,), "dense", dict(units=4096), "AlexNet fc6, batch 1 (GEMV)"),
    "dense 98x256->64 (transformer)": ((98, 256), "dense", dict(units=64), "small AST feed-forward out"),
}


def build(input_shape, kind, kwargs):
    from tfaudio.backend import keras

    x = keras.Input(shape=input_shape)
    if kind == "conv":
        layer = keras.layers.Conv2D(**kwargs)
    elif kind == "depthwise":
        layer = keras.layers.DepthwiseConv2D(**kwargs)
    else:
        layer = keras.layers.Dense(**kwargs)
    y = layer(x)
    return keras.Model(x, y), layer


def macs(model, layer, kind):
    out = model.outputs[0].shape[1:]
    kernel = layer.kernel.shape
    if kind == "conv":  # per output element: kh * kw * cin
        return int(np.prod(out)) * int(np.prod(kernel[:3]))
    if kind == "depthwise":
        return int(np.prod(out)) * int(kernel[0] * kernel[1])
    return int(np.prod(out[:-1] or [1])) * int(kernel[0] * kernel[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    import tensorflow as tf

    from _results import write_results
    from tfaudio.bench.profile import _Timed
    from tfaudio.export import to_tflite

    work = tempfile.mkdtemp(prefix="int8_kernels_")
    rng = np.random.default_rng(0)
    timers, info = {}, {}
    for name, (shape, kind, kwargs, where) in CASES.items():
        model, layer = build(shape, kind, kwargs)
        feed = rng.normal(size=(1,) + shape).astype(np.float32)
        calib = rng.normal(size=(16,) + shape).astype(np.float32)
        info[name] = {"input_shape": list(shape), "kind": kind, "layer": kwargs, "where": where,
                      "macs": macs(model, layer, kind)}  # fmt: skip
        for variant in ("float", "int8"):
            path = os.path.join(work, f"{len(timers)}.tflite")
            to_tflite(model, path, quantize=None if variant == "float" else "int8",
                      representative_data=calib if variant == "int8" else None, batch_size=1)  # fmt: skip
            with open(path, "rb") as f:
                timer = _Timed(f.read(), 1, [feed], clock=time.process_time)  # float I/O in both variants
            timer.calibrate(5.0)
            timers[(name, variant)] = timer
        print("converted", name, flush=True)
    for _ in range(args.rounds):
        for timer in timers.values():
            timer.block()

    rows = {}
    for name, entry in info.items():
        f = float(np.median(timers[(name, "float")].samples))
        q = float(np.median(timers[(name, "int8")].samples))
        rows[name] = dict(entry, float_ms=f, int8_ms=q, int8_over_float=q / f,
                          float_gmacs=entry["macs"] / f / 1e6, int8_gmacs=entry["macs"] / q / 1e6)  # fmt: skip
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            text = fh.read()
        cpu = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name"))
        flags = next(line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags"))
        isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    except (OSError, StopIteration):
        isa = []
    results = {
        "question": "XNNPACK int8 vs float speed of single ops with tfaudio's shapes, same run",
        "command": "python benchmarks/int8_kernels.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "isa": isa,
        "tensorflow": tf.__version__,
        "rounds": args.rounds,
        "load_average": round(os.getloadavg()[0], 1),
        "cases": rows,
    }
    lines = [
        "# XNNPACK int8 vs float, one op at a time",
        "",
        f"Command: `{results['command']}`; run {results['date']}; {cpu} ({', '.join(isa)}); TF {tf.__version__}; "
        f"ai_edge_litert interpreter (XNNPACK), 1 thread, batch 1; median over {args.rounds} interleaved rounds of "
        f"CPU time per invoke (load average {results['load_average']} on {os.cpu_count()} shared cores: ratios "
        "within the run are what counts).",
        "",
        "| op (where) | input | MACs | float ms | int8 ms | int8 / float | float GMAC/s | int8 GMAC/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {'x'.join(map(str, r['input_shape']))} | {r['macs'] / 1e6:.2f}M | {r['float_ms']:.3f} "
            f"| {r['int8_ms']:.3f} | {r['int8_over_float']:.2f} | {r['float_gmacs']:.1f} | {r['int8_gmacs']:.1f} |"
        )
    lines += [
        "",
        "Reading: without VNNI (AVX-512 VNNI / AVX-VNNI), XNNPACK's x86 int8 GEMM widens int8 to int16 and "
        "multiplies pairs (`vpmaddwd`), about as many MACs per cycle as float FMA; int8 then wins only where "
        "memory traffic dominates (large dense weights at batch 1, read 4x smaller). Its int8 conv kernels also take "
        "input channels in groups of 8: the same 10x4 conv on 1 / 4 / 8 channels (rows 1-3) costs "
        + " / ".join(f"{r['int8_over_float']:.1f}x" for r in list(rows.values())[:3])
        + " float in int8, which is why tfaudio exports one-channel convs with stacked channels "
        "(`tfaudio.ops.polyphase`).",
        "",
    ]
    write_results(args.out, "int8_kernels", results, lines)


if __name__ == "__main__":
    main()
