"""Classifying recordings of any length: windows of the model's clip length, scores aggregated per file.

`predict(paths, model)` takes files and folders of any length, sample rate and channel count.
Each file is decoded, mixed to mono and resampled to the model's rate (`tfaudio.io.load_audio`),
cut into windows of the model's clip length every `hop_seconds` (default half a clip; the last
window ends at the end of the file, so no sample is left out), and every window is scored with
class probabilities. The file's scores are the mean (or max) over its windows. A file shorter
than a clip is centred and zero-padded, as training and `tfaudio evaluate` do.

The model is a `.tflite` file, a `.keras` file, a `tfaudio train` run folder or a SavedModel from
`tfaudio.export.to_saved_model`. With a `.tflite` model nothing here imports TensorFlow: the file
runs on `tfaudio.runtime.TFLiteModel` (LiteRT + NumPy + soundfile, as on a Raspberry Pi).
"""

import dataclasses
import json
import os
import sys

import numpy as np

from tfaudio.errors import AudioError

AGGREGATIONS = ("mean", "max")


@dataclasses.dataclass
class FilePrediction:
    """What `predict` found in one file.

    Attributes:
        path: str. The file.
        labels: list of str. The top-k class names, best first (empty on error).
        scores: list of float. Their aggregated probabilities.
        duration_seconds: float or None. Length of the file.
        windows: list of dict or None. With `timeline=True`: one
            `{"start": s, "end": s, "label": str, "score": float}` per window
            (seconds in the file).
        error: str or None. Why the file could not be classified (then the
            other fields are empty).
    """

    path: str
    labels: list = dataclasses.field(default_factory=list)
    scores: list = dataclasses.field(default_factory=list)
    duration_seconds: float = None
    windows: list = None
    error: str = None

    @property
    def label(self):
        """The best class, or None on error."""
        return self.labels[0] if self.labels else None

    def to_dict(self):
        return dataclasses.asdict(self)


def softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


def window_starts(num_samples, window, hop):
    """Start samples of the windows that cover `num_samples`: every `hop`, and one ending at the end."""
    if window <= 0 or hop <= 0:
        raise ValueError(f"`window` and `hop` must be positive. Received: window={window}, hop={hop}")
    if num_samples <= window:
        return [0]
    starts = list(range(0, num_samples - window + 1, hop))
    if starts[-1] + window < num_samples:
        starts.append(num_samples - window)
    return starts


def frame_windows(audio, window, hop):
    """`(windows [n, window] float32, starts)`; a clip shorter than `window` is centred and zero-padded."""
    audio = np.asarray(audio, np.float32)
    if len(audio) <= window:
        left = (window - len(audio)) // 2
        padded = np.zeros(window, np.float32)
        padded[left : left + len(audio)] = audio
        return padded[None], [0]
    starts = window_starts(len(audio), window, hop)
    return np.stack([audio[s : s + window] for s in starts]), starts


def aggregate(window_scores, how="mean"):
    """Per-class scores of a file from its windows' probabilities `[windows, classes]`."""
    if how not in AGGREGATIONS:
        raise ValueError(f"`aggregate` must be one of {AGGREGATIONS}. Received: aggregate={how!r}")
    window_scores = np.asarray(window_scores, np.float32)
    return window_scores.mean(axis=0) if how == "mean" else window_scores.max(axis=0)


class _Classifier:
    """A model seen as: `sample_rate`, `samples` (window length), `labels`, `probabilities(batch)`."""

    sample_rate = None
    samples = None
    labels = None

    def _finish(self, source, num_classes):
        if self.sample_rate is None:
            raise ValueError(
                f"{source}: the model's sample rate is unknown (no metadata or run_config.json). Pass `sample_rate`."
            )
        if not self.samples:
            raise ValueError(f"{source}: the model's input has no fixed number of samples.")
        if self.labels is None:
            self.labels = [str(i) for i in range(num_classes)]
        if len(self.labels) != num_classes:
            raise ValueError(f"{source}: {len(self.labels)} labels for {num_classes} output classes.")


