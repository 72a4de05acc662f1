"""Streaming `.tflite` files: one hop per invocation, state outside (extra inputs/outputs) or inside (resource variables).

External state: signature "step" with inputs `audio` `[1, hop_samples]` and `state_NNN`, outputs
`logits` and `new_state_NNN`; the caller feeds every `new_state_NNN` back as `state_NNN`. Any
interpreter runs it (TFLite Micro included). Internal state: signature "step" with input
`audio` and output `logits`; the states are resource variables (VAR_HANDLE, READ_VARIABLE,
ASSIGN_VARIABLE builtins) that persist in the interpreter between invocations, and a second
signature "reset" sets them back to zeros. Both are builtin ops only, float, dynamic-range or
full int8 (calibrated by streaming the representative audio hop by hop, so the state tensors get
the ranges they see in use). The file's "tfaudio" metadata says how to drive it (see
`tfaudio.streaming.StreamingRunner`).
"""

import shutil
import tempfile
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfaudio.atomic import write_bytes
from tfaudio.export import calibration
from tfaudio.export.tflite import _offending_ops
from tfaudio.export.tflite_metadata import write_metadata
from tfaudio.ops.stft import builtin_ops_only

STATE_MODES = ("external", "internal")
QUANTIZE_MODES = (None, "dynamic", "int8")
from tfaudio.streaming.runner import FORMAT


def state_input_name(index):
    return f"state_{index:03d}"


def state_output_name(index):
    return f"new_state_{index:03d}"


def _frozen_step(stream):
    """The step as a variable-free concrete function `(audio, *states) -> (logits, *new_states)`."""
    specs = [tf.TensorSpec([1, stream.hop_samples], tf.float32, name="audio")]
    specs += [tf.TensorSpec((1,) + shape, tf.float32, name=state_input_name(i)) for i, (_, shape) in enumerate(stream.state_specs)]

    @tf.function(input_signature=specs)
    def step(audio, *states):
        logits, new_states = stream.step_function(audio, list(states))
        outputs = {"logits": logits}
        for i, s in enumerate(new_states):
            outputs[state_output_name(i)] = s
        return outputs

    with builtin_ops_only():  # spectrogram layers trace their DFT path, not the FFT
        concrete = step.get_concrete_function()
    return convert_variables_to_constants_v2(concrete), concrete.structured_outputs


