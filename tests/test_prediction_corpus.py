"""The bad-input corpus (tests/bad_audio.py) through `tfaudio.predict` and `tfaudio predict`:
each bad file is reported with the AudioError load_audio gives (the others still classified),
and the command exits 1 with one `error:` line per bad file."""

import pytest

from tests import bad_audio
from tfaudio.backend import keras
from tfaudio.cli.main import main
from tfaudio.export import to_tflite
from tfaudio.prediction import predict

# Duration limits are load_audio arguments, not predict's; root-only permissions are tried in test_io_corpus.
# A directory is a folder argument to predict (searched for audio): tried on its own below.
SKIPPED = ("unreadable permissions", "missing file", "directory named .wav")
CASES = [c for c in bad_audio.CASES if not c.kwargs and c.name not in SKIPPED]


@pytest.fixture(scope="module")
def model_and_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict-corpus")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8000,))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(8, activation="relu")(inputs)))
    path = to_tflite(model, str(tmp / "model.tflite"), labels=["a", "b", "c"], sample_rate=16000)
    files = {case.name: case.build(str(tmp)) for case in CASES}
    return path, files


def test_predict_reports_each_bad_file_and_classifies_the_rest(model_and_files):
    model, files = model_and_files
    results = predict(list(files.values()), model)
    assert [r.path for r in results] == list(files.values())
    for case, result in zip(CASES, results):
        if case.error is None:
            assert result.error is None and result.label in ("a", "b", "c"), (case.name, result)
        else:
            assert result.error is not None and case.error in result.error, (case.name, result.error)


def test_predict_command_exits_1_naming_each_bad_file(model_and_files, capsys):
    model, files = model_and_files
    assert main(["predict", *files.values(), "--model", model, "--format", "json"]) == 1
    err = capsys.readouterr().err.splitlines()
    bad = [c for c in CASES if c.error is not None]
    assert len([line for line in err if line.startswith("error: ")]) == len(bad)
    for case in bad:
        assert any(files[case.name] in line and case.error in line for line in err), case.name
    assert not any("Traceback" in line for line in err)


def test_a_folder_without_audio_is_one_error_line(model_and_files, tmp_path, capsys):
    model, _ = model_and_files
    folder = bad_audio._directory(str(tmp_path))  # "folder.wav", empty
    assert main(["predict", folder, "--model", model]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: No audio files in the folder {folder!r}."]


def test_predict_from_eight_threads_matches_sequential(model_and_files):
    """One classifier (one TFLiteModel inside) shared by 8 threads, as a server would."""
    import concurrent.futures

    from tfaudio.prediction import load_classifier

    model, files = model_and_files
    good = [files[c.name] for c in CASES if c.error is None]
    classifier = load_classifier(model)
    expected = [(r.label, r.scores) for r in predict(good, classifier)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: [(r.label, r.scores) for r in predict(good, classifier)], range(16)))
    assert all(run == expected for run in runs)
