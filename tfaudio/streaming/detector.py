"""Detector: streaming keyword detection over long audio, hop by hop, with RecognizeCommands smoothing."""

import collections

import numpy as np

from tfaudio.streaming.recognize_commands import DEFAULT_IGNORED, RecognizeCommands

Detection = collections.namedtuple("Detection", ["time_seconds", "label", "score"])


def softmax(logits):
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class _KerasStep:
    """A `StreamingModel` behind the runner interface (TensorFlow in the loop; for tests and notebooks)."""

    def __init__(self, stream):
        self._stream = stream
        self.hop_samples = stream.hop_samples
        self.window_samples = stream.window_samples
        self.sample_rate = stream.sample_rate
        self.labels = None
        self.reset()

    def reset(self):
        self._states = self._stream.initial_states()

    def step(self, hop):
        logits, self._states = self._stream.step(np.asarray(hop, np.float32).reshape(1, -1), self._states)
        return logits[0]


class Detector:
    """Keyword detection on a stream of samples: one model call per hop, smoothed decisions.

    Args:
        model: a streaming `.tflite` path (run with LiteRT, no TensorFlow), a
            `StreamingRunner`, a `StreamingModel`, or a Keras model (made a
            `StreamingModel` here).
        labels: list of str or None. Class names; None takes them from the
            `.tflite` metadata.
        threshold, average_window_seconds, suppression_seconds, minimum_count,
            ignore: `RecognizeCommands` settings.
        num_threads: int. Interpreter threads for a `.tflite` path. Defaults to 1.

    Times are seconds since the start of the stream (or since `reset()`), at the
    end of the hop that triggered the detection. The first window of a stream
    is warm-up (the state still holds zeros) and yields no detections.

    Example:
    >>> detector = Detector("kws_stream.tflite", threshold=0.8)
    >>> for d in detector.detect(audio):
    ...     print(f"{d.time_seconds:.2f} {d.label} {d.score:.3f}")
    """

    def __init__(
        self,
        model,
        labels=None,
        threshold=0.7,
        average_window_seconds=0.5,
        suppression_seconds=1.0,
        minimum_count=3,
        ignore=DEFAULT_IGNORED,
        num_threads=1,
    ):
        self.runner = _as_runner(model, num_threads)
        labels = labels if labels is not None else getattr(self.runner, "labels", None)
        if labels is None:
            raise ValueError("The model carries no labels; pass `labels=`.")
        self.labels = [str(x) for x in labels]
        self.recognizer = RecognizeCommands(
            self.labels,
            average_window_seconds=average_window_seconds,
            threshold=threshold,
            suppression_seconds=suppression_seconds,
            minimum_count=minimum_count,
            ignore=ignore,
        )
        self.hop_samples = self.runner.hop_samples
        self.sample_rate = self.runner.sample_rate
        self.reset()

    def reset(self):
        """Starts a new stream: model state, smoothing history, clock and pending samples."""
        self.runner.reset()
        self.recognizer.reset()
        self._pending = np.zeros(0, np.float32)
        self._samples = 0

    def scores(self, samples):
        """Feeds samples; returns `(times [hops], probabilities [hops, classes])` of the completed hops.

        Warm-up hops are included (their times are below one window).
        """
        x = np.concatenate([self._pending, np.asarray(samples, np.float32).reshape(-1)])
        count = len(x) // self.hop_samples
        times = np.empty(count)
        probs = np.empty((count, len(self.labels)))
        for k in range(count):
            logits = self.runner.step(x[k * self.hop_samples : (k + 1) * self.hop_samples])
            self._samples += self.hop_samples
            times[k] = self._samples / self.sample_rate
            probs[k] = softmax(logits)
        self._pending = x[count * self.hop_samples :]
        return times, probs

    def process(self, samples):
        """Feeds samples (any length); returns the list of `Detection`s completed by them."""
        times, probs = self.scores(samples)
        warmup = self.runner.window_samples / self.sample_rate
        found = []
        for t, p in zip(times, probs):
            if t < warmup:
                continue
            hit = self.recognizer.update(t, p)
            if hit is not None:
                found.append(Detection(float(t), hit[0], hit[1]))
        return found

    def detect(self, audio):
        """Detections over a whole recording (float32 samples at the model's rate), from a fresh state."""
        self.reset()
        return self.process(audio)


def _as_runner(model, num_threads):
    import os

    if isinstance(model, (str, os.PathLike)):
        from tfaudio.streaming.runner import StreamingRunner

        return StreamingRunner(os.fspath(model), num_threads=num_threads)
    if hasattr(model, "step") and hasattr(model, "reset") and hasattr(model, "hop_samples"):
        return model
    from tfaudio.streaming.streaming_model import StreamingModel

    if isinstance(model, StreamingModel):
        return _KerasStep(model)
    return _KerasStep(StreamingModel(model))
