"""Every sub-command turns user errors into one `error: ...` line naming the thing, exit status 2.

Each case runs `tfaudio.cli.main.main` in-process and checks: status 2, no traceback, the last
stderr line starts with "error:" (argparse's own "tfaudio CMD: error:" for bad flags) and names
the file or argument. One subprocess run checks that a real `tfaudio` process prints nothing
else (no TensorFlow start-up lines) for the same kind of mistake.
"""

import os
import subprocess
import sys

import pytest
import soundfile as sf

from tests import bad_audio
from tfaudio.cli.main import COMMANDS, main

# Fake model files: the kind is told by the first bytes (zip for .keras, "TFL3" for .tflite).
FAKE_KERAS = b"PK\x03\x04" + b"\x00" * 60  # a zip signature with nothing valid after it
FAKE_TFLITE = b"\x1c\x00\x00\x00TFL3" + b"\x00" * 56


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-errors")
    text = root / "notes.tflite"
    text.write_text("not a model\n")
    (root / "model.keras").write_bytes(FAKE_KERAS)
    (root / "fake.tflite").write_bytes(FAKE_TFLITE)
    (root / "text.keras").write_text("not a model\n")
    (root / "empty_run").mkdir()
    clip = root / "words" / "yes"
    clip.mkdir(parents=True)
    sf.write(clip / "a.wav", bad_audio.tone(0.2), 16000)
    bad_audio._cut("cut100.wav", 100)(str(clip))
    for label in ("no", "yes"):
        (root / "ok" / label).mkdir(parents=True)
        for name in ("a.wav", "b.wav"):
            sf.write(root / "ok" / label / name, bad_audio.tone(0.2), 16000)
    (root / "bad.csv").write_text("path,label\nmissing.wav,yes\n")
    (root / "a_file").write_text("x")
    return root


