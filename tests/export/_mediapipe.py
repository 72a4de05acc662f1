"""Running a `.tflite` file as other clients do: MediaPipe's AudioClassifier (clips and stream modes), bare LiteRT.

Also MediaPipe's generated metadata schema module, the reference for tfaudio's metadata encoder.
"""

import importlib.util
import os
import sys

import numpy as np


def metadata_schema():
    """MediaPipe's `metadata_schema_py_generated` module (flatc's Python for metadata_schema.fbs), or None.

    Loaded from its file: `import mediapipe.tasks.metadata...` would load MediaPipe's task
    runtime first (6.5 s, 690 MB against 0.2 s, 27 MB).
    """
    name = "tests._mediapipe_metadata_schema"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "tasks", "metadata", "metadata_schema_py_generated.py")
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def _options(path, **kwargs):
    from mediapipe.tasks.python.audio import AudioClassifierOptions
    from mediapipe.tasks.python.core.base_options import BaseOptions

    return AudioClassifierOptions(base_options=BaseOptions(model_asset_path=str(path)), **kwargs)


def _dense(categories, num_classes):
    scores = np.full(num_classes, np.nan, np.float32)
    names = [None] * num_classes
    for c in categories:
        scores[c.index] = c.score
        names[c.index] = c.category_name
    return scores, names


def clip_scores(path, clips, sample_rate, num_classes, one_window=True):
    """`(scores [n, classes], category names)`: one `classify` call (audio clips mode) per clip.

    MediaPipe cuts a clip into windows of the model's length and returns one result per
    window; the scores are those of the first. `one_window` asserts there is no other
    (clips of the model's length at its rate).
    """
    from mediapipe.tasks.python.audio import AudioClassifier
    from mediapipe.tasks.python.components.containers.audio_data import AudioData

    rows, names = [], None
    with AudioClassifier.create_from_options(_options(path)) as classifier:
        for clip in clips:
            results = classifier.classify(AudioData.create_from_array(np.asarray(clip, np.float64), sample_rate))
            assert len(results) == 1 or not one_window, f"one window per clip of the model's length, got {len(results)}"
            row, names = _dense(results[0].classifications[0].categories, num_classes)
            rows.append(row)
    return np.stack(rows), names


def stream_scores(path, clips, sample_rate, num_classes, block=None):
    """Scores [n, classes] from the audio stream mode, the clips sent back to back in blocks.

    Each clip is as long as the model's window, so MediaPipe's stream buffer emits one
    result per clip, in order. `block` samples per `classify_async` call (default: a third
    of a clip, so windows straddle calls as with a microphone).
    """
    from mediapipe.tasks.python.audio import AudioClassifier, RunningMode
    from mediapipe.tasks.python.components.containers.audio_data import AudioData

    stream = np.concatenate([np.asarray(c, np.float64) for c in clips])
    block = block or max(1, len(clips[0]) // 3)
    results = []
    options = _options(
        path,
        running_mode=RunningMode.AUDIO_STREAM,
        result_callback=lambda result, timestamp_ms: results.append(_dense(result.classifications[0].categories, num_classes)[0]),
    )
    with AudioClassifier.create_from_options(options) as classifier:
        for start in range(0, len(stream), block):
            chunk = stream[start : start + block]
            classifier.classify_async(AudioData.create_from_array(chunk, sample_rate), round(1000 * start / sample_rate))
    return np.stack(results)


def plain_litert_scores(path, clips):
    """Outputs [n, classes] of a bare `ai_edge_litert` interpreter fed each raw clip: no tfaudio code on the way."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    rows = []
    for clip in clips:
        interpreter.set_tensor(inp["index"], np.asarray(clip, np.float32)[None])
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(rows)
