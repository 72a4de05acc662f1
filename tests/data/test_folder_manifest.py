"""tfaudio.data.from_folder / from_manifest / from_spec: label order, splits, path resolution."""

import os

import numpy as np
import pytest
import soundfile as sf

import tfaudio
import tfaudio.data as data


def _write(path, samples=800, rate=8000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, np.full(samples, 0.25, np.float32), rate, subtype="PCM_16")
    return str(path)


@pytest.fixture
def folder(tmp_path):
    """Classes "yes" (6 files, one in a sub-folder), "no" (4, one FLAC at 16 kHz), "_noise" (skipped)."""
    root = tmp_path / "words"
    for i in range(5):
        _write(root / "yes" / f"{i}.wav")
    _write(root / "yes" / "more" / "5.wav")
    for i in range(3):
        _write(root / "no" / f"{i}.wav")
    sf.write(root / "no" / "3.flac", np.zeros(1600, np.float32), 16000)
    _write(root / "_noise" / "hum.wav")
    (root / "no" / "notes.txt").write_text("not audio, not listed")
    return root


def test_folder_labels_are_sorted_subfolders(folder):
    train, test, labels = data.folder_files(folder)
    assert labels == ["no", "yes"] and test is None
    assert len(train) == 10
    assert [labels[y] for y in train.labels] == [os.path.relpath(p, folder).split(os.sep)[0] for p in train.paths]


def test_folder_validation_split_is_stratified_and_stable(folder):
    train, test, _ = data.folder_files(folder, validation_split=0.25)
    assert (len(train), len(test)) == (7, 3)  # round(6 * .25) = 2 "yes", round(4 * .25) = 1 "no"
    assert sorted(test.labels) == [0, 1, 1]
    assert not set(train.paths) & set(test.paths)
    assert data.folder_files(folder, validation_split=0.25) == (train, test, ["no", "yes"])  # same every run
    _, other, _ = data.folder_files(folder, validation_split=0.25, split_seed=1)
    assert len(other) == 3
    with pytest.raises(ValueError, match="Received: validation_split=1.5"):
        data.folder_files(folder, validation_split=1.5)


def test_from_folder_datasets(folder):
    train_ds, test_ds, labels = data.from_folder(folder, sample_rate=8000, clip_seconds=0.25, batch_size=4,
                                                 validation_split=0.25, seed=0)
    x, y = next(iter(test_ds))
    assert labels == ["no", "yes"] and x.shape == (3, 2000) and list(y.numpy()) == [0, 1, 1]
    assert sum(int(x.shape[0]) for x, _ in train_ds) == 7  # the 16 kHz FLAC is resampled, not dropped


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        data.folder_files(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="holds no audio files"):
        data.folder_files(tmp_path)


def _manifest(path, text):
    path.write_text(text)
    return path


def test_manifest_with_split_column(folder, tmp_path):
    _write(tmp_path / "abs" / "x.wav")
    csv = _manifest(
        folder / "list.csv",
        "path,label,split,comment\n"
        "yes/0.wav,yes,train,\nyes/1.wav,yes,test,\nno/0.wav,no,train,\n"
        f"{tmp_path / 'abs' / 'x.wav'},maybe,train,absolute path\n",
    )
    train, test, labels = data.manifest_files(csv)
    assert labels == ["maybe", "no", "yes"]
    assert train.paths == (str(folder / "yes" / "0.wav"), str(folder / "no" / "0.wav"), str(tmp_path / "abs" / "x.wav"))
    assert train.labels == (2, 1, 0) and test.paths == (str(folder / "yes" / "1.wav"),) and test.labels == (2,)
    train_ds, test_ds, _ = data.from_manifest(csv, sample_rate=8000, clip_seconds=0.1, batch_size=8)
    assert next(iter(train_ds))[0].shape == (3, 800) and next(iter(test_ds))[0].shape == (1, 800)


def test_manifest_without_split_column(folder):
    csv = _manifest(folder / "all.csv", "path,label\n" + "".join(f"yes/{i}.wav,yes\n" for i in range(5))
                    + "".join(f"no/{i}.wav,no\n" for i in range(3)))
    train, test, labels = data.manifest_files(csv)
    assert len(train) == 8 and test is None and labels == ["no", "yes"]
    train, test, _ = data.manifest_files(csv, validation_split=0.4)
    assert (len(train), len(test)) == (5, 3) and sorted(test.labels) == [0, 1, 1]  # round(5*.4)=2 yes, round(3*.4)=1 no


def test_manifest_errors(folder):
    with pytest.raises(ValueError, match="path,label"):
        data.manifest_files(_manifest(folder / "noheader.csv", "yes/0.wav,yes\n"))
    odd = _manifest(folder / "odd.csv", "path,label,split\nyes/0.wav,yes,train\nyes/1.wav,yes,holdout\n")
    with pytest.raises(ValueError, match=r"split values \['holdout'\]"):
        data.manifest_files(odd)
    train, test, _ = data.manifest_files(odd, test_split=["holdout"])
    assert len(train) == len(test) == 1
    with pytest.raises(ValueError, match="line 3: empty path or label"):
        data.manifest_files(_manifest(folder / "blank.csv", "path,label\nyes/0.wav,yes\n,yes\n"))


