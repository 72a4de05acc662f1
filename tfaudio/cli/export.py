"""`tfaudio export`: a trained model to TFLite (builtin ops only) or a SavedModel for TF Serving."""

import os

from tfaudio import atomic
from tfaudio.cli import common
from tfaudio.errors import UserError

HELP = "Export a trained model to .tflite (float or quantized) or to a SavedModel for TF Serving."


def add_arguments(parser):
    from tfaudio.export.tflite import QUANTIZE_MODES

    parser.add_argument("--model", required=True, help="Run folder from `tfaudio train` or a .keras file.")
    parser.add_argument("--format", choices=["tflite", "saved_model"], default="tflite")
    parser.add_argument(
        "--quantize",
        choices=["none", *QUANTIZE_MODES[1:]],
        default="none",
        help="TFLite quantization. int8/int16x8/int8_mixed calibrate on the training split of the run's data; "
        "int8_mixed (int8 with the ops int8 loses on in float) is the int8 form for wav2vec2 and AST.",
    )
    parser.add_argument("--data", default=None, help="Data spec for calibration. Defaults to the run's.")
    parser.add_argument("--calibration-examples", type=int, default=200)
    parser.add_argument("--int8-io", action="store_true", help="With int8: int8 input and output tensors too.")
    parser.add_argument("--version", type=int, default=1, help="SavedModel version folder.")
    parser.add_argument("--out", required=True, help="The .tflite file, or the SavedModel's model folder.")


def export(model_path, fmt, out, quantize=None, data=None, calibration_examples=200, int8_io=False, version=1):
    """Exports and returns the written path."""
    from tfaudio.export import to_saved_model, to_tflite
    from tfaudio.export.tflite import CALIBRATED_MODES

    model_file, run_dir = common.resolve_model(model_path, kinds=("keras",))
    model = common.load_keras(model_file)
    labels = common.labels_for(model_file, run_dir)
    config = common.run_config(run_dir)
    if fmt == "saved_model":
        rate = config.get("sample_rate") or getattr(model, "sample_rate", None)
        return to_saved_model(model, out, version=version, labels=labels, sample_rate=rate)

    representative = None
    if quantize in CALIBRATED_MODES:
        data = data or config.get("data")
        if not data:
            raise UserError("int8 calibration needs --data (the model has no run_config.json)")
        sample_rate, clip_seconds = common.audio_format(
            {key: getattr(model, key, None) for key in ("sample_rate", "clip_seconds")}, config
        )
        representative, _, _ = common.load_split(
            data, "train", sample_rate, clip_seconds, max_examples=calibration_examples
        )
    # Labels and the input format travel inside the .tflite file: tfaudio's metadata for its runner
    # (to_tflite adds the model's input format), standard TFLite Model Metadata for MediaPipe
    # (the output is then probabilities).
    metadata = {k: config[k] for k in ("sample_rate", "clip_seconds") if config.get(k) is not None}
    num_classes = model.outputs[0].shape[-1]
    path = to_tflite(
        model,
        out,
        quantize=quantize,
        representative_data=representative,
        int8_io=int8_io,
        metadata=metadata,
        labels=labels if labels is not None else [str(i) for i in range(num_classes)],
        sample_rate=config.get("sample_rate") or getattr(model, "sample_rate", None),
    )
    if labels is not None:
        # Labels travel with the .tflite file so `tfaudio evaluate` and apps can read them.
        common.write_json(os.path.join(os.path.dirname(os.path.abspath(out)), common.LABELS), labels)
        source = None if run_dir is None else os.path.join(run_dir, common.RUN_CONFIG)
        if source and os.path.isfile(source) and os.path.dirname(os.path.abspath(out)) != os.path.abspath(run_dir):
            with open(source, "rb") as f:
                config_bytes = f.read()
            atomic.write_bytes(os.path.join(os.path.dirname(os.path.abspath(out)), common.RUN_CONFIG), config_bytes)
    return path


def run(args):
    quantize = None if args.quantize == "none" else args.quantize
    path = export(
        args.model, args.format, args.out, quantize, args.data, args.calibration_examples, args.int8_io, args.version
    )
    print(f"exported {args.format} ({args.quantize}) to {path} ({_size(path)})")
    return 0


def _size(path):
    if os.path.isdir(path):
        total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    else:
        total = os.path.getsize(path)
    return f"{total / 1024:.1f} KiB"
