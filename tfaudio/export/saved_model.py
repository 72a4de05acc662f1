"""SavedModel export for TensorFlow Serving: fixed clips, waveforms of any length, WAV file bytes, int16 PCM.

Signatures (all return `probabilities` [batch, classes], `class_ids` [batch] and `labels` [batch]):

- `serving_default`: `waveform` float32 `[batch, samples]`, clips of the model's length (also
  returns the model's `logits`).
- `serve_waveform`: `waveform` float32 `[batch, samples]` at the model's rate, any length: the graph
  cuts windows of the clip length every `hop` (the last one ends at the end; a short input is
  centred and zero-padded, as in training), and averages (or maxes) the windows' probabilities.
  Also returns `window_probabilities` [batch, windows, classes].
- `serve_pcm16`: `pcm` int16 `[batch, None]`, the same after scaling by 1/32768.
- `serve_wav`: `wav` string `[batch]`, WAV file bytes (TF Serving's REST API takes `{"b64": ...}`).
  The graph walks the RIFF chunks itself, so `LIST`, `JUNK`, `fact` and other chunks before or
  after the audio are skipped (`tf.audio.decode_wav` fails on them, tensorflow/tensorflow#32382).
  PCM 8/16/24/32-bit and float32 (plain or WAVE_FORMAT_EXTENSIBLE), any channel count (averaged
  to mono). A WAV at another sample rate is rejected with a message naming its rate.

Bad requests fail with InvalidArgument naming the input: empty, NaN/Inf, bytes that are not a
WAV file, a truncated or unsupported WAV, a wrong rank (the any-length signatures declare no rank
and check it in the graph: "Shape of tensor wav [] is not compatible with expected shape [?]"). A wrong dtype is rejected before
the graph runs by TensorFlow Serving or the loaded signature (InvalidArgument with the expected dtype).
"""

import json
import os

import tensorflow as tf

from tfaudio.atomic import atomic_path

AGGREGATIONS = ("mean", "max")

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def _uint_le(data, pos, size):
    """Little-endian unsigned integer (int64) of `size` bytes of string `data` at `pos`."""
    raw = tf.cast(tf.io.decode_raw(tf.strings.substr(data, pos, size), tf.uint8), tf.int64)
    return tf.reduce_sum(raw * tf.constant([1, 256, 65536, 16777216][:size], tf.int64))


def _check(condition, message, *values):
    return tf.debugging.Assert(condition, [message, *values], summarize=8)


