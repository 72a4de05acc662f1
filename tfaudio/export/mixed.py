"""Mixed int8 ("int8_mixed"): int8 where int8 is accurate and fast, float where it is not.

Full int8 gives every activation tensor one scale. These ops lose to that, measured on the small
wav2vec 2.0 and AST trained on FSDD (benchmarks/results/wav2vec2.md, ast.md):

- Normalisation statistics (Keras `LayerNormalization`, `GroupNormalization`, tfaudio's
  `InstanceNorm1D`): a variance's range spans orders of magnitude across rows, so one int8 scale
  rounds the small ones to zero and RSQRT blows them up.
- Attention: `BATCH_MATMUL` of two activations and `SOFTMAX`. XNNPACK has no int8 kernels for
  them, so they run 2-10x slower than float on TFLite's own kernels (per-op profile, `tfaudio bench
  --profile`), and the scores' range is wide.
- Convolutions with one input channel (a conv on the raw waveform, AST's patch embedding):
  XNNPACK's int8 kernel for them is 5-8x slower than its float one; their weights are tiny.
- The waveform front ends: AST's Kaldi fbank (`KaldiFbank`) and wav2vec 2.0's conv feature encoder
  (`Wav2Vec2FeatureEncoder`). Speech needs more than 256 levels before the log or the first
  normalisation: with its feature encoder in int8 (everything above float), the small wav2vec 2.0
  lost 3 points; in float, none.

Those ops stay float inside the graph (dequantize before, quantize after); every weight of the
matrix multiplications and the other convolutions stays int8, so the file keeps an int8 size.
Selective quantisation as TensorFlow's quantisation debugger does it (denylisted nodes).
"""

import contextlib
import re

# Keras layers (class names) whose ops all stay float.
FLOAT_LAYERS = (
    "LayerNormalization", "GroupNormalization", "InstanceNorm1D", "KaldiFbank", "Wav2Vec2FeatureEncoder",
)
# TFLite ops that stay float wherever they are.
FLOAT_OPS = ("SOFTMAX",)
# Data movement: float when it only carries float values between float ops (or from the float input).
_MOVEMENT_OPS = ("RESHAPE", "EXPAND_DIMS", "SQUEEZE", "TRANSPOSE", "PAD", "PADV2", "STRIDED_SLICE", "SLICE")


def layer_scope(names):
    """Pattern of the TFLite tensor names made inside Keras layers `names` (`.../NAME/...` or `NAME_3/...`)."""
    return re.compile(rf"(^|/)({'|'.join(map(re.escape, names))})(_\d+)?/")


def in_scope(scope, tensor_name):
    """Whether one of the `;`-separated parts of a TFLite tensor name matches `layer_scope(...)`."""
    return any(scope.search(part) for part in tensor_name.split(";"))


def layer_names(model):
    """Names of the layers of `model` (nested ones too) whose class is in `FLOAT_LAYERS`."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    return sorted({layer.name for layer in layers if type(layer).__name__ in FLOAT_LAYERS})


def _constant_tensors(content):
    """Indices of the tensors of subgraph 0 that hold data in the file (weights, constants)."""
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(content, 0)
    graph = root.Subgraphs(0)
    out = set()
    for t in range(graph.TensorsLength()):
        buffer = graph.Tensors(t).Buffer()
        if 0 < buffer < root.BuffersLength() and (root.Buffers(buffer).DataLength() or root.Buffers(buffer).Size()):
            out.add(t)
    return out


def float_nodes(calibrated, model):
    """Output tensor names of the ops of a calibrated model that stay float in "int8_mixed".

    Args:
        calibrated: bytes. The converter's calibrated float model (`calibration.calibrate`).
        model: the Keras model it was converted from (its layers name the scopes).

    Returns:
        list of str, the `denylisted_nodes` of `calibration.quantize`.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(calibrated))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    names = layer_names(model)
    scope = layer_scope(names) if names else None
    constant = _constant_tensors(calibrated)
    ops = interpreter._get_ops_details()
    keep = set()
    for n, op in enumerate(ops):
        kind, inputs = op["op_name"], [i for i in op["inputs"] if i >= 0]
        if kind in FLOAT_OPS:
            keep.add(n)
        elif kind == "BATCH_MATMUL":  # attention: activation x activation (no weights)
            if not any(i in constant for i in inputs):
                keep.add(n)
        elif kind == "CONV_2D" and len(inputs) > 1:  # filter [out, height, width, in]
            if tensors[inputs[1]]["shape"][-1] == 1:
                keep.add(n)
        if scope is not None and any(in_scope(scope, tensors[i]["name"]) for i in op["outputs"]):
            keep.add(n)
    keep |= _float_movement(ops, tensors, keep, interpreter)
    return [tensors[i]["name"] for n in sorted(keep) for i in ops[n]["outputs"]]


