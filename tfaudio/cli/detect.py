"""`tfaudio detect`: streaming keyword detection over a recording, raw PCM on stdin, or a microphone.

With a streaming `.tflite` file this command imports no TensorFlow (LiteRT alone). A `tfaudio train`
run folder (or `.keras` file) is converted to a streaming `.tflite` on the fly first (TensorFlow).
"""

import json
import os
import sys
import tempfile

import numpy as np

from tfaudio.cli import common

HELP = "Detect keywords in a long recording, raw 16-bit PCM on stdin ('-') or a microphone ('mic')."

_CHUNK_SECONDS = 1.0


def add_arguments(parser):
    parser.add_argument(
        "audio",
        help="An audio file (any length), '-' for raw 16-bit little-endian mono PCM on stdin at the model's sample "
        "rate, or 'mic' for the default microphone (needs the `sounddevice` extra: pip install tfaudio[sounddevice]).",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="A streaming .tflite file (tfaudio.streaming.to_streaming_tflite or --save-tflite), or a `tfaudio train` "
        "run folder / .keras file, converted to a streaming model on the fly.",
    )
    g = parser.add_argument_group("smoothing (RecognizeCommands)")
    g.add_argument("--threshold", type=float, default=0.7, help="Minimum averaged probability. Defaults to 0.7.")
    g.add_argument("--average-window", type=float, default=0.5, metavar="SECONDS",
                   help="Scores are averaged over this many seconds of hops. Defaults to 0.5.")
    g.add_argument("--suppression", type=float, default=1.0, metavar="SECONDS",
                   help="Minimum time between two detections of the same label. Defaults to 1.0.")
    g.add_argument("--minimum-count", type=int, default=3,
                   help="Hops needed in the averaging window before anything is reported. Defaults to 3.")
    g.add_argument("--ignore", nargs="*", default=["_silence_", "_unknown_"], metavar="LABEL",
                   help="Labels never reported. Defaults to _silence_ _unknown_.")
    g = parser.add_argument_group("output")
    g.add_argument("--json", action="store_true",
                   help="One JSON object per detection and line ({time_seconds, label, score}) instead of text.")
    g.add_argument("--threads", type=int, default=1, help="Interpreter threads. Defaults to 1.")
    g = parser.add_argument_group("on-the-fly conversion (run folder or .keras model)")
    g.add_argument("--frames-per-hop", type=int, default=None,
                   help="Frontend frames per call; a hop is this times the frontend's frame step. Defaults to 20 ms worth.")
    g.add_argument("--one-phase", action="store_true",
                   help="Compute only the frames each hop's window reads (StreamingModel(all_phases=False)): several "
                   "times less work per second of audio for models with time strides; the frames per hop are rounded "
                   "up to a multiple of the model's time stride.")
    g.add_argument("--state", choices=("external", "internal"), default="external",
                   help="State as extra inputs/outputs (external) or TFLite resource variables (internal).")
    g.add_argument("--quantize", choices=("none", "dynamic", "int8"), default="none",
                   help="int8 calibrates on clips of the run's training split. Defaults to none (float).")
    g.add_argument("--save-tflite", default=None, metavar="PATH", help="Also keep the converted streaming .tflite here.")


def run(args):
    if args.threads < 1:
        raise SystemExit(f"error: --threads must be >= 1. Received: {args.threads}")
    model_path = _streaming_tflite(args)
    from tfaudio.streaming import Detector

    try:
        detector = Detector(
            model_path,
            threshold=args.threshold,
            average_window_seconds=args.average_window,
            suppression_seconds=args.suppression,
            minimum_count=args.minimum_count,
            ignore=args.ignore,
            num_threads=args.threads,
        )
    except ValueError as e:
        raise SystemExit(f"error: {e}")
    for chunk in _chunks(args.audio, detector.sample_rate, detector.hop_samples):
        for d in detector.process(chunk):
            if args.json:
                print(json.dumps({"time_seconds": round(d.time_seconds, 4), "label": d.label, "score": round(d.score, 4)}))
            else:
                print(f"{d.time_seconds:.2f} {d.label} {d.score:.3f}")
            sys.stdout.flush()
    return 0