def decode_wav(wav):
    """`(mono float32 [samples], sample_rate int64)` of one WAV file's bytes, parsed in the graph.

    Raises InvalidArgumentError (when run) for bytes that are not a RIFF/WAVE file, a file
    without `fmt ` or `data` chunk, an unsupported encoding, or no whole sample frame.
    """
    length = tf.cast(tf.strings.length(wav), tf.int64)
    # Header fields are read from a zero-padded copy, so a short or cut file fails the checks
    # below (with their messages) rather than an out-of-range read.
    fields = tf.strings.join([wav, b"\0" * 64])
    header_ok = tf.logical_and(
        length >= 12,
        tf.logical_and(
            tf.equal(tf.strings.substr(fields, 0, 4), "RIFF"), tf.equal(tf.strings.substr(fields, 8, 4), "WAVE")
        ),
    )
    with tf.control_dependencies([_check(header_ok, "`wav` is not a WAV file (no RIFF/WAVE header)")]):
        start = tf.constant(12, tf.int64)

    # Walk the chunks: [id 4 bytes][size uint32][payload, padded to an even size].
    def cond(pos, fmt_pos, data_pos, data_size):
        return tf.logical_and(pos + 8 <= length, tf.logical_or(fmt_pos < 0, data_pos < 0))

    def body(pos, fmt_pos, data_pos, data_size):
        chunk = tf.strings.substr(fields, pos, 4)
        size = _uint_le(fields, pos + 4, 4)
        fmt_pos = tf.where(tf.equal(chunk, "fmt "), pos + 8, fmt_pos)
        is_data = tf.equal(chunk, "data")
        data_pos = tf.where(is_data, pos + 8, data_pos)
        data_size = tf.where(is_data, size, data_size)
        return pos + 8 + size + size % 2, fmt_pos, data_pos, data_size

    minus_one = tf.constant(-1, tf.int64)
    _, fmt_pos, data_pos, data_size = tf.while_loop(cond, body, [start, minus_one, minus_one, minus_one])
    found = _check(
        tf.logical_and(fmt_pos >= 0, data_pos >= 0), "`wav` has no `fmt ` and `data` chunks (truncated or not a WAV)"
    )
    with tf.control_dependencies([found]):
        fmt_pos = tf.identity(fmt_pos)
    fields = tf.strings.join([wav, b"\0" * 64])  # fmt may be the last chunk
    audio_format = _uint_le(fields, fmt_pos, 2)
    channels = _uint_le(fields, fmt_pos + 2, 2)
    sample_rate = _uint_le(fields, fmt_pos + 4, 4)
    bits = _uint_le(fields, fmt_pos + 14, 2)
    # WAVE_FORMAT_EXTENSIBLE keeps the real format in the first 2 bytes of its sub-format GUID.
    audio_format = tf.where(
        tf.equal(audio_format, _WAVE_FORMAT_EXTENSIBLE), _uint_le(fields, fmt_pos + 24, 2), audio_format
    )
    is_pcm = tf.logical_and(tf.equal(audio_format, _WAVE_FORMAT_PCM), tf.reduce_any(tf.equal(bits, [8, 16, 24, 32])))
    is_float = tf.logical_and(tf.equal(audio_format, _WAVE_FORMAT_IEEE_FLOAT), tf.equal(bits, 32))
    supported = _check(
        tf.logical_and(tf.logical_or(is_pcm, is_float), channels > 0),
        "`wav` encoding not supported (PCM 8/16/24/32-bit or float32 only); format, bits, channels:",
        audio_format,
        bits,
        channels,
    )
    frame_bytes = tf.maximum(channels * bits // 8, 1)
    # A data size past the end (streamed writers leave 0 or 0xFFFFFFFF) is clamped to what is there.
    available = tf.minimum(data_size, length - data_pos)
    frames = available // frame_bytes
    with tf.control_dependencies(
        [supported, _check(frames > 0, "`wav` holds no complete sample frame (empty or truncated)")]
    ):
        payload = tf.strings.substr(wav, data_pos, frames * frame_bytes)

    def pcm8():
        return (tf.cast(tf.io.decode_raw(payload, tf.uint8), tf.float32) - 128.0) / 128.0

    def pcm16():
        return tf.cast(tf.io.decode_raw(payload, tf.int16, little_endian=True), tf.float32) / 32768.0

    def pcm24():
        raw = tf.reshape(tf.cast(tf.io.decode_raw(payload, tf.uint8), tf.int32), [-1, 3])
        value = raw[:, 0] + raw[:, 1] * 256 + raw[:, 2] * 65536
        value = tf.where(value >= 2**23, value - 2**24, value)  # two's complement sign
        return tf.cast(value, tf.float32) / 8388608.0

    def pcm32():
        return tf.cast(tf.io.decode_raw(payload, tf.int32, little_endian=True), tf.float32) / 2147483648.0

    def float32():
        return tf.io.decode_raw(payload, tf.float32, little_endian=True)

    samples = tf.case(
        [
            (is_float, float32),
            (tf.equal(bits, 8), pcm8),
            (tf.equal(bits, 16), pcm16),
            (tf.equal(bits, 24), pcm24),
        ],
        default=pcm32,
        exclusive=False,
    )
    mono = tf.reduce_mean(tf.reshape(samples, [-1, tf.cast(channels, tf.int32)]), axis=1)
    return mono, sample_rate


class _ServingFunctions:
    """The signatures' functions around a Keras classifier (exported with `keras.export.ExportArchive`)."""

    def __init__(self, model, labels, sample_rate, hop, aggregate):
        self.model = model
        self.labels = [str(label) for label in labels]
        self.samples = int(model.inputs[0].shape[1])
        self.sample_rate = int(sample_rate)
        self.hop = int(hop)
        self.aggregate = aggregate

    def signatures(self):
        """`{name: (function, input_signature)}`. The any-length signatures declare no rank: the graph
        checks it, so the error names the input."""
        return {
            "serving_default": (self._serve, [tf.TensorSpec([None, self.samples], tf.float32, name="waveform")]),
            "serve_waveform": (self._serve_waveform, [tf.TensorSpec(None, tf.float32, name="waveform")]),
            "serve_pcm16": (self._serve_pcm16, [tf.TensorSpec(None, tf.int16, name="pcm")]),
            "serve_wav": (self._serve_wav, [tf.TensorSpec(None, tf.string, name="wav")]),
        }

    def _outputs(self, probabilities):
        class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        labels = tf.gather(tf.constant(self.labels, tf.string), class_ids)
        return {"probabilities": probabilities, "class_ids": class_ids, "labels": labels}

    def _logits(self, clips):
        return tf.cast(self.model(clips, training=False), tf.float32)

    def _serve(self, waveform):
        checks = [
            tf.debugging.assert_equal(
                tf.shape(waveform)[1],
                self.samples,
                message=f"`waveform` must be float32 [batch, {self.samples}] (clips of the model's length)",
            ),
            tf.debugging.assert_all_finite(waveform, "`waveform` contains NaN or Inf"),
        ]
        # The checks must run before the model, whose own shape errors are cryptic.
        with tf.control_dependencies(checks):
            waveform = tf.identity(waveform)
        logits = self._logits(waveform)
        return {"logits": logits, **self._outputs(tf.nn.softmax(logits, axis=-1))}

    def _windows(self, audio):
        """[batch, windows, window] of waveforms [batch, samples]: every `hop`, the last ending at the end.

        Waveforms shorter than the window are centred and zero-padded (as in training).
        """
        window = self.samples
        length = tf.shape(audio)[1]
        missing = tf.maximum(window - length, 0)
        audio = tf.pad(audio, [[0, 0], [missing // 2, missing - missing // 2]])
        length = tf.maximum(length, window)
        starts = tf.range(0, length - window + 1, self.hop)
        last = length - window
        starts = tf.cond(starts[-1] < last, lambda: tf.concat([starts, [last]], 0), lambda: starts)
        return tf.gather(audio, starts[:, None] + tf.range(window)[None, :], axis=1)

    def _check_waveform(self, waveform, name):
        # A wrong rank fails here: "Shape of tensor <name> [...] is not compatible with expected shape [?,?]".
        waveform = tf.ensure_shape(waveform, [None, None])
        checks = [
            _check(tf.shape(waveform)[1] > 0, f"`{name}` is empty (no samples)"),
            _check(tf.shape(waveform)[0] > 0, f"`{name}` has an empty batch"),
            tf.debugging.assert_all_finite(waveform, f"`{name}` contains NaN or Inf"),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(waveform)

    def _window_probabilities(self, windows):
        """Softmax of the model on [n, window] clips, in one call (outside any loop: TF Serving's
        session-based loader cannot read Keras variables captured inside a while loop)."""
        return tf.nn.softmax(self._logits(windows), axis=-1)

    def _aggregate(self, window_probabilities, segment_ids, num_segments):
        if self.aggregate == "max":
            return tf.math.unsorted_segment_max(window_probabilities, segment_ids, num_segments)
        return tf.math.unsorted_segment_mean(window_probabilities, segment_ids, num_segments)

    def _serve_waveform(self, waveform, name="waveform"):
        waveform = self._check_waveform(waveform, name)
        batch = tf.shape(waveform)[0]
        windows = self._windows(waveform)  # rows share one length: [batch, count, window]
        count = tf.shape(windows)[1]
        flat = self._window_probabilities(tf.reshape(windows, [-1, self.samples]))
        per_window = tf.reshape(flat, [batch, count, -1])
        segments = tf.repeat(tf.range(batch), count)
        return {"window_probabilities": per_window, **self._outputs(self._aggregate(flat, segments, batch))}

    def _serve_pcm16(self, pcm):
        pcm = tf.ensure_shape(pcm, [None, None])  # names `pcm` on a wrong rank
        return self._serve_waveform(tf.cast(pcm, tf.float32) / 32768.0, name="pcm")

    def _serve_wav(self, wav):
        wav = tf.ensure_shape(wav, [None])  # a wrong rank: "Shape of tensor wav [] is not compatible ..."
        with tf.control_dependencies([_check(tf.size(wav) > 0, "`wav` has an empty batch")]):
            wav = tf.identity(wav)
        batch = tf.shape(wav)[0]

        # Decode and window each file in a loop (no model call inside), then run the model once.
        def body(i, windows, segments):
            audio, rate = decode_wav(wav[i])
            rate_ok = _check(
                tf.equal(rate, self.sample_rate),
                f"`wav` sample rate differs from the model's {self.sample_rate} Hz; resample it first. "
                "The WAV's rate (Hz):",
                rate,
            )
            with tf.control_dependencies([rate_ok, tf.debugging.assert_all_finite(audio, "`wav` has NaN or Inf")]):
                mine = self._windows(audio[None])[0]
            return i + 1, tf.concat([windows, mine], 0), tf.concat([segments, tf.fill([tf.shape(mine)[0]], i)], 0)

        _, windows, segments = tf.while_loop(
            lambda i, *_: i < batch,
            body,
            [tf.constant(0), tf.zeros([0, self.samples]), tf.zeros([0], tf.int32)],
            shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, self.samples]), tf.TensorShape([None])],
        )
        flat = self._window_probabilities(windows)
        return self._outputs(self._aggregate(flat, segments, batch))


def to_saved_model(model, export_dir, version=1, labels=None, sample_rate=None, hop_seconds=None, aggregate="mean"):
    """Writes `export_dir/<version>/` in the layout TensorFlow Serving loads.

    Signatures: `serving_default` (float32 `[batch, samples]`), `serve_waveform`
    (float32 `[batch, None]`, any length), `serve_pcm16` (int16 `[batch, None]`)
    and `serve_wav` (string `[batch]` of WAV file bytes); see the module
    docstring. `assets.extra/tfaudio.json` records labels, sample rate and clip
    length for `tfaudio predict` (TF Serving ignores `assets.extra`).

    Args:
        model: keras.Model with one waveform input `[batch, samples]` and logits output.
        export_dir: str. The model's folder in the serving model base path.
        version: int. Version sub-folder. Defaults to 1.
        labels: list of str or None. Class names; defaults to "0".."N-1".
        sample_rate: int or None. The model's rate; defaults to `model.sample_rate`.
        hop_seconds: float or None. Window hop of the any-length signatures;
            defaults to half the clip.
        aggregate: "mean" or "max" over the windows. Defaults to "mean".

    Returns:
        The path of the version folder.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int. Received: version={version!r}")
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"`aggregate` must be one of {AGGREGATIONS}. Received: aggregate={aggregate!r}")
    num_classes = model.outputs[0].shape[-1]
    if labels is None:
        labels = [str(i) for i in range(num_classes)]
    if len(labels) != num_classes:
        raise ValueError(
            f"`labels` must have one name per output class ({num_classes}). Received: {len(labels)} labels"
        )
    sample_rate = sample_rate or getattr(model, "sample_rate", None)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(
            f"`sample_rate` must be the model's rate in Hz (serve_wav checks WAVs against it). Received: {sample_rate!r}"
        )
    samples = int(model.inputs[0].shape[1])
    hop_seconds = samples / sample_rate / 2 if hop_seconds is None else hop_seconds
    if isinstance(hop_seconds, bool) or not isinstance(hop_seconds, (int, float)) or not hop_seconds > 0:
        raise ValueError(f"`hop_seconds` must be a positive number. Received: hop_seconds={hop_seconds!r}")
    hop = max(1, int(round(hop_seconds * sample_rate)))
    path = os.path.join(str(export_dir), str(version))
    from tfaudio.backend import keras

    functions = _ServingFunctions(model, labels, sample_rate, hop, aggregate)
    # ExportArchive rather than tf.saved_model.save on a tf.Module: TF Serving's session-based
    # loader cannot find Keras 3 variables saved the latter way (keras-team/keras#20095).
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, input_signature) in functions.signatures().items():
        archive.add_endpoint(name, fn, input_signature=input_signature)
    facts = {
        "labels": [str(label) for label in labels],
        "sample_rate": sample_rate,
        "clip_seconds": samples / sample_rate,
        "hop_seconds": hop / sample_rate,
        "aggregate": aggregate,
    }
    # TF Serving polls the folder: a version appears complete or not at all.
    with atomic_path(path) as tmp:
        archive.write_out(tmp, verbose=False)
        os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
        with open(os.path.join(tmp, "assets.extra", "tfaudio.json"), "w", encoding="utf-8") as f:
            json.dump(facts, f, indent=2)
    return path
