"""The README's main job through the CLI: train -> export float/int8 -> evaluate -> bench (`tfaudio run`)."""

import csv
import json

import numpy as np
import pytest

from tfaudio.cli.evaluate import evaluate
from tfaudio.cli.main import build_parser, main
from tfaudio.errors import UserError
from tfaudio.export import TFLiteModel
from tfaudio.models import load

# A SincNet small enough for one CPU epoch in seconds; the structure is the paper's.
TINY_SINCNET = {
    "sinc_filters": 8,
    "sinc_kernel_size": 51,
    "conv_filters": [8, 8],
    "global_pooling": "avg",
    "dense_units": [16],
}


@pytest.fixture(scope="module")
def manifest(fsdd, tmp_path_factory):
    """Digits 0-2 of two speakers: takes 5-14 train, 0-3 test (the official split's rule)."""
    path = tmp_path_factory.mktemp("data") / "manifest.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split"])
        for digit in range(3):
            for speaker in ("jackson", "nicolas"):
                for take in list(range(4)) + list(range(5, 15)):
                    wav = fsdd / "recordings" / f"{digit}_{speaker}_{take}.wav"
                    w.writerow([str(wav), str(digit), "test" if take < 5 else "train"])
    return path


@pytest.mark.slow
def test_run_writes_models_summary_and_consistent_metrics(manifest, tmp_path):
    out = tmp_path / "run"
    train_args = ["--quiet", "--batch-size", "8"]
    for key, value in TINY_SINCNET.items():
        train_args += ["--override", f"{key}={json.dumps(value)}"]
    argv = ["run", "--model", "sincnet", "--data", f"manifest:{manifest}", "--epochs", "1", "--out", str(out),
            "--threads", "1", "--sample-rate", "8000"]
    argv += [f"--train-arg={a}" for a in train_args]
    assert main(argv) == 0

    for name in ("model.keras", "labels.json", "metrics.json", "run_config.json", "summary.json", "summary.md"):
        assert (out / name).is_file(), name
    assert json.loads((out / "labels.json").read_text()) == ["0", "1", "2"]
    summary = json.loads((out / "summary.json").read_text())
    results = summary["results"]
    assert set(results) == {"keras", "tflite_float", "tflite_int8"}
    assert all(r["examples"] == 24 for r in results.values())
    assert all(r["size_bytes"] > 0 for r in results.values())  # (a model this tiny is all overhead)
    assert results["tflite_float"]["p50_ms_1t"] > 0

    # Float TFLite predicts the same class as Keras on every test clip.
    keras_metrics = evaluate(str(out))
    tflite_metrics = evaluate(str(out / "export" / "model_float.tflite"))
    assert keras_metrics["confusion_matrix"] == tflite_metrics["confusion_matrix"]
    assert results["keras"]["accuracy"] == keras_metrics["accuracy"]


