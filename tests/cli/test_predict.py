"""`tfaudio predict`: a 7 s file, a folder with a corrupt file, a 44.1 kHz stereo file; table, JSON, CSV."""

import csv
import io
import json

import numpy as np
import pytest
import soundfile as sf

from tfaudio.backend import keras
from tfaudio.cli.main import main
from tfaudio.export import to_tflite

RATE = 8000
LABELS = ["low", "high"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((800,))
    x = keras.layers.Reshape((800, 1))(inputs)
    x = keras.layers.Conv1D(4, 9, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    folder = tmp_path_factory.mktemp("cli_predict")
    path = to_tflite(model, str(folder / "m.tflite"), labels=LABELS, sample_rate=RATE)
    audio = folder / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    sf.write(audio / "seven.wav", (0.2 * rng.standard_normal(7 * RATE)).astype("float32"), RATE)
    t = np.arange(44100) / 44100
    sf.write(audio / "stereo44k.wav", np.stack([np.sin(2 * np.pi * 440 * t)] * 2, 1).astype("float32") * 0.3, 44100)
    (audio / "zz_corrupt.wav").write_bytes(b"RIFF....WAVEjunk")
    return path, audio


def test_table_reports_every_file_and_names_the_corrupt_one(setup, capsys):
    model, audio = setup
    code = main(["predict", str(audio), "--model", model, "--top-k", "2", "--progress", "off"])
    out, err = capsys.readouterr()
    assert code == 1  # some files could not be read
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(str(audio / "seven.wav")) and "7.00s" in lines[0]
    assert lines[1].startswith(str(audio / "stereo44k.wav")) and "1.00s" in lines[1]
    assert "ERROR" in lines[2] and "zz_corrupt.wav" in lines[2]
    assert "zz_corrupt.wav" in err


def test_json_with_timeline_matches_the_python_api(setup, capsys, tmp_path):
    import tfaudio

    model, audio = setup
    target = tmp_path / "out.json"
    code = main(["predict", str(audio / "seven.wav"), "--model", model, "--format", "json", "--timeline",
                 "--out", str(target), "--progress", "off"])  # fmt: skip
    assert code == 0 and capsys.readouterr().out == ""
    (row,) = json.loads(target.read_text())
    (expected,) = tfaudio.predict(str(audio / "seven.wav"), model=model, top_k=3, timeline=True)
    assert row["labels"] == expected.labels and row["scores"] == pytest.approx(expected.scores)
    assert len(row["windows"]) == 139 and row["windows"][0] == {**expected.windows[0]}
    assert not (tmp_path / "out.json.partial").exists()


def test_csv_rows_and_timeline_rows(setup, capsys):
    model, audio = setup
    main(["predict", str(audio), "--model", model, "--format", "csv", "--top-k", "1", "--progress", "off"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == ["seven.wav", "stereo44k.wav", "zz_corrupt.wav"]
    assert rows[0]["label_1"] in LABELS and float(rows[0]["score_1"]) > 0.5 and rows[0]["error"] == ""
    assert "zz_corrupt.wav" in rows[2]["error"]
    main(["predict", str(audio / "stereo44k.wav"), "--model", model, "--format", "csv", "--timeline",
          "--hop", "0.5", "--progress", "off"])  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(float(r["start"]), float(r["end"])) for r in rows] == [(0.0, 0.1), (0.5, 0.6), (0.9, 1.0)]


def test_progress_bar_on_stderr(setup, capsys):
    model, audio = setup
    main(["predict", str(audio), "--model", model, "--progress", "on"])
    err = capsys.readouterr().err
    assert "3/3" in err and "[" in err


def test_bad_model_is_a_clear_error(setup, capsys):
    _, audio = setup
    code = main(["predict", str(audio), "--model", str(audio / "seven.wav")])
    assert code != 0 and "`model` must be a .tflite or .keras file" in capsys.readouterr().err
