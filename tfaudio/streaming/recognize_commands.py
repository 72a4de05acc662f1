"""RecognizeCommands: posterior smoothing that turns per-hop class scores into discrete detections (NumPy only)."""

import collections

import numpy as np

DEFAULT_IGNORED = ("_silence_", "_unknown_")


class RecognizeCommands:
    """Averages per-hop class probabilities over a sliding time window and reports new keywords.

    The scheme of TFLite Micro's micro_speech `RecognizeCommands`: the scores of
    the last `average_window_seconds` are averaged; when at least
    `minimum_count` hops are in the window and the top averaged score exceeds
    `threshold`, that label is a new command if it differs from the previous
    command or the previous one is older than `suppression_seconds`. Labels in
    `ignore` (silence, unknown) still become the "previous command", so a
    keyword after them counts as new, but are not reported.

    Args:
        labels: list of str. Class names, in score order.
        average_window_seconds: float. Averaging window. Defaults to 0.5.
        threshold: float in [0, 1]. Minimum averaged probability. Defaults to 0.7.
        suppression_seconds: float. Minimum time between two reports of the same
            label. Defaults to 1.0.
        minimum_count: int. Hops needed in the window before anything is
            reported. Defaults to 3.
        ignore: iterable of str. Labels never reported. Defaults to
            ("_silence_", "_unknown_").

    Example:
    >>> recognizer = RecognizeCommands(["yes", "no", "_silence_"])
    >>> recognizer.update(0.02, [0.9, 0.05, 0.05])  # None until enough hops agree
    """

    def __init__(
        self,
        labels,
        average_window_seconds=0.5,
        threshold=0.7,
        suppression_seconds=1.0,
        minimum_count=3,
        ignore=DEFAULT_IGNORED,
    ):
        labels = [str(x) for x in labels]
        if not labels:
            raise ValueError("`labels` must not be empty. Received: labels=[]")
        if not average_window_seconds > 0:
            raise ValueError(f"`average_window_seconds` must be positive. Received: {average_window_seconds!r}")
        if not 0 <= threshold <= 1:
            raise ValueError(f"`threshold` must be in [0, 1]. Received: threshold={threshold!r}")
        if not suppression_seconds >= 0:
            raise ValueError(f"`suppression_seconds` must be >= 0. Received: {suppression_seconds!r}")
        if int(minimum_count) < 1:
            raise ValueError(f"`minimum_count` must be at least 1. Received: minimum_count={minimum_count!r}")
        self.labels = labels
        self.average_window_seconds = float(average_window_seconds)
        self.threshold = float(threshold)
        self.suppression_seconds = float(suppression_seconds)
        self.minimum_count = int(minimum_count)
        self.ignore = tuple(ignore or ())
        self.reset()

    def reset(self):
        self._history = collections.deque()
        self._previous_label = None
        self._previous_time = -np.inf

    def update(self, time_seconds, scores):
        """Adds one hop's probabilities; returns `(label, averaged_score)` for a new keyword, else None."""
        scores = np.asarray(scores, np.float64)
        if scores.shape != (len(self.labels),):
            raise ValueError(f"`scores` must have shape ({len(self.labels)},). Received: shape={scores.shape}")
        if self._history and time_seconds < self._history[-1][0]:
            raise ValueError(f"Times must not go backwards. Received: {time_seconds} after {self._history[-1][0]}")
        self._history.append((time_seconds, scores))
        while self._history[0][0] <= time_seconds - self.average_window_seconds:
            self._history.popleft()
        if len(self._history) < self.minimum_count:
            return None
        average = np.mean([s for _, s in self._history], axis=0)
        top = int(np.argmax(average))
        label, score = self.labels[top], float(average[top])
        if score <= self.threshold:
            return None
        if label == self._previous_label and time_seconds - self._previous_time <= self.suppression_seconds:
            return None
        self._previous_label, self._previous_time = label, time_seconds
        return None if label in self.ignore else (label, score)