class _TFLiteClassifier(_Classifier):
    def __init__(self, path, sample_rate=None, num_threads=1):
        from tfaudio.runtime import TFLiteModel

        try:
            self.runner = TFLiteModel(str(path), num_threads=num_threads)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"{path}: not a .tflite model LiteRT can load ({str(e).strip()})") from e
        meta = self.runner.metadata
        beside = _beside_model(path)
        self.sample_rate = sample_rate or meta.get("sample_rate") or beside.get("sample_rate")
        self.samples = int(self.runner.input_shape[-1])
        self.labels = meta.get("labels") or beside.get("labels")
        self._is_probability = meta.get("output") == "probabilities"
        self._fixed_batch = self.runner.input_shape[0] != -1
        self._finish(path, int(self.runner.interpreter.get_output_details()[0]["shape"][-1]))

    def probabilities(self, batch):
        out = self.runner.predict(batch) if self._fixed_batch else self.runner(batch)
        return out if self._is_probability else softmax(out)


class _KerasClassifier(_Classifier):
    def __init__(self, path, sample_rate=None):
        from tfaudio.models import load

        model_file = os.path.join(path, "model.keras") if os.path.isdir(path) else path
        self.model = load(str(model_file))
        beside = _beside_model(model_file)
        self.sample_rate = sample_rate or getattr(self.model, "sample_rate", None) or beside.get("sample_rate")
        self.samples = self.model.inputs[0].shape[-1]
        self.labels = beside.get("labels")
        self._finish(path, self.model.outputs[0].shape[-1])

    def probabilities(self, batch):
        return softmax(np.asarray(self.model.predict(batch, verbose=0)))


class _SavedModelClassifier(_Classifier):
    def __init__(self, path, sample_rate=None):
        import tensorflow as tf

        self.module = tf.saved_model.load(str(path))
        self.serve = self.module.signatures["serving_default"]
        facts = _read_json(os.path.join(path, "assets.extra", "tfaudio.json"))
        self.sample_rate = sample_rate or facts.get("sample_rate")
        self.samples = int(self.serve.structured_input_signature[1]["waveform"].shape[-1])
        self.labels = facts.get("labels")
        self._finish(path, int(self.serve.structured_outputs["probabilities"].shape[-1]))

    def probabilities(self, batch):
        return self.serve(waveform=batch)["probabilities"].numpy()


def _read_json(path):
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _beside_model(model_file):
    """labels.json and run_config.json facts next to a model file."""
    folder = os.path.dirname(os.path.abspath(model_file))
    facts = dict(_read_json(os.path.join(folder, "run_config.json")))
    labels = _read_json(os.path.join(folder, "labels.json"))
    if labels:
        facts["labels"] = [str(label) for label in labels]
    return facts


