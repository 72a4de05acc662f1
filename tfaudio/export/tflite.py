"""Conversion of Keras models to TFLite with builtin ops only (the runner is `tfaudio.runtime.TFLiteModel`)."""

import contextlib
import re
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfaudio.atomic import write_bytes
from tfaudio.export import calibration, mixed
from tfaudio.export.tflite_metadata import write_metadata, write_standard_metadata
from tfaudio.layers.peak_normalization import leading_peak_normalization
from tfaudio.ops.stft import builtin_ops_only
# The runner moved to tfaudio.runtime (no TensorFlow); these names stay importable from here.
from tfaudio.runtime import TFLiteModel, tflite_op_names  # noqa: F401
from tfaudio.runtime.normalization import peak_normalize

QUANTIZE_MODES = (None, "dynamic", "float16", "int8", "int16x8", "int8_mixed")
# Modes calibrated on representative data.
CALIBRATED_MODES = ("int8", "int16x8", "int8_mixed")


def _serving_function(model, batch_size, softmax=False):
    spec = []
    for inp in model.inputs:
        shape = [batch_size] + list(inp.shape[1:])
        spec.append(tf.TensorSpec(shape, tf.float32, name=inp.name.split(":")[0]))

    @tf.function(input_signature=spec)
    def serve(*args):
        out = tf.cast(model(args[0] if len(args) == 1 else list(args), training=False), tf.float32)
        return tf.nn.softmax(out, axis=-1) if softmax else out

    return serve


def _representative_dataset(data, model, limit, prepare=None):
    """Yields single-example float32 batches from arrays, iterables or a `tf.data.Dataset`.

    `prepare` maps each batch as a runner would before quantising it.
    """

    def gen():
        count = 0
        # TensorFlow's own convention: a callable returning an iterable of input lists.
        for item in data() if callable(data) else data:
            if isinstance(item, (tuple, list)) and len(model.inputs) == 1:
                item = item[0]  # (x, y) pairs from a training dataset
            x = np.asarray(item, dtype=np.float32)
            if x.ndim == len(model.inputs[0].shape) - 1:
                x = x[None]
            if prepare is not None:
                x = prepare(x)
            for row in x:
                yield [row[None]]
                count += 1
                if count >= limit:
                    return

    return gen


def _offending_ops(message):
    # TF op names are CamelCase (`tf.MatrixDeterminant`); lower-case hits are attributes.
    return sorted({op for op in re.findall(r"tf\.(\w+)", message) if op[0].isupper()})


