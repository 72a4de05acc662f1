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
