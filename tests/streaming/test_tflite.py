"""Streaming .tflite files: external and internal state, float and int8, builtin ops only, against the Keras model."""

import numpy as np
import pytest

from tests.streaming.models import ds_cnn_like, fit_readout, sliding_windows, stream_logits
from tfaudio.streaming import StreamingModel, StreamingRunner, to_streaming_tflite

# Float TFLite (XNNPACK) vs Keras on the same windows: different summation order, ~1e-7 relative.
ATOL = 1e-5


def op_names(path):
    """Every builtin op of every subgraph, read from the flatbuffer (custom ops as 'CUSTOM:name')."""
    from ai_edge_litert import schema_py_generated as schema

    with open(path, "rb") as f:
        root = schema.Model.GetRootAs(f.read(), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = set()
    for i in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        ops.add(f"CUSTOM:{code.CustomCode().decode()}" if builtin == schema.BuiltinOperator.CUSTOM else names[builtin])
    return ops


@pytest.fixture(scope="module")
def trained(word_clips):
    """A DS-CNN-like model whose readout is fitted on real clips (decision margins of a trained model)."""
    model = ds_cnn_like()
    return fit_readout(model, word_clips, np.repeat(np.arange(10), 2))


@pytest.fixture(scope="module")
def trained_undilated(word_clips):
    """The same without dilation, for the int8 files: TFLite lowers a dilated depthwise conv of a whole window
    to SPACE_TO_BATCH_ND + DEPTHWISE_CONV_2D + BATCH_TO_SPACE_ND with its batch norm as a separate MUL and ADD
    (two more int8 roundings), while the streaming step runs it as one fused DEPTHWISE_CONV_2D; the two int8
    files would then round differently by construction. BC-ResNet's dilated blocks have that difference."""
    model = ds_cnn_like(dilation=1)
    return fit_readout(model, word_clips, np.repeat(np.arange(10), 2))


@pytest.fixture(scope="module")
def long_audio(word_clips):
    return np.concatenate(list(word_clips))  # 20 s, 20 words


@pytest.fixture(scope="module")
def calibration(word_clips):
    """10 s of real speech (every other clip back to back), what both int8 models calibrate on."""
    return np.concatenate(list(word_clips[::2]))


@pytest.fixture(scope="module")
def window_int8(trained_undilated, calibration, tmp_path_factory):
    """The non-streaming full-int8 file, calibrated on the sliding windows of the calibration audio."""
    from tfaudio.export import to_tflite

    _, windows = sliding_windows(StreamingModel(trained_undilated), calibration)
    return to_tflite(trained_undilated, str(tmp_path_factory.mktemp("window") / "window_int8.tflite"), quantize="int8",
                     representative_data=windows[::2])  # fmt: skip


@pytest.fixture(scope="module")
def files(trained, trained_undilated, calibration, window_int8, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    stream = StreamingModel(trained)
    out = {}
    for state in ("external", "internal"):
        for quantize in (None, "int8"):
            path = str(folder / f"{state}_{quantize}.tflite")
            out[state, quantize] = to_streaming_tflite(
                StreamingModel(trained_undilated) if quantize else stream, path, state=state, quantize=quantize, representative_audio=[calibration],
                labels=[f"c{i}" for i in range(12)], like=window_int8 if quantize else None,
            )  # fmt: skip
    return stream, out


def _run(path, audio):
    runner = StreamingRunner(path)
    return runner, stream_logits(lambda hop: runner.step(hop[0]), runner.hop_samples, audio)


def test_float_files_equal_keras_windows_and_each_other(trained, files, long_audio):
    stream, paths = files
    audio = long_audio[:64000]
    hops, windows = sliding_windows(stream, audio)
    expected = trained.predict(windows, verbose=0)
    _, external = _run(paths["external", None], audio)
    _, internal = _run(paths["internal", None], audio)
    np.testing.assert_allclose(external[hops], expected, atol=ATOL, rtol=0)
    np.testing.assert_allclose(internal, external, atol=ATOL, rtol=0)


def test_builtin_ops_only(files):
    _, paths = files
    for (state, quantize), path in paths.items():
        ops = op_names(path)
        assert not [op for op in ops if op.startswith("CUSTOM") or op.startswith("FLEX")], (state, quantize, ops)
        variable_ops = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"}
        assert (variable_ops <= ops) == (state == "internal"), (state, ops)
        if quantize == "int8":
            assert "CONV_2D" in ops and "QUANTIZE" in ops


def test_metadata_and_reset(files, long_audio):
    _, paths = files
    for key in (("external", None), ("internal", "int8")):
        runner, first = _run(paths[key], long_audio[:16000])
        assert runner.labels[0] == "c0" and runner.hop_samples == 320 and runner.state == key[0]
        runner.reset()
        again = stream_logits(lambda hop: runner.step(hop[0]), runner.hop_samples, long_audio[:16000])
        np.testing.assert_array_equal(first, again)


def test_runner_fast_path_equals_the_signature_runner(files, long_audio):
    # StreamingRunner sets and reads tensors by index (no per-call resize and allocation); the
    # signature runner's own call must give the same logits and states.
    _, paths = files
    for key in (("external", "int8"), ("internal", None)):
        fast, plain = StreamingRunner(paths[key]), StreamingRunner(paths[key])
        assert fast._direct
        plain._direct = False
        for k in range(30):
            hop = long_audio[k * 320 : (k + 1) * 320]
            np.testing.assert_array_equal(fast.step(hop), plain.step(hop))
        for a, b in zip(fast._states, plain._states):
            np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_int8_streaming_agrees_with_int8_non_streaming(trained_undilated, files, window_int8, long_audio):
    from tfaudio.export import TFLiteModel

    _, paths = files
    reference = TFLiteModel(window_int8)
    hops, windows = sliding_windows(StreamingModel(trained_undilated), long_audio)
    assert len(hops) > 900
    window_float = trained_undilated.predict(windows, verbose=0)
    window_logits = reference.predict(windows)
    quantization_error = np.abs(window_logits - window_float).mean()
    assert quantization_error > 0.05  # int8 rounding is visible on this model, so equality below means something
    for state in ("external", "internal"):
        _, logits = _run(paths[state, "int8"], long_audio)
        logits = logits[hops]
        agreement = np.mean(logits.argmax(axis=1) == window_logits.argmax(axis=1))
        difference = np.abs(logits - window_logits).mean()
        # The streaming file takes the window file's quantisation parameters tensor by tensor (`like`), so
        # both round the same values the same way: measured bit-identical logits (difference 0.0, top-1
        # agreement 1.0) in both state modes on this random-feature model, whose small logit margins (0.37
        # on average) flip on any rounding difference (its own int8-vs-float top-1 agreement is 0.75).
        # Internal state measured 0.979 before its logits took the window file's scale by signature.
        assert difference < 1e-6 and agreement >= 0.995, (state, difference, agreement)


def test_bad_arguments(files, tmp_path):
    stream, paths = files
    with pytest.raises(ValueError, match="state"):
        to_streaming_tflite(stream, str(tmp_path / "x.tflite"), state="both")
    with pytest.raises(ValueError, match="representative_audio"):
        to_streaming_tflite(stream, str(tmp_path / "x.tflite"), quantize="int8")
    with pytest.raises(ValueError, match="not a tfaudio streaming model"):
        from tfaudio.export import to_tflite

        StreamingRunner(to_tflite(stream.model, str(tmp_path / "window.tflite")))
    with pytest.raises(ValueError, match="320 samples"):
        StreamingRunner(paths["external", None]).step(np.zeros(100, np.float32))


@pytest.mark.slow
def test_bc_resnet_with_swish_converts_in_both_state_modes(recording, tmp_path):
    # Keras' swish carries a custom gradient that the converter's own SavedModel export failed on:
    # external state then lost its "step" signature and internal state did not convert at all.
    from tfaudio.models import build

    model = build("bc_resnet", 12, width=1, time_padding="valid", time_dilations=[1, 1, 1, 1], input_norm=None,
                  frame_step_seconds=0.02)  # fmt: skip
    stream = StreamingModel(model)
    audio = recording[:20000]
    hops, windows = sliding_windows(stream, audio)
    expected = model.predict(windows, verbose=0)
    for state in ("external", "internal"):
        path = to_streaming_tflite(stream, str(tmp_path / f"{state}.tflite"), state=state)
        _, logits = _run(path, audio)
        np.testing.assert_allclose(logits[hops], expected, atol=ATOL, rtol=0)


# int8 top-1 agreement with the window file: one phase computes each layer's new frames in one call on
# contiguous frames, so both files round the same values the same way (measured 1.0). Every phase with 2
# frames per call runs a layer after a stride on both frames' taps stacked as a batch (a CONCATENATION the
# window file does not have, calibrated on its own range, so its values are requantised): measured 0.973
# on these 950 windows (0.947 when each frame was a separate call, joined by a CONCATENATION after).
@pytest.mark.parametrize("frames_per_hop,all_phases,min_agreement", [(4, False, 0.995), (2, True, 0.95)],
                         ids=["one_phase_4_frames", "all_phases_2_frames"])  # fmt: skip
def test_multi_frame_hops_equal_keras_and_int8_windows(trained_undilated, calibration, window_int8, long_audio, tmp_path,
                                                       frames_per_hop, all_phases, min_agreement):  # fmt: skip
    # Several frames per call: float equals Keras at every hop, in both state modes; int8 agrees with the
    # window file whose quantisation parameters it takes.
    from tfaudio.export import TFLiteModel

    stream = StreamingModel(trained_undilated, frames_per_hop=frames_per_hop, all_phases=all_phases)
    assert stream.hop_samples == 320 * frames_per_hop
    paths = {
        (state, quantize): to_streaming_tflite(
            stream, str(tmp_path / f"{state}_{quantize}.tflite"), state=state, quantize=quantize,
            representative_audio=[calibration], like=window_int8 if quantize else None)
        for state, quantize in (("external", None), ("internal", None), ("external", "int8"))
    }  # fmt: skip
    audio = long_audio[:64000]
    hops, windows = sliding_windows(stream, audio)
    assert len(hops) > 30
    _, external = _run(paths["external", None], audio)
    _, internal = _run(paths["internal", None], audio)
    np.testing.assert_allclose(external[hops], trained_undilated.predict(windows, verbose=0), atol=ATOL, rtol=0)
    np.testing.assert_allclose(internal, external, atol=ATOL, rtol=0)
    assert not [op for op in op_names(paths["external", "int8"]) if op.startswith(("CUSTOM", "FLEX"))]
    hops, windows = sliding_windows(stream, long_audio)
    _, logits = _run(paths["external", "int8"], long_audio)
    window_logits = TFLiteModel(window_int8).predict(windows)
    agreement = np.mean(logits[hops].argmax(axis=1) == window_logits.argmax(axis=1))
    assert agreement >= min_agreement, agreement


def test_dynamic_range_files_convert_in_both_state_modes(trained, files, long_audio, tmp_path):
    # quantize="dynamic": int8 weights, float activations; builtin ops only, smaller than float, and
    # close to the float stream: top-1 agreement measured 0.925 over these 200 hops (warm-up included;
    # this random-feature model's logit margins are small), the same in both state modes.
    import os

    stream, paths = files
    audio = long_audio[:64000]
    _, float_logits = _run(paths["external", None], audio)
    for state in ("external", "internal"):
        path = to_streaming_tflite(stream, str(tmp_path / f"{state}_dynamic.tflite"), state=state, quantize="dynamic")
        ops = op_names(path)
        assert not [op for op in ops if op.startswith(("CUSTOM", "FLEX"))], ops
        assert os.path.getsize(path) < os.path.getsize(paths[state, None])
        runner, logits = _run(path, audio)
        assert runner.quantize == "dynamic" and runner.state == state
        agreement = np.mean(logits.argmax(axis=1) == float_logits.argmax(axis=1))
        assert agreement >= 0.9, (state, agreement)