def test_manifest_missing_file_is_named(folder):
    csv = _manifest(folder / "gone.csv", "path,label\nyes/0.wav,yes\nyes/gone.wav,yes\n")
    with pytest.raises(tfaudio.AudioError) as info:
        data.from_manifest(csv, sample_rate=8000)
    assert f"{folder / 'yes' / 'gone.wav'}: file not found" in str(info.value)


def test_from_spec_dispatches(folder, fsdd):
    csv = _manifest(folder / "s.csv", "path,label\nyes/0.wav,yes\nno/0.wav,no\n")
    for spec, n_train in [(f"folder:{folder}", 10), (f"manifest:{csv}", 2), (f"fsdd:{fsdd}", 2700)]:
        train, _, _ = data.files_from_spec(spec)
        assert len(train) == n_train
    train_ds, test_ds, labels = data.from_spec(f"folder:{folder}", sample_rate=8000, clip_seconds=0.1, batch_size=16)
    assert labels == ["no", "yes"] and test_ds is None
    assert next(iter(train_ds))[0].shape == (10, 800)
    _, test, _ = data.files_from_spec(f"fsdd:{fsdd}", split="speaker:lucas")
    assert len(test) == 500
    for bad in ["wav:/tmp", "folder:", str(folder)]:
        with pytest.raises(ValueError, match="fsdd:PATH, folder:PATH, manifest:CSV or speech_commands:PATH"):
            data.from_spec(bad)


def test_spec_options_pin_the_split(folder, fsdd):
    assert data.parse_spec("fsdd:/d/fsdd?split=speaker:theo") == ("fsdd", "/d/fsdd", {"split": "speaker:theo"})
    assert data.parse_spec("manifest:a.csv?test_split=val,test&split_seed=2")[2] == {
        "test_split": ("val", "test"), "split_seed": 2}
    _, test, _ = data.files_from_spec(f"fsdd:{fsdd}?split=speaker:george")
    assert len(test) == 500 and all("_george_" in p for p in test.paths)
    spec = f"folder:{folder}?validation_split=0.25&split_seed=3"
    train, test, _ = data.files_from_spec(spec)
    assert (train, test) == data.folder_files(folder, validation_split=0.25, split_seed=3)[:2]
    _, test_ds, _ = data.from_spec(spec, sample_rate=8000, clip_seconds=0.1)
    assert int(next(iter(test_ds))[0].shape[0]) == 3  # evaluation sees the same held-out files
    with pytest.raises(ValueError, match="given both in the data spec and as arguments"):
        data.files_from_spec(spec, split_seed=4)
    with pytest.raises(ValueError, match="Bad or repeated option"):
        data.parse_spec("folder:x?a=1&a=2")


def test_file_lists_do_not_import_tensorflow(fsdd):
    import subprocess
    import sys

    code = (
        "import sys, tfaudio.data as d; "
        f"train, test, labels = d.files_from_spec('fsdd:{fsdd}'); "
        "assert len(train) == 2700; print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_manifest_validation_rows_are_a_split_of_their_own(folder):
    csv = _manifest(
        folder / "val.csv",
        "path,label,split\nyes/0.wav,yes,train\nno/0.wav,no,train\nyes/1.wav,yes,validation\nno/1.wav,no,val\n"
        "yes/2.wav,yes,test\n",
    )
    splits = data.manifest_files(csv)
    train, test, labels = splits
    assert (len(train), len(splits.validation), len(test)) == (2, 2, 1) and labels == ["no", "yes"]
    assert splits.validation.paths == (str(folder / "yes" / "1.wav"), str(folder / "no" / "1.wav"))
    # A name given as a test split is a test split.
    train, test, _ = data.manifest_files(csv, test_split=("test", "validation"))
    assert len(test) == 2 and data.manifest_files(csv, test_split=("test", "validation")).validation.paths == (
        str(folder / "no" / "1.wav"),)
    ds = data.from_manifest(csv, sample_rate=8000, clip_seconds=0.1, batch_size=8)
    assert sum(int(x.shape[0]) for x, _ in ds.validation) == 2


def test_manifest_of_test_rows_only(folder):
    csv = _manifest(folder / "only_test.csv", "path,label,split\nyes/0.wav,yes,test\nno/0.wav,no,test\n")
    train, test, labels = data.manifest_files(csv)
    assert len(train) == 0 and len(test) == 2 and labels == ["no", "yes"]
    with pytest.raises(ValueError, match="nothing to train on"):
        data.from_manifest(csv, sample_rate=8000)