@pytest.mark.slow
def test_export_saved_model_and_bench_commands(manifest, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--model", "sincnet", "--data", f"manifest:{manifest}", "--epochs", "1", "--out", str(out)]
    argv += ["--quiet", "--sample-rate", "8000"]
    for key, value in TINY_SINCNET.items():
        argv += ["--override", f"{key}={json.dumps(value)}"]
    assert main(argv) == 0

    assert main(["export", "--model", str(out), "--format", "saved_model", "--out", str(tmp_path / "serving")]) == 0
    import tensorflow as tf

    serve = tf.saved_model.load(str(tmp_path / "serving" / "1")).signatures["serving_default"]
    x = np.zeros((2, 8000), np.float32)
    np.testing.assert_allclose(serve(waveform=x)["logits"].numpy(), load(str(out / "model.keras"))(x), atol=1e-5)

    tflite = tmp_path / "m.tflite"
    assert main(["export", "--model", str(out), "--quantize", "float16", "--out", str(tflite)]) == 0
    runner = TFLiteModel(str(tflite))
    assert runner.input_shape == (-1, 8000)
    # Labels and input format travel inside the file. SincNet's PeakNormalization runs inside the
    # graph, so no runner is asked to normalise; with labels the output is probabilities.
    assert runner.metadata["labels"] == ["0", "1", "2"]
    assert runner.metadata["sample_rate"] == 8000 and runner.metadata["clip_seconds"] == 1.0
    assert "input_normalization" not in runner.metadata
    assert runner.metadata["output"] == "probabilities"
    capsys.readouterr()
    assert main(["bench", str(tflite), "--threads", "1", "2", "--runs", "3", "--warmup", "1"]) == 0
    printed = capsys.readouterr().out
    assert "1 thread(s) p50" in printed and "2 thread(s) p50" in printed


def test_main_job_defaults_to_keyword_spotting_on_speech_commands(monkeypatch, tmp_path):
    """`tfaudio run` with no arguments: BC-ResNet-2 (20 ms hop), KWS recipe, the 12-class Speech Commands folder."""
    from tests.models import _kws
    from tfaudio.cli import run as run_cli

    root = _kws.speech_commands_root()
    if not (root / "_silence_").is_dir():
        pytest.skip(f"Speech Commands not found at {root}")
    monkeypatch.setenv("TFAUDIO_SPEECH_COMMANDS", str(root))
    assert run_cli.default_data() == f"speech_commands:{root}"
    args = build_parser().parse_args(["run", "--out", str(tmp_path / "run")])
    train_argv = run_cli._train_arguments(args, run_cli.default_data())
    parsed = build_parser().parse_args(["train", *train_argv])
    from tfaudio.cli.train import config_from_args

    config = config_from_args(parsed)
    assert (config.model, config.data, config.sample_rate) == ("bc_resnet", f"speech_commands:{root}", 16000)
    assert config.overrides == {"width": 2, "frame_step_seconds": 0.02}
    assert config.spec_augment and config.background_noise == "auto" and config.schedule == "cosine"
    assert config.epochs == 40
    # Overrides given by the user replace the main job's.
    args = build_parser().parse_args(["run", "--train-arg=--override", "--train-arg=width=1"])
    assert "width=2" not in " ".join(run_cli._train_arguments(args, "speech_commands:x"))


def test_main_job_on_fsdd_trains_at_8_khz_with_the_digits_recipe(monkeypatch, tmp_path):
    """`tfaudio run --data fsdd:PATH`: FSDD's own rate and the augmentation that carries to other speakers."""
    from tfaudio.cli import run as run_cli
    from tfaudio.cli.train import config_from_args

    speech_commands = tmp_path / "speech_commands"
    for folder in ("_unknown_", "_silence_"):
        (speech_commands / folder).mkdir(parents=True)
    monkeypatch.setenv("TFAUDIO_SPEECH_COMMANDS", str(speech_commands))

    def config(*argv):
        args = build_parser().parse_args(["run", "--data", "fsdd:fsdd", *argv])
        return config_from_args(build_parser().parse_args(["train", *run_cli._train_arguments(args, args.data)]))

    c = config()
    assert c.sample_rate == 8000 and c.speed_perturbation == 0.15 and c.noise and c.equalizer_db == 6.0
    assert (c.min_snr_db, c.max_snr_db, c.gain_db) == (5.0, 40.0, 6.0)
    assert c.background_noise_dir == str(speech_commands / "_silence_")  # recorded noise, never a digit clip
    assert c.spec_augment and c.overrides == {"width": 2, "frame_step_seconds": 0.02}  # the main job's model, recipe
    # The user's --sample-rate and --train-arg values win.
    c = config("--sample-rate", "16000", "--train-arg=--speed-perturbation=0.05",
               f"--train-arg=--background-noise-dir={tmp_path}")
    assert c.sample_rate == 16000 and c.speed_perturbation == 0.05 and c.background_noise_dir == str(tmp_path)
    # Without a Speech Commands folder the job trains without the recorded noise (no 112 MB download for it).
    monkeypatch.delenv("TFAUDIO_SPEECH_COMMANDS")
    monkeypatch.setattr("tfaudio.data.download.local_speech_commands_roots", lambda: [])
    monkeypatch.setenv("TFAUDIO_CACHE", str(tmp_path / "cache"))
    c = config()
    assert c.background_noise_dir is None and c.speed_perturbation == 0.15
    # Other data keeps 16 kHz and no extra augmentation.
    args = build_parser().parse_args(["run", "--data", "folder:words"])
    c = config_from_args(build_parser().parse_args(["train", *run_cli._train_arguments(args, args.data)]))
    assert c.sample_rate == 16000 and not c.speed_perturbation and not c.noise and not c.gain_db
    assert not c.equalizer_db and c.background_noise_dir is None


def test_every_command_has_help(capsys):
    parser = build_parser()
    for command in ("train", "evaluate", "export", "bench", "run"):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: tfaudio " + command in capsys.readouterr().out


def test_missing_model_is_named(tmp_path):
    with pytest.raises(UserError, match="no model at"):
        evaluate(str(tmp_path / "nothing.keras"), data="fsdd:x")