def _streaming_tflite(args):
    """Path of the streaming .tflite to run: the given file, or one converted from a Keras model."""
    model_file, run_dir = common.resolve_model(args.model)
    if str(model_file).endswith(".tflite"):
        for name in ("frames_per_hop", "save_tflite"):
            if getattr(args, name) is not None:
                raise SystemExit(f"error: --{name.replace('_', '-')} applies to Keras models, not to a .tflite file")
        if args.quantize != "none" or args.state != "external" or args.one_phase:
            raise SystemExit(
                "error: --quantize, --state and --one-phase apply to Keras models; a .tflite file is already converted"
            )
        return str(model_file)

    from tfaudio.streaming import StreamingError, StreamingModel, to_streaming_tflite

    model = common.load_keras(model_file)
    labels = common.labels_for(model_file, run_dir)
    frontend = _frontend(model)
    if frontend is None:
        raise SystemExit(f"error: {model_file} has no LogMelSpectrogram frontend to stream from")
    frames_per_hop = args.frames_per_hop or max(1, round(0.02 * frontend.sample_rate / frontend.frame_step))
    try:
        if args.one_phase:
            stride = StreamingModel(model).time_stride
            if args.frames_per_hop and args.frames_per_hop % stride:
                raise SystemExit(
                    f"error: --one-phase needs --frames-per-hop a multiple of the model's time stride ({stride}). "
                    f"Received: {args.frames_per_hop}"
                )
            frames_per_hop = -(-frames_per_hop // stride) * stride
        stream = StreamingModel(model, frames_per_hop=frames_per_hop, all_phases=not args.one_phase)
    except StreamingError as e:
        raise SystemExit(f"error: {model_file} cannot stream: {e}")
    calibration = None
    if args.quantize == "int8":
        config = common.run_config(run_dir)
        if not config.get("data"):
            raise SystemExit("error: --quantize int8 calibrates on the run's training data; this model has no run_config.json")
        x, _, _ = common.load_split(config["data"], "train", stream.sample_rate, stream.window_samples / stream.sample_rate,
                                    max_examples=64)
        calibration = list(x[:64])
    path = args.save_tflite or os.path.join(tempfile.mkdtemp(prefix="tfaudio_detect_"), "stream.tflite")
    to_streaming_tflite(
        stream,
        path,
        state=args.state,
        quantize=None if args.quantize == "none" else args.quantize,
        representative_audio=calibration,
        labels=labels,
    )
    return path


def _frontend(model):
    from tfaudio.layers import LogMelSpectrogram

    for layer in model.layers:
        if isinstance(layer, LogMelSpectrogram):
            return layer
        if hasattr(layer, "layers"):
            found = _frontend(layer)
            if found is not None:
                return found
    return None


def _chunks(source, sample_rate, hop_samples):
    """float32 chunks of the input at `sample_rate`."""
    if source == "-":
        stream = sys.stdin.buffer
        size = 2 * int(sample_rate * _CHUNK_SECONDS)
        carry = b""
        while True:
            data = stream.read(size)
            if not data:
                break
            data = carry + data
            even = len(data) - len(data) % 2
            carry = data[even:]
            yield np.frombuffer(data[:even], "<i2").astype(np.float32) / 32768.0
        return
    if source == "mic":
        yield from _microphone(sample_rate, hop_samples)
        return
    from tfaudio.io import load_audio

    if not os.path.isfile(source):
        raise SystemExit(f"error: no audio file at {source}")
    audio, _ = load_audio(source, sample_rate=sample_rate)
    step = int(sample_rate * _CHUNK_SECONDS)
    for start in range(0, len(audio), step):
        yield audio[start : start + step]


def _microphone(sample_rate, hop_samples):
    try:
        import sounddevice
    except ImportError:
        raise SystemExit("error: reading a microphone needs `sounddevice`: pip install tfaudio[sounddevice]")
    import queue

    blocks = queue.Queue()

    def callback(indata, frames, time, status):
        if status:  # e.g. "input overflow": samples were lost
            print(f"microphone: {status}", file=sys.stderr)
        blocks.put(indata[:, 0].copy())

    print("listening (Ctrl-C to stop)", file=sys.stderr)
    with sounddevice.InputStream(samplerate=sample_rate, channels=1, dtype="float32", blocksize=hop_samples,
                                 callback=callback) as stream:
        try:
            while True:
                try:
                    yield blocks.get(timeout=0.1)
                except queue.Empty:
                    if not stream.active:  # the device stopped (unplugged, or the stream ended)
                        return
        except KeyboardInterrupt:
            return
