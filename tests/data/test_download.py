"""tfaudio.data.download, offline: file:// downloads, checksums, safe extraction, manifests of known layouts."""

import csv
import hashlib
import io
import os
import tarfile
import zipfile

import numpy as np
import pytest
import soundfile as sf

from tfaudio.data import download as dl
from tfaudio.data import files_from_spec


def _wav_bytes(samples=160):
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(samples, np.float32), 8000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_download_file_checks_sha256(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc" * 1000)
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    out = dl.download_file(source.as_uri(), tmp_path / "out" / "a.bin", sha256=good, quiet=True)
    assert open(out, "rb").read() == source.read_bytes() and dl.sha256sum(out) == good
    with pytest.raises(ValueError, match="Checksum mismatch"):
        dl.download_file(source.as_uri(), tmp_path / "out" / "b.bin", sha256="0" * 64, quiet=True)
    assert not os.path.exists(tmp_path / "out" / "b.bin") and not os.path.exists(tmp_path / "out" / "b.bin.part")


def test_extract_tar_and_zip(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", {"top/x.wav": b"1", "top/sub/y.wav": b"22"})
    dest = dl.extract_archive(archive, tmp_path / "t")
    assert (tmp_path / "t" / "top" / "sub" / "y.wav").read_bytes() == b"22"
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("top/z.wav", b"333")
    dl.extract_archive(tmp_path / "a.zip", dest)
    assert (tmp_path / "t" / "top" / "z.wav").read_bytes() == b"333"
    (tmp_path / "plain.txt").write_text("neither")
    with pytest.raises(ValueError, match="Not a tar or zip"):
        dl.extract_archive(tmp_path / "plain.txt", tmp_path / "t")


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extract_refuses_path_traversal(tmp_path, kind):
    if kind == "tar":
        archive = _tar(tmp_path / "evil.tar.gz", {"../evil.txt": b"x"})
    else:
        archive = tmp_path / "evil.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("../evil.txt", b"x")
    with pytest.raises(ValueError, match="outside"):
        dl.extract_archive(archive, tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists()


def test_download_fsdd_end_to_end_offline(tmp_path):
    wav = _wav_bytes()  # FSDD's layout: 10 digits x 6 speakers x 50 takes
    members = {f"fsdd-main/recordings/{d}_s{s}_{i}.wav": wav for d in range(10) for s in range(6) for i in range(50)}
    archive = _tar(tmp_path / "fsdd.tar.gz", members)
    spec = dl.download("fsdd", root=tmp_path / "cache", url=archive.as_uri(), quiet=True)
    assert spec == f"fsdd:{tmp_path / 'cache' / 'fsdd' / 'extracted' / 'fsdd-main'}"
    train, test, labels = files_from_spec(spec)
    assert (len(train), len(test), labels) == (2700, 300, [str(d) for d in range(10)])
    os.remove(archive)  # a second call reuses the extraction, no download
    assert dl.download("fsdd", root=tmp_path / "cache", url=archive.as_uri(), quiet=True) == spec


def test_download_wrong_checksum_keeps_nothing(tmp_path):
    archive = _tar(tmp_path / "x.tar.gz", {"a.wav": b"1"})
    with pytest.raises(ValueError, match="Checksum mismatch"):
        dl.download_fsdd(root=tmp_path / "cache", url=archive.as_uri(), sha256="f" * 64, quiet=True)
    assert not os.path.exists(tmp_path / "cache" / "fsdd" / ".extracted")
    with pytest.raises(ValueError, match="Received: name='mnist'"):
        dl.download("mnist", root=tmp_path)


def test_prepare_speech_commands_official_split(tmp_path):
    root = tmp_path / "sc"
    for word in ("yes", "no", "_background_noise_"):
        (root / word).mkdir(parents=True)
        for i in range(3):
            (root / word / f"f{i}_nohash_0.wav").write_bytes(_wav_bytes())
    (root / "testing_list.txt").write_text("yes/f0_nohash_0.wav\nno/f0_nohash_0.wav\n")
    (root / "validation_list.txt").write_text("yes/f1_nohash_0.wav\n")
    spec = "manifest:" + dl.prepare_speech_commands(tmp_path)
    train, test, labels = files_from_spec(spec)
    assert labels == ["no", "yes"]  # _background_noise_ is not a class
    assert len(train) == 3 and len(test) == 2  # 6 words files - 2 test - 1 validation
    assert str(root / "yes" / "f1_nohash_0.wav") not in train.paths + test.paths
    with open(root / "validation.csv") as f:
        assert list(csv.reader(f)) == [["path", "label"], ["yes/f1_nohash_0.wav", "yes"]]


def test_prepare_esc50_fold_split(tmp_path):
    root = tmp_path / "ESC-50-master"
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    for i, (fold, category) in enumerate([(1, "dog"), (5, "dog"), (2, "rain"), (5, "rain"), (3, "rain")]):
        (root / "audio" / f"{fold}-{i}-A-0.wav").write_bytes(_wav_bytes())
        lines.append(f"{fold}-{i}-A-0.wav,{fold},0,{category},False,{i},A")
    (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    train, test, labels = files_from_spec("manifest:" + dl.prepare_esc50(tmp_path))
    assert labels == ["dog", "rain"] and (len(train), len(test)) == (3, 2)
    assert all(os.path.basename(p).startswith("5-") for p in test.paths)
    with pytest.raises(ValueError, match="Received: test_fold=9"):
        dl.prepare_esc50(tmp_path, test_fold=9)


def _sc_12class_members(top=""):
    wav = _wav_bytes(16000)
    members = {f"{top}{w}/{s}_nohash_0.wav": wav for w in ("yes", "no") for s in ("aa11", "bb22", "cc33")}
    members.update({f"{top}_unknown_/bed_{s}_nohash_0.wav.wav": wav for s in ("aa11", "dd44")})
    members.update({f"{top}_silence_/{i}.wav": wav for i in range(2)})
    return members


def test_download_speech_commands_test_set_offline(tmp_path, capsys):
    archive = _tar(tmp_path / "test_set.tar.gz", _sc_12class_members("./"))
    spec = dl.download("speech_commands_test", root=tmp_path / "cache", url=archive.as_uri())
    assert spec.startswith("speech_commands:") and spec.endswith("extracted")
    train, test, labels = files_from_spec(spec + "?split=none")
    assert labels == ["_silence_", "_unknown_", "no", "yes"] and len(train) == 10 and test is None
    err = capsys.readouterr().err
    assert "archive.tar.gz [" in err and "100%" in err  # the progress bar, on stderr
    assert sorted(os.listdir(tmp_path / "cache" / "speech_commands_test")) == [".extracted", "extracted"]


def test_download_speech_commands_gives_the_speech_commands_spec(tmp_path):
    wav = _wav_bytes(16000)
    members = {f"{w}/{s}_nohash_0.wav": wav for w in ("yes", "no", "bed") for s in ("aa11", "bb22", "cc33", "dd44")}
    members["_background_noise_/noise.wav"] = _wav_bytes(16000 * 3)
    members["testing_list.txt"] = b"yes/aa11_nohash_0.wav\nno/aa11_nohash_0.wav\nbed/aa11_nohash_0.wav\n"
    members["validation_list.txt"] = b"yes/bb22_nohash_0.wav\nno/bb22_nohash_0.wav\nbed/bb22_nohash_0.wav\n"
    archive = _tar(tmp_path / "sc.tar.gz", members)
    spec = dl.download_speech_commands(root=tmp_path / "cache", url=archive.as_uri(), quiet=True)
    splits = files_from_spec(spec + f"?words=yes,no&silence_dir={tmp_path / 'silence'}")
    train, test, labels = splits
    assert labels == ["_silence_", "_unknown_", "no", "yes"]
    assert {os.path.basename(p) for p in test.paths if "_nohash_" in p} == {"aa11_nohash_0.wav"}
    assert {os.path.basename(p) for p in splits.validation.paths if "_nohash_" in p} == {"bb22_nohash_0.wav"}
    assert os.path.isfile(spec[len("speech_commands:"):] + "/manifest.csv")  # for manifest users too


def test_default_speech_commands_root_order(tmp_path, monkeypatch):
    env_copy = tmp_path / "env_copy"
    for name, data in _sc_12class_members().items():
        (env_copy / name).parent.mkdir(parents=True, exist_ok=True)
        (env_copy / name).write_bytes(data)
    monkeypatch.setenv("TFAUDIO_SPEECH_COMMANDS", str(env_copy))
    assert dl.default_speech_commands_root(download=False) == str(env_copy)
    monkeypatch.setenv("TFAUDIO_SPEECH_COMMANDS", str(tmp_path))
    with pytest.raises(ValueError, match="not a 12-class Speech Commands folder"):
        dl.default_speech_commands_root()
    monkeypatch.delenv("TFAUDIO_SPEECH_COMMANDS")
    # ../shared/data/speech_commands from the working directory.
    work = tmp_path / "work" / "me"
    work.mkdir(parents=True)
    (tmp_path / "work" / "shared" / "data").mkdir(parents=True)
    os.symlink(env_copy, tmp_path / "work" / "shared" / "data" / "speech_commands")
    monkeypatch.chdir(work)
    assert dl.default_speech_commands_root(download=False) == os.path.join("..", "shared", "data", "speech_commands")
    # Nothing local: the cache, else a download into it.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFAUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "local_speech_commands_roots", lambda: [])
    with pytest.raises(ValueError, match="tfaudio download speech_commands_test"):
        dl.default_speech_commands_root(download=False)
    archive = _tar(tmp_path / "t.tar.gz", _sc_12class_members("speech_commands_test_set_v0.02/"))
    got = dl.default_speech_commands_root(url=archive.as_uri(), quiet=True)
    assert got == str(tmp_path / "cache" / "datasets" / "speech_commands_test" / "extracted" / "speech_commands_test_set_v0.02")
    monkeypatch.undo()
    monkeypatch.setenv("TFAUDIO_CACHE", str(tmp_path / "cache"))
    os.remove(archive)  # found in the cache now, no download
    assert got in dl.local_speech_commands_roots()


def test_download_command(tmp_path, capsys):
    from tfaudio.cli.main import main

    wav = _wav_bytes()
    members = {f"f/recordings/{d}_s{s}_{i}.wav": wav for d in range(10) for s in range(6) for i in range(50)}
    archive = _tar(tmp_path / "fsdd.tar.gz", members)
    assert main(["download", "fsdd", "--root", str(tmp_path / "c"), "--url", archive.as_uri(), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == f"fsdd:{tmp_path / 'c' / 'fsdd' / 'extracted' / 'f'}"
    # User errors: one `error:` line on stderr and exit status 2 (tfaudio.cli.main's rule).
    assert main(["download", "esc50", "--root", str(tmp_path / "c"), "--url", archive.as_uri(), "--quiet"]) == 2
    assert "error: tfaudio download esc50: No meta/esc50.csv found" in capsys.readouterr().err
    assert main(["download", "fsdd", "--root", str(tmp_path / "d"), "--url", (tmp_path / "missing.tar.gz").as_uri()]) == 2
    assert "error: tfaudio download fsdd: " in capsys.readouterr().err