def to_tflite(
    model,
    path,
    quantize=None,
    representative_data=None,
    batch_size=None,
    int8_io=False,
    max_representative_examples=200,
    metadata=None,
    labels=None,
    sample_rate=None,
    logits=True,
    quantization_aware=False,
):
    """Converts a Keras model to a `.tflite` file that uses TFLite builtin ops only.

    With `labels`, the file is a standard audio classifier that MediaPipe's
    `AudioClassifier` (and the TFLite Task Library) loads unmodified: the graph
    ends in a softmax, so its output is probabilities, and the file carries
    TFLite Model Metadata (input `AudioProperties` with the sample rate, the
    labels as the output's label file; see `tfaudio.export.tflite_metadata`).
    Without `labels` the output is the model's own (logits for tfaudio models).

    Full int8 with float I/O is self-contained: when the model's input goes
    straight into a `PeakNormalization` layer, that layer's ops stay float
    inside the graph and the QUANTIZE op comes after them, so a raw clip of any
    level keeps the full int8 input resolution in any runner (MediaPipe, a
    plain `ai_edge_litert.Interpreter`, Android, a Raspberry Pi).

    Args:
        model: keras.Model. Its inputs are float32.
        path: str. Where the `.tflite` file is written (atomically).
        quantize: None (float32), "dynamic" (int8 weights), "float16" (float16
            weights), "int8" (full integer: weights and activations, needs
            `representative_data`), "int16x8" (int16 activations, int8 weights;
            TFLite's reference kernels, slow) or "int8_mixed" (int8 weights and
            activations except where int8 loses accuracy or speed, which stay
            float inside the graph: see `tfaudio.export.mixed`; the deployable
            int8 form of the transformers, wav2vec 2.0 and AST).
        representative_data: raw (un-normalised) clips as arrays, an iterable
            of arrays or `(x, y)` pairs, a `tf.data.Dataset` of them, or
            TensorFlow's convention: a callable returning an iterable of input
            lists (`converter.representative_dataset`). Calibrates "int8" and
            "int16x8" and "int8_mixed".
        batch_size: int or None. None keeps the batch dimension dynamic.
        int8_io: bool. With "int8", make the model's input and output int8
            tensors too (otherwise they stay float32, with quantize/dequantize at
            the edges). An int8 input cannot be normalised in float, so such a
            file records `"input_normalization"` and the caller normalises
            (`TFLiteModel` does). MediaPipe needs float I/O. Defaults to False.
        max_representative_examples: int. Calibration examples used at most.
        metadata: dict or None. JSON-serialisable facts stored in the file
            under "tfaudio" (e.g. sample rate, clip length); `TFLiteModel.metadata`
            reads them back. A tfaudio `Task`'s `sample_rate` and `clip_seconds`
            are added unless given, and `"output"` ("probabilities" or "logits") and,
            for files whose runner must peak-normalise inputs before quantising
            them (int8_io, int16x8), `"input_normalization"` added.
        labels: list of str or None. Class names in output order; makes the
            file a standard audio classifier (see above). Needs no MediaPipe.
        sample_rate: int or None. The input's sample rate for the standard
            metadata; defaults to `metadata["sample_rate"]`, then to
            `model.sample_rate` (tfaudio models have it).
        logits: bool. Whether the model outputs logits, to which `labels`
            appends a softmax. False for a model that already outputs
            probabilities. Defaults to True.
        quantization_aware: bool. The model was made by
            `tfaudio.optimize.quantize_aware` and trained: with "int8", the
            ranges come from its fake-quant nodes, so no `representative_data`
            is needed; input and output stay float32, and a leading
            `PeakNormalization` is recorded for the runner (as with `int8_io`).
            Defaults to False.

    Returns:
        `path`.

    Raises:
        ValueError: bad arguments, or a model that needs ops outside the TFLite
            builtins (the message names them).
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"`quantize` must be one of {QUANTIZE_MODES}. Received: quantize={quantize!r}")
    if quantization_aware and (quantize != "int8" or int8_io or representative_data is not None):
        raise ValueError(
            "`quantization_aware=True` converts to int8 from the trained ranges, with float input and output: "
            f"use quantize='int8', no representative_data, int8_io=False. Received: quantize={quantize!r}, "
            f"int8_io={int8_io!r}, representative_data={'given' if representative_data is not None else None}"
        )
    if quantize in CALIBRATED_MODES and representative_data is None and not quantization_aware:
        raise ValueError(f"quantize={quantize!r} needs `representative_data` for calibration. Received: None")
    if int8_io and quantize != "int8":
        raise ValueError(f"`int8_io=True` needs quantize='int8'. Received: quantize={quantize!r}")
    sensitive = mixed.layer_names(model) if quantize == "int8" and not quantization_aware else []
    if sensitive:
        warnings.warn(
            f"Full int8 gives the ops of {', '.join(sensitive[:3])}"
            f"{', ...' if len(sensitive) > 3 else ''} one int8 scale per tensor. For the "
            "transformers (wav2vec 2.0, AST) that cost 15-30 points of accuracy; quantize='int8_mixed' keeps "
            "these ops in float at an int8 size (see tfaudio.export.mixed). Compare both on your data.",
            UserWarning,
            stacklevel=2,
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"`metadata` must be a dict or None. Received: metadata={metadata!r}")
    metadata = dict(metadata or {})
    for key in ("sample_rate", "clip_seconds"):  # a tfaudio Task's input format, for runners and the CLI
        if getattr(model, key, None) is not None:
            metadata.setdefault(key, getattr(model, key))
    if labels is not None:
        if isinstance(labels, str) or not hasattr(labels, "__len__"):
            raise ValueError(f"`labels` must be a list of class names. Received: labels={labels!r}")
        labels = [str(label) for label in labels]
        num_classes = model.outputs[0].shape[-1]
        if num_classes is not None and len(labels) != num_classes:
            raise ValueError(
                f"`labels` must have one name per output class ({num_classes}). Received: {len(labels)} labels"
            )
        metadata["labels"] = labels
        sample_rate = sample_rate or metadata.get("sample_rate") or getattr(model, "sample_rate", None)
        if sample_rate is None:
            raise ValueError(
                "`labels` makes a standard audio classifier, whose metadata needs the input's sample rate: pass "
                "`sample_rate`. Received: sample_rate=None"
            )
        metadata.setdefault("sample_rate", int(sample_rate))
        samples = model.inputs[0].shape[-1]
        if samples:
            metadata.setdefault("clip_seconds", samples / int(sample_rate))
    softmax = labels is not None and logits
    metadata["output"] = "probabilities" if (softmax or not logits) else "logits"

    normalization = leading_peak_normalization(model)
    # Full int8 with float input keeps the normalisation in float inside the graph;
    # other quantised files ask their runner to normalise before quantising.
    keep_float = (
        normalization is not None and quantize in ("int8", "int8_mixed") and not int8_io and not quantization_aware
    )
    prepare = None
    if normalization is not None and quantize in CALIBRATED_MODES and not keep_float:
        metadata["input_normalization"] = {"type": "peak", "floor": normalization.floor}
        prepare = lambda x: peak_normalize(x, normalization.floor)  # noqa: E731

    # Keras 3 variables are not frozen by the converter on their own (it leaves
    # READ_VARIABLE ops behind), so fold them into constants first.
    # Traced inside builtin_ops_only(): spectrogram layers take their DFT path, not the FFT.
    # int16x8: layer norms traced without NEG / SQUARED_DIFFERENCE, which have no 16x8 kernels;
    # int8_mixed: float fbanks without the gain stages that only int8 needs.
    with contextlib.ExitStack() as tracing:
        tracing.enter_context(builtin_ops_only())
        if quantize == "int16x8":
            tracing.enter_context(mixed.subtract_form_layer_norm())
        if quantize == "int8_mixed":
            tracing.enter_context(mixed.single_stage_fbanks(model))
        concrete = _serving_function(model, batch_size, softmax=softmax).get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize in CALIBRATED_MODES and not quantization_aware:
        converter.representative_dataset = _representative_dataset(
            representative_data, model, max_representative_examples, prepare
        )
    if quantize in ("int8", "int8_mixed") and not quantization_aware:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    if quantize == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    try:
        with warnings.catch_warnings():
            # Emitted for every calibrated model with float I/O; it means nothing to users.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            if quantize in ("int8", "int8_mixed") and not quantization_aware:
                # Ranges measured by tfaudio (TensorFlow's calibrator records in-place ops' inputs wrong).
                calibrated = calibration.calibrate(converter)
                denylisted = _float_nodes(calibrated, normalization.name) if keep_float else []
                if quantize == "int8_mixed":
                    denylisted += [n for n in mixed.float_nodes(calibrated, model) if n not in denylisted]
                flatbuffer = calibration.quantize(calibrated, converter, int8_io=int8_io, denylisted_nodes=denylisted)
            else:
                flatbuffer = converter.convert()
    except Exception as e:  # the converter raises ConverterError and friends
        ops = _offending_ops(str(e))
        raise ValueError(
            f"Model {model.name!r} cannot be converted to TFLite with builtin ops only "
            f"(quantize={quantize!r}{', quantization-aware' if quantization_aware else ''}). "
            f"Offending ops: {', '.join(ops) or 'see below'}.\n{e}"
        ) from e

    if metadata != {"output": "logits"}:  # a file without tfaudio metadata outputs logits too
        flatbuffer = write_metadata(flatbuffer, metadata)
    if labels is not None:
        flatbuffer = write_standard_metadata(
            flatbuffer,
            labels,
            int(sample_rate),
            name=model.name,
            description=_description(model, labels, int(sample_rate), quantize),
            version=str(metadata.get("version", 1)),
        )
    write_bytes(path, flatbuffer)
    return path


def _description(model, labels, sample_rate, quantize):
    samples = model.inputs[0].shape[-1]
    seconds = f"{samples / sample_rate:g} s" if samples else "clips"
    return (
        f"tfaudio {model.name}: classifies {seconds} of {sample_rate} Hz mono audio into {len(labels)} classes "
        f"({quantize or 'float32'} TFLite)."
    )


def _float_nodes(calibrated, layer_name):
    """Output tensor names of the ops of Keras layer `layer_name` in a calibrated model: they stay float.

    Selective quantisation as TensorFlow's quantisation debugger does it (denylisted nodes).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    scope = mixed.layer_scope([layer_name])
    denylisted = [names[i] for op in interpreter._get_ops_details() for i in op["outputs"] if mixed.in_scope(scope, names[i])]
    if not denylisted:
        raise ValueError(f"No TFLite ops found for the layer {layer_name!r} to keep in float.")
    return denylisted