def _saved_model_version(path):
    """`path` itself, or its highest numeric version folder, when it holds a SavedModel; else None."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = [d for d in os.listdir(path) if d.isdigit() and os.path.isfile(os.path.join(path, d, "saved_model.pb"))]
    return os.path.join(path, max(versions, key=int)) if versions else None


def load_classifier(model, sample_rate=None, num_threads=1):
    """The classifier behind a `.tflite` / `.keras` file, a run folder or a SavedModel folder."""
    model = os.fspath(model)
    if os.path.isfile(model) and model.lower().endswith(".tflite"):
        return _TFLiteClassifier(model, sample_rate, num_threads)
    if os.path.isfile(model) and model.lower().endswith((".keras", ".h5")):
        return _KerasClassifier(model, sample_rate)
    if os.path.isdir(model):
        if os.path.isfile(os.path.join(model, "model.keras")):
            return _KerasClassifier(model, sample_rate)
        version = _saved_model_version(model)
        if version is not None:
            return _SavedModelClassifier(version, sample_rate)
    raise ValueError(
        "`model` must be a .tflite or .keras file, a `tfaudio train` run folder or a SavedModel folder. "
        f"Received: model={model!r}"
    )


def expand_paths(paths):
    """Files in the order given, folders replaced by their audio files (sorted, recursive)."""
    from tfaudio.io import find_audio_files

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found = find_audio_files(path)
            if not found:
                raise ValueError(f"No audio files in the folder {path!r}.")
            files.extend(found)
        else:
            files.append(path)  # a missing file is reported by name with the results
    return files


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total, stream=None, width=30):
        self.total, self.width, self.stream, self.done = total, width, stream or sys.stderr, 0

    def step(self, name):
        self.done += 1
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {os.path.basename(name)[:40]:<40}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def _check_hop(hop_seconds):
    if hop_seconds is None:
        return None
    if isinstance(hop_seconds, bool) or not isinstance(hop_seconds, (int, float)) or not hop_seconds > 0:
        raise ValueError(f"`hop_seconds` must be a positive number or None. Received: hop_seconds={hop_seconds!r}")
    return float(hop_seconds)


def predict(
    paths,
    model,
    hop_seconds=None,
    aggregate="mean",
    top_k=5,
    timeline=False,
    progress=False,
    batch_size=32,
    sample_rate=None,
    num_threads=1,
):
    """Classifies audio files or folders of any length with a tfaudio model.

    Args:
        paths: str, path-like or a list of them: files, or folders (their audio
            files, recursively).
        model: a `.tflite` or `.keras` file, a `tfaudio train` run folder, a
            SavedModel folder, or a classifier from `load_classifier`.
        hop_seconds: float or None. Window hop; defaults to half the model's clip.
        aggregate: "mean" or "max" over a file's windows. Defaults to "mean".
        top_k: int. Classes reported per file. Defaults to 5.
        timeline: bool. Also report each window's best class. Defaults to False.
        progress: bool. A progress bar on stderr. Defaults to False.
        batch_size: int. Windows per model call. Defaults to 32.
        sample_rate: int or None. The model's rate, for files that do not record it.
        num_threads: int. LiteRT threads for `.tflite` models. Defaults to 1.

    Returns:
        A list of `FilePrediction`, one per file in order. A file that cannot
        be read has `error` set (naming the file and the reason); the others
        are still classified.

    Example:
    >>> import tfaudio
    >>> [p] = tfaudio.predict("recording.wav", model="runs/main/export/model_int8.tflite")
    >>> p.label, p.scores[0]
    """
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"`aggregate` must be one of {AGGREGATIONS}. Received: aggregate={aggregate!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"`top_k` must be a positive int. Received: top_k={top_k!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}")
    hop_seconds = _check_hop(hop_seconds)
    classifier = model if isinstance(model, _Classifier) else load_classifier(model, sample_rate, num_threads)
    files = expand_paths(paths)
    rate, window = int(classifier.sample_rate), int(classifier.samples)
    hop = max(1, int(round((hop_seconds if hop_seconds else window / rate / 2) * rate)))
    top_k = min(top_k, len(classifier.labels))
    bar = _Progress(len(files)) if progress and files else None
    results = []
    for path in files:
        results.append(_predict_file(path, classifier, rate, window, hop, aggregate, top_k, timeline, batch_size))
        if bar is not None:
            bar.step(path)
    return results


def _predict_file(path, classifier, rate, window, hop, how, top_k, timeline, batch_size):
    from tfaudio.io import load_audio

    try:
        audio, _ = load_audio(path, sample_rate=rate, mono=True)
    except AudioError as e:
        return FilePrediction(path=path, error=str(e))
    windows, starts = frame_windows(audio, window, hop)
    scores = np.concatenate(
        [classifier.probabilities(windows[i : i + batch_size]) for i in range(0, len(windows), batch_size)]
    )
    total = aggregate(scores, how)
    best = np.argsort(-total, kind="stable")[:top_k]
    result = FilePrediction(
        path=path,
        labels=[classifier.labels[i] for i in best],
        scores=[float(total[i]) for i in best],
        duration_seconds=len(audio) / rate,
    )
    if timeline:
        result.windows = [
            {
                "start": round(start / rate, 4),
                "end": round(min(start + window, len(audio)) / rate, 4),
                "label": classifier.labels[int(row.argmax())],
                "score": float(row.max()),
            }
            for start, row in zip(starts, scores)
        ]
    return result