def _cases(r):
    """(command line, text the error must contain). `r` is the fixture folder."""
    data = f"folder:{r}/ok"
    return {
        "train": [
            (["train", "--model", "sincnet", "--data", "fsdd:/no/such/folder", "--out", f"{r}/o"], "/no/such/folder"),
            (["train", "--model", "sincnet", "--data", "nope:x", "--out", f"{r}/o"], "nope:x"),
            (["train", "--model", "sincnet", "--data", f"manifest:{r}/missing.csv", "--out", f"{r}/o"], "missing.csv"),
            (["train", "--model", "sincnet", "--data", f"manifest:{r}/bad.csv", "--out", f"{r}/o"], "missing.wav"),
            (["train", "--model", "sincnet", "--data", f"folder:{r}/words", "--out", f"{r}/o"], "cut100.wav: truncated"),
            (["train", "--model", "no_such_model", "--data", data, "--out", f"{r}/o"], "no_such_model"),
            (["train", "--model", "sincnet", "--data", data, "--out", f"{r}/o", "--override", "oops"], "oops"),
            (["train", "--model", "sincnet", "--data", data, "--out", f"{r}/o", "--batch-size", "0"], "batch_size=0"),
            (["train", "--model", "sincnet", "--data", data, "--out", f"{r}/o", "--epochs", "ten"], "--epochs"),
            (["train", "--model", "sincnet", "--data", data], "--out"),
        ],
        "evaluate": [
            (["evaluate", "--model", f"{r}/missing.keras", "--data", data], "missing.keras"),
            (["evaluate", "--model", f"{r}/empty_run", "--data", data], "empty_run"),
            (["evaluate", "--model", f"{r}/notes.tflite", "--data", data], "notes.tflite: not a"),
            (["evaluate", "--model", f"{r}/model.keras", "--data", f"{data}?validation_split=0.5"], "model.keras: cannot be"),
            (["evaluate", "--model", f"{r}/model.keras"], "--data is required"),
            (["evaluate", "--model", f"{r}/model.keras", "--data", f"manifest:{r}/missing.csv"], "missing.csv"),
            (["evaluate", "--model", f"{r}/model.keras", "--data", "fsdd"], "spec='fsdd'"),
            (["evaluate", "--model", f"{r}/model.keras", "--batch-size", "x"], "--batch-size"),
        ],
        "export": [
            (["export", "--model", f"{r}/missing", "--out", f"{r}/m.tflite"], "missing"),
            (["export", "--model", f"{r}/fake.tflite", "--out", f"{r}/m.tflite"], "fake.tflite: a .tflite model where"),
            (["export", "--model", f"{r}/text.keras", "--out", f"{r}/m.tflite"], "text.keras: not a .keras model"),
            (["export", "--model", f"{r}/model.keras", "--out", f"{r}/m.tflite"], "model.keras: cannot be loaded"),
            (["export", "--model", f"{r}/model.keras", "--format", "onnx", "--out", "x"], "--format"),
            (["export", "--model", f"{r}/model.keras"], "--out"),
        ],
        "bench": [
            ([ "bench", f"{r}/notes.tflite"], "notes.tflite: not a .tflite model"),
            (["bench", f"{r}/model.keras"], "model.keras: a .keras model where a .tflite model is needed"),
            (["bench", f"{r}/missing.tflite"], "missing.tflite"),
            (["bench", f"{r}/fake.tflite", "--runs", "many"], "--runs"),
        ],
        "detect": [
            (["detect", f"{r}/ok/yes/a.wav", "--model", f"{r}/missing.tflite"], "missing.tflite"),
            (["detect", f"{r}/ok/yes/a.wav", "--model", f"{r}/notes.tflite"], "notes.tflite: not a"),
            (["detect", f"{r}/ok/yes/a.wav", "--model", f"{r}/model.keras"], "model.keras: cannot be loaded"),
            (["detect", f"{r}/ok/yes/a.wav", "--model", f"{r}/fake.tflite", "--threads", "0"], "--threads"),
            (["detect", f"{r}/ok/yes/a.wav", "--model", f"{r}/fake.tflite", "--frames-per-hop", "2"],
             "--frames-per-hop applies to Keras models"),
            (["detect", f"{r}/ok/yes/a.wav", "--model", f"{r}/fake.tflite", "--threshold", "high"], "--threshold"),
        ],
        "predict": [
            (["predict", f"{r}/ok/yes/a.wav", "--model", f"{r}/missing.tflite"], "missing.tflite"),
            (["predict", f"{r}/ok/yes/a.wav", "--model", f"{r}/fake.tflite"], "fake.tflite: not a valid TFLite model"),
            (["predict", f"{r}/ok/yes/a.wav", "--model", f"{r}/fake.tflite", "--top-k", "0"], "top_k=0"),
            (["predict", f"{r}/ok/yes/a.wav", "--model", f"{r}/fake.tflite", "--format", "xml"], "--format"),
        ],
        "download": [  # no network: file:// URLs
            (["download", "nope"], "invalid choice: 'nope'"),
            (["download", "fsdd", "--url", f"file://{r}/missing.tar.gz", "--root", f"{r}/dl", "--quiet"],
             "missing.tar.gz"),
            (["download", "fsdd", "--url", f"file://{r}/a_file", "--root", f"{r}/dl", "--quiet"],
             "Not a tar or zip archive"),
            (["download", "fsdd", "--root", f"{r}/a_file/sub", "--url", f"file://{r}/a_file", "--quiet"],
             "a_file/sub"),
        ],
        "predict": [
            (["predict", f"{r}/ok", "--model", f"{r}/missing.tflite"], "missing.tflite"),
            (["predict", f"{r}/ok", "--model", f"{r}/notes.tflite"], "notes.tflite"),
            (["predict", f"{r}/ok", "--model", f"{r}/fake.tflite", "--top-k", "x"], "--top-k"),
            (["predict", f"{r}/ok", "--model", f"{r}/fake.tflite", "--aggregate", "median"], "--aggregate"),
        ],
        "run": [
            (["run", "--data", "fsdd:/no/such/folder", "--out", f"{r}/run"], "/no/such/folder"),
            (["run", "--data", "folder:", "--out", f"{r}/run"], "spec='folder:'"),
            (["run", "--epochs", "-"], "--epochs"),
        ],
    }


def test_every_command_has_error_cases(files):
    assert set(_cases(files)) == set(COMMANDS), "add the new sub-command's error cases here"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_user_errors_are_one_line_with_status_2(command, files, capsys):
    for argv, named in _cases(files)[command]:
        try:
            code = main(argv)
        except SystemExit as e:  # argparse exits itself for bad flags
            code = e.code
        out, err = capsys.readouterr()
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2, (argv, code, out, err)
        assert "Traceback" not in err + out, (argv, err)
        errors = [line for line in lines if line.startswith(("error:", f"tfaudio {command}: error:"))]
        assert len(errors) == 1, (argv, err)
        assert named in err, (argv, named, err)


def test_a_real_process_prints_only_the_error_line(files):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "tfaudio", "train", "--model", "sincnet", "--data", "fsdd:/no/such", "--out", "x"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=files, timeout=300)
    assert result.returncode == 2
    assert result.stdout == ""
    # Training imported TensorFlow: its start-up lines (CUDA probing, absl, oneDNN) were dropped.
    assert result.stderr.splitlines() == [
        "error: FSDD folder not found: expected `root` or `root`/recordings to hold the WAVs. Received: root='/no/such'"
    ], result.stderr