def _float_movement(ops, tensors, keep, interpreter):
    """Data-movement ops whose input is float (the model's input or a kept op's output) and whose
    consumers are all kept ops: kept too, so no QUANTIZE/DEQUANTIZE pair (and no int8 rounding)
    sits between two float ops. The largest such set (candidates removed until consistent)."""
    import numpy as np

    producer = {o: n for n, op in enumerate(ops) for o in op["outputs"]}
    consumers = {}
    for n, op in enumerate(ops):
        for i in op["inputs"]:
            consumers.setdefault(i, []).append(n)
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}
    graph_outputs = {d["index"] for d in interpreter.get_output_details()}
    candidates = {
        n for n, op in enumerate(ops)
        if n not in keep and op["op_name"] in _MOVEMENT_OPS and tensors[op["outputs"][0]]["dtype"] == np.float32
    }
    changed = True
    while changed:
        changed = False
        for n in sorted(candidates):
            source = ops[n]["inputs"][0]
            fed = source in graph_inputs or producer.get(source) in keep | candidates
            used = all(
                c in keep or c in candidates for o in ops[n]["outputs"] for c in consumers.get(o, [])
            ) and not any(o in graph_outputs for o in ops[n]["outputs"])
            if not (fed and used):
                candidates.discard(n)
                changed = True
    return candidates


@contextlib.contextmanager
def single_stage_fbanks(model):
    """While tracing for "int8_mixed": `KaldiFbank` layers without their int8 gain stages.

    The fbank runs in float there, where the stages change nothing (a staged path's energy is at
    most the plain path's, and the paths merge with a maximum: see `KaldiFbank`'s `gain_stages`)
    but cost two more DFT convolutions and their float weights (0.5 MB of the small AST's file).
    """
    layers = [
        layer for layer in model._flatten_layers(include_self=False, recursive=True)
        if type(layer).__name__ == "KaldiFbank" and getattr(layer, "_stage_clips", None)
    ]
    saved = [layer._stage_clips for layer in layers]
    for layer in layers:
        layer._stage_clips = []
    try:
        yield
    finally:
        for layer, clips in zip(layers, saved):
            layer._stage_clips = clips


def _subtract_form_call(original):
    def call(self, inputs, *args, **kwargs):
        import tensorflow as tf

        rank = len(inputs.shape)
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if (
            [a % rank for a in axes] != [rank - 1]
            or getattr(self, "rms_scaling", False)
            or inputs.dtype != tf.float32
        ):
            return original(self, inputs, *args, **kwargs)
        mean = tf.reduce_mean(inputs, axis=-1, keepdims=True)
        centered = inputs - mean
        variance = tf.reduce_mean(centered * centered, axis=-1, keepdims=True)
        x = centered * tf.math.rsqrt(variance + self.epsilon)
        if getattr(self, "scale", True) and getattr(self, "gamma", None) is not None:
            x = x * tf.cast(self.gamma, x.dtype)
        if getattr(self, "center", True) and getattr(self, "beta", None) is not None:
            x = x + tf.cast(self.beta, x.dtype)
        return x

    return call


@contextlib.contextmanager
def subtract_form_layer_norm():
    """While tracing: Keras `LayerNormalization` over the last axis as SUB/MUL/MEAN/RSQRT.

    Keras' own form lowers to NEG and SQUARED_DIFFERENCE, which have no int16 kernels in TFLite, so
    a model with layer norms did not convert to int16x8. The same function, other ops.
    """
    from tfaudio.backend import keras

    cls = keras.layers.LayerNormalization
    original = cls.call
    cls.call = _subtract_form_call(original)
    try:
        yield
    finally:
        cls.call = original