def _calibration_hops(stream, audio, max_hops):
    """(hop, states, warm_up) triples from streaming each representative recording in float from zeros.

    `warm_up` marks the hops before a full window: their states still hold the zero start.
    """
    pairs, used = [], 0
    for clip in audio:
        clip = np.asarray(clip, np.float32).reshape(-1)
        states = stream.initial_states()
        for k in range(len(clip) // stream.hop_samples):
            hop = clip[None, k * stream.hop_samples : (k + 1) * stream.hop_samples]
            warm = (k + 1) * stream.hop_samples < stream.window_samples
            pairs.append((hop, states, warm))
            used += not warm
            if used >= max_hops:
                break
            _, states = stream.step(hop, states)
        if used >= max_hops:
            break
    if not any(not warm for _, _, warm in pairs):
        raise ValueError(
            f"`representative_audio` must hold recordings of at least {stream.window_samples} samples "
            "(one window) to calibrate int8."
        )
    return pairs


def to_streaming_tflite(
    stream,
    path,
    state="external",
    quantize=None,
    representative_audio=None,
    max_calibration_hops=1000,
    labels=None,
    int8_io=False,
    like=None,
):
    """Writes a streaming `.tflite` file of a `StreamingModel`.

    Args:
        stream: `tfaudio.streaming.StreamingModel`.
        path: str. Where the file is written (atomically: a temporary file renamed).
        state: "external" (state tensors as inputs/outputs) or "internal"
            (resource variables in the interpreter). Defaults to "external".
        quantize: None (float32), "dynamic" (int8 weights) or "int8" (full
            integer; needs `representative_audio`).
        representative_audio: list of float32 recordings (1-D, at least one
            window long), streamed hop by hop to calibrate "int8".
        max_calibration_hops: int. Calibration steps used at most.
        labels: list of str or None. Stored in the metadata.
        int8_io: bool. With "int8" and external state: the audio, state and
            logits tensors are int8 too (TFLite Micro style); otherwise they stay
            float32 with quantize/dequantize at the edges. Defaults to False.
        like: str, bytes or None. With "int8": the non-streaming full-int8
            `.tflite` of `stream.model` (a path or its bytes, from
            `tfaudio.export.to_tflite`) whose quantisation parameters the
            streaming file takes, tensor by tensor (the states get the scale of
            the frames they buffer). Both files then round the same values the
            same way and their top-1 agrees window by window. None: such a file
            is calibrated here on windows cut from `representative_audio`.

    Returns:
        `path`.
    """
    if state not in STATE_MODES:
        raise ValueError(f"`state` must be one of {STATE_MODES}. Received: state={state!r}")
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"`quantize` must be one of {QUANTIZE_MODES}. Received: quantize={quantize!r}")
    if quantize == "int8" and not representative_audio:
        raise ValueError("quantize='int8' needs `representative_audio` (recordings to calibrate on). Received: None")
    if int8_io and (quantize != "int8" or state != "external"):
        raise ValueError(
            f"`int8_io=True` needs quantize='int8' and state='external'. Received: quantize={quantize!r}, state={state!r}"
        )
    frozen, structure = _frozen_step(stream)
    num_states = len(stream.state_specs)
    pairs = _calibration_hops(stream, representative_audio, max_calibration_hops) if quantize == "int8" else None

    # The converter goes through a SavedModel (signature names, resource variables); saved here without
    # custom gradients, which its own save keeps and then fails on (Keras' swish captures its beta, so
    # bc_resnet lost its signatures in external state and did not convert in internal state).
    saved = tempfile.mkdtemp(prefix="tfaudio_streaming_")
    if state == "external":
        module = _ExternalState(frozen, structure, stream)
        _save(module, saved, {"step": module.step.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=["step"])
        if pairs is not None:

            def representative():
                for hop, states, warm in pairs:
                    if warm:
                        continue  # zero-state hops: not what the states hold in use
                    yield {"audio": hop, **{state_input_name(i): s for i, s in enumerate(states)}}

    else:
        module = _InternalState(frozen, structure, stream)
        _save(module, saved, {"step": module.step.get_concrete_function(), "reset": module.reset.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=["step", "reset"])
        converter.experimental_enable_resource_variables = True
        if pairs is not None:

            def representative():
                # The calibrator's variables carry the state from one hop to the next: each clip is
                # streamed in order from a reset.
                for i, (hop, _, _) in enumerate(pairs):
                    if i and pairs[i - 1][2] is False and pairs[i][2] is True:
                        yield ("reset", {"keep": np.zeros([1], np.float32)})
                    yield ("step", {"audio": hop})

    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            if quantize == "int8":
                # Ranges measured by tfaudio (TensorFlow's calibrator records in-place ops' inputs wrong).
                calibrated = calibration.calibrate(converter)  # exact ranges of the tensors the window model lacks
                reference = _window_int8(stream, representative_audio, like, max_calibration_hops)
                ranges = calibration.ranges_like(calibrated, reference, scope=stream.model.name)
                # The logits by signature, not by name: the internal-state graph names them after its
                # variable-assigning wrapper, so the name match above misses them.
                logits = _signature_output(calibrated, "step", "logits")
                if logits is not None:
                    ranges[logits] = _output_range(reference)
                calibrated = calibration.with_ranges(calibrated, ranges)
                flatbuffer = calibration.quantize(calibrated, converter, int8_io=int8_io,
                                                  variable_quantization=state == "internal")
            else:
                flatbuffer = converter.convert()
    except Exception as e:  # the converter raises ConverterError and friends
        ops = _offending_ops(str(e))
        raise ValueError(
            f"The streaming model cannot be converted to TFLite with builtin ops only (state={state!r}, "
            f"quantize={quantize!r}). Offending ops: {', '.join(ops) or 'see below'}.\n{e}"
        ) from e
    finally:
        shutil.rmtree(saved, ignore_errors=True)

    metadata = {
        "streaming": {
            "format": FORMAT,
            "state": state,
            "quantize": quantize,
            "sample_rate": stream.sample_rate,
            "hop_samples": stream.hop_samples,
            "window_samples": stream.window_samples,
            "lookahead_samples": stream.lookahead_samples,
            "num_states": num_states,
            "num_classes": stream.num_classes,
        }
    }
    if labels is not None:
        metadata["labels"] = [str(x) for x in labels]
    flatbuffer = write_metadata(flatbuffer, metadata)
    return write_bytes(path, flatbuffer)


def _save(module, folder, signatures):
    tf.saved_model.save(module, folder, signatures=signatures,
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))  # fmt: skip


def _window_int8(stream, audio, like, max_windows):
    """Bytes of the non-streaming int8 file whose quantisation parameters the streaming file takes."""
    if like is not None:
        if isinstance(like, (bytes, bytearray)):
            return bytes(like)
        with open(like, "rb") as f:
            return f.read()
    import os
    import tempfile

    from tfaudio.export.tflite import to_tflite

    windows = []
    for clip in audio:
        clip = np.asarray(clip, np.float32).reshape(-1)
        ends = range(stream.window_samples, len(clip) + 1, stream.hop_samples)
        windows += [clip[end - stream.window_samples : end] for end in ends]
    step = max(1, len(windows) // max(1, min(max_windows, 200)))
    with tempfile.TemporaryDirectory() as folder:
        path = to_tflite(stream.model, os.path.join(folder, "window_int8.tflite"), quantize="int8",
                         representative_data=np.stack(windows[::step]), max_representative_examples=200)  # fmt: skip
        with open(path, "rb") as f:
            return f.read()


def _signature_output(flatbuffer, key, name):
    """(subgraph, tensor) of output `name` of signature `key` (or of the only signature) in a `.tflite` flatbuffer, or None."""
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(flatbuffer, 0)
    signatures = [root.SignatureDefs(i) for i in range(root.SignatureDefsLength())]
    for signature in signatures:
        if signature.SignatureKey().decode() == key or len(signatures) == 1:
            for j in range(signature.OutputsLength()):
                output = signature.Outputs(j)
                if output.Name().decode() == name:
                    return signature.SubgraphIndex(), output.TensorIndex()
    return None


def _output_range(quantized):
    """(min, max) of the int8 values behind the only output of a full-int8 `.tflite` (from `calibration.int8_ranges`)."""
    from ai_edge_litert.interpreter import Interpreter

    name = Interpreter(model_content=bytes(quantized)).get_output_details()[0]["name"]
    ranges = calibration.int8_ranges(quantized)
    if name not in ranges:
        raise ValueError(f"The reference file's output {name!r} is not a per-tensor int8 value.")
    return ranges[name]


def _outputs(frozen, structure, args):
    return tf.nest.pack_sequence_as(structure, tf.nest.flatten(frozen(*args)))


class _ExternalState(tf.Module):
    """The frozen step under the signature name "step", with named outputs."""

    def __init__(self, frozen, structure, stream):
        super().__init__(name="streaming_step")
        self._frozen = frozen
        self._structure = structure
        specs = [tf.TensorSpec([1, stream.hop_samples], tf.float32, name="audio")]
        specs += [
            tf.TensorSpec((1,) + shape, tf.float32, name=state_input_name(i))
            for i, (_, shape) in enumerate(stream.state_specs)
        ]

        def step(audio, *states):
            return _outputs(self._frozen, self._structure, (audio, *states))

        self.step = tf.function(step, input_signature=specs)


class _InternalState(tf.Module):
    """The states as variables, read and assigned around the frozen step."""

    def __init__(self, frozen, structure, stream):
        super().__init__(name="streaming_state")
        self._frozen = frozen
        self._structure = structure
        self._zeros = [np.zeros((1,) + shape, np.float32) for _, shape in stream.state_specs]
        self.states = [
            tf.Variable(z, trainable=False, name=state_input_name(i)) for i, z in enumerate(self._zeros)
        ]
        audio_spec = tf.TensorSpec([1, stream.hop_samples], tf.float32, name="audio")

        def step(audio):
            outputs = _outputs(self._frozen, self._structure, (audio, *[v.read_value() for v in self.states]))
            for i, v in enumerate(self.states):
                v.assign(outputs[state_output_name(i)])
            return {"logits": outputs["logits"]}

        def reset(keep):
            # `keep` (0: zeros, 1: leave the states): signatures need an input to be calibrated.
            for v, z in zip(self.states, self._zeros):
                v.assign(v * keep + tf.constant(z) * (1.0 - keep))
            return {"states": tf.constant([float(len(self.states))]) * keep}

        self.step = tf.function(step, input_signature=[audio_spec])
        self.reset = tf.function(reset, input_signature=[tf.TensorSpec([1], tf.float32, name="keep")])

