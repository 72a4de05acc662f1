"""Downloaders for public datasets (FSDD, Speech Commands and its 12-class test set, ESC-50).

urllib with a progress bar on stderr, SHA-256 checks, safe and atomic extraction. Each
`download_*` returns a data spec (`"fsdd:PATH"`, `"speech_commands:PATH"` or `"manifest:CSV"`)
that `tfaudio.data.from_spec` and `tfaudio train --data` accept; `tfaudio download NAME` on the
command line. Nothing here runs at import time, and the tests exercise it offline (`file://`
URLs and archives built in a temporary folder).

`default_speech_commands_root()` finds the 12-class Speech Commands folder the main job uses
(a local copy, else the cache, else a download).

Example:
    >>> spec = tfaudio.data.download.download("fsdd")        # ~/.cache/tfaudio/datasets/fsdd
    >>> train_ds, test_ds, labels = tfaudio.data.from_spec(spec, batch_size=64)
"""

import csv
import dataclasses
import hashlib
import io
import os
import shutil
import sys
import tarfile
import urllib.request
import zipfile

from tfaudio import atomic


def cache_root():
    """tfaudio's cache folder: `$TFAUDIO_CACHE`, else ~/.cache/tfaudio."""
    return os.environ.get("TFAUDIO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tfaudio")


DEFAULT_ROOT = os.path.join(cache_root(), "datasets")  # at import; the functions read $TFAUDIO_CACHE when called


def datasets_root():
    """Where downloads go by default: `<cache_root()>/datasets`."""
    return os.path.join(cache_root(), "datasets")


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a dataset comes from.

    `sha256` is None for GitHub-generated archives, whose bytes GitHub does not guarantee to keep
    stable; those are checked by their content (file counts) after extraction instead.
    """

    url: str
    sha256: str = None
    citation: str = ""
    license: str = ""


SOURCES = {
    "fsdd": Source(
        url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/"
        "26eb9aaf76e81b692f806f9140c2d2777410d7a1.tar.gz",
        citation="Zohar Jackson et al., Free Spoken Digit Dataset (FSDD)",
        license="CC BY-SA 4.0",
    ),
    "speech_commands": Source(
        url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
        # The value torchaudio and TensorFlow Datasets pin for this archive (2,428,923,189 bytes).
        sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
        citation="P. Warden, Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition, arXiv:1804.03209",
        license="CC BY 4.0",
    ),
    "speech_commands_test": Source(
        url="http://download.tensorflow.org/data/speech_commands_test_set_v0.02.tar.gz",
        # TensorFlow Datasets' pinned checksum of this archive (112,563,277 bytes).
        sha256="cc2a00c1147c2254e9be3fa0f779d8c17421dc349b86366567a8edfa9acd51df",
        citation="P. Warden, Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition, arXiv:1804.03209",
        license="CC BY 4.0",
    ),
    "esc50": Source(
        url="https://github.com/karoldvl/ESC-50/archive/master.zip",
        citation="K. J. Piczak, ESC: Dataset for Environmental Sound Classification, ACM MM 2015",
        license="CC BY-NC 3.0",
    ),
}


def sha256sum(path, chunk_size=1 << 20):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def progress_bar(name, done, total, width=30):
    """One line of download progress: `name [#####.....]  45%  50.1 / 112.6 MB` (no bar when `total` is unknown)."""
    if not total:
        return f"{name}: {done / 1e6:.1f} MB"
    share = min(done / total, 1.0)
    filled = int(round(share * width))
    return f"{name} [{'#' * filled}{'.' * (width - filled)}] {share:4.0%}  {done / 1e6:.1f} / {total / 1e6:.1f} MB"


def download_file(url, path, sha256=None, quiet=False, timeout=60):
    """Downloads `url` to `path` (via `path + ".part"`), checking `sha256` when given.

    An existing `path` with the right checksum is kept (no download). Raises ValueError on a
    checksum mismatch (the bad download is deleted).
    """
    path = os.fspath(path)
    if os.path.isfile(path) and (sha256 is None or sha256sum(path) == sha256):
        return path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    part = path + ".part"
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        for block in iter(lambda: response.read(1 << 20), b""):
            out.write(block)
            done += len(block)
            if not quiet:
                sys.stderr.write("\r" + progress_bar(os.path.basename(path), done, total))
                sys.stderr.flush()
        if not quiet:
            sys.stderr.write("\n")
    if sha256 is not None:
        actual = sha256sum(part)
        if actual != sha256:
            os.remove(part)
            raise ValueError(f"Checksum mismatch for {url}: expected sha256 {sha256}, got {actual}")
    os.replace(part, path)
    return path


def _inside(root, target):
    root, target = os.path.realpath(root), os.path.realpath(target)
    return target == root or target.startswith(root + os.sep)


def extract_archive(archive, dest):
    """Extracts a .tar(.gz/.bz2/.xz) or .zip into `dest`, refusing members that would land outside it."""
    archive, dest = os.fspath(archive), os.fspath(dest)
    os.makedirs(dest, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if not _inside(dest, os.path.join(dest, member)):
                    raise ValueError(f"{archive}: member {member!r} would be extracted outside {dest}")
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            for member in tf.getmembers():
                if not _inside(dest, os.path.join(dest, member.name)):
                    raise ValueError(f"{archive}: member {member.name!r} would be extracted outside {dest}")
            tf.extractall(dest, filter="data")  # also refuses links out of dest and device files
    else:
        raise ValueError(f"Not a tar or zip archive: {archive}")
    return dest


def _fetch(name, root, url, sha256, quiet):
    """Downloads and extracts dataset `name` under `root`/name once; returns the extraction folder."""
    source = SOURCES[name]
    url = url or source.url
    sha256 = source.sha256 if sha256 is None and url == source.url else sha256
    folder = os.path.join(os.fspath(root or datasets_root()), name)
    done = os.path.join(folder, ".extracted")
    extracted = os.path.join(folder, "extracted")
    if not os.path.isfile(done):
        archive = os.path.join(folder, "archive" + (".zip" if url.endswith(".zip") else ".tar.gz"))
        download_file(url, archive, sha256=sha256, quiet=quiet)
        if not quiet:
            print(f"extracting {archive} ...", file=sys.stderr, flush=True)
        # Atomic: extract beside, then rename; `extracted/` is never half-written.
        partial = f"{extracted}.partial"
        for stale in (partial, extracted):
            if os.path.isdir(stale):
                shutil.rmtree(stale)  # an interrupted extraction, or one without its marker
        extract_archive(archive, partial)
        os.replace(partial, extracted)
        os.remove(archive)
        with open(done + ".tmp", "w") as f:
            f.write(url + "\n")
        os.replace(done + ".tmp", done)
    return extracted


def _find_dir(root, predicate):
    for current, dirs, _ in os.walk(root):
        dirs.sort()
        if predicate(current):
            return current
    return None


def prepare_fsdd(extracted):
    """The folder holding FSDD's `recordings/` inside an extracted archive (checks the 3000 files)."""
    folder = _find_dir(extracted, lambda d: os.path.isdir(os.path.join(d, "recordings")))
    if folder is None:
        raise ValueError(f"No recordings/ folder found under {extracted}")
    count = sum(name.endswith(".wav") for name in os.listdir(os.path.join(folder, "recordings")))
    if count != 3000:
        raise ValueError(f"{folder}/recordings holds {count} WAV files; FSDD has 3000")
    return folder


def _write_manifest(path, rows, header=("path", "label", "split")):
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    atomic.write_text(path, text.getvalue())  # a killed download never leaves half a manifest
    return path


def prepare_speech_commands(extracted):
    """Writes `manifest.csv` (train/test rows) and `validation.csv` next to the Speech Commands v0.02 words.

    The official split: files listed in `testing_list.txt` are "test", those in
    `validation_list.txt` go to validation.csv (columns `path,label`, no split column), so
    `from_manifest(manifest.csv)` trains on the training files and evaluates on the official test
    set, and the rest are "train". `_background_noise_` is
    not a class. Paths are relative (`word/file.wav`). Returns the manifest path.
    """
    folder = _find_dir(extracted, lambda d: os.path.isfile(os.path.join(d, "testing_list.txt")))
    if folder is None:
        raise ValueError(f"No testing_list.txt found under {extracted}: not Speech Commands")

    def listed(name):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            return {line.strip() for line in f if line.strip()}

    test, validation = listed("testing_list.txt"), listed("validation_list.txt")
    rows, validation_rows = [], []
    for word in sorted(os.listdir(folder)):
        if word.startswith(("_", ".")) or not os.path.isdir(os.path.join(folder, word)):
            continue
        for name in sorted(os.listdir(os.path.join(folder, word))):
            if name.endswith(".wav"):
                rel = f"{word}/{name}"
                if rel in validation:
                    validation_rows.append((rel, word))
                else:
                    rows.append((rel, word, "test" if rel in test else "train"))
    _write_manifest(os.path.join(folder, "validation.csv"), validation_rows, header=("path", "label"))
    return _write_manifest(os.path.join(folder, "manifest.csv"), rows)


def prepare_esc50(extracted, test_fold=5):
    """Writes `manifest.csv` for ESC-50 from `meta/esc50.csv`: fold `test_fold` is "test", the others "train".

    Labels are the category names (e.g. "dog"). ESC-50 is meant for 5-fold cross-validation;
    `test_fold` picks the held-out fold. Returns the manifest path.
    """
    folder = _find_dir(extracted, lambda d: os.path.isfile(os.path.join(d, "meta", "esc50.csv")))
    if folder is None:
        raise ValueError(f"No meta/esc50.csv found under {extracted}: not ESC-50")
    rows = []
    with open(os.path.join(folder, "meta", "esc50.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            split = "test" if int(row["fold"]) == int(test_fold) else "train"
            rows.append((f"audio/{row['filename']}", row["category"], split))
    if not any(split == "test" for _, _, split in rows):
        raise ValueError(f"No file of fold {test_fold} in {folder}/meta/esc50.csv. Received: test_fold={test_fold!r}")
    return _write_manifest(os.path.join(folder, f"manifest_fold{test_fold}.csv"), rows)


def prepare_speech_commands_test_set(extracted):
    """The folder of the 12-class test set inside an extracted archive (the one holding `_unknown_/`)."""
    folder = _find_dir(extracted, _is_12class)
    if folder is None:
        raise ValueError(f"No _unknown_/ folder found under {extracted}: not the Speech Commands 12-class test set")
    return folder


def download_fsdd(root=None, url=None, sha256=None, quiet=False):
    """Downloads FSDD (~10 MB) under `root` (default `datasets_root()`); returns the spec `"fsdd:PATH"`."""
    return "fsdd:" + prepare_fsdd(_fetch("fsdd", root, url, sha256, quiet))


def download_speech_commands(root=None, url=None, sha256=None, quiet=False):
    """Downloads Speech Commands v0.02 (2.4 GB); returns `"speech_commands:PATH"` (the official lists split).

    Also writes `manifest.csv` (35 words, official train/test) and `validation.csv` beside the
    words (`prepare_speech_commands`) for manifest users.
    """
    folder = os.path.dirname(prepare_speech_commands(_fetch("speech_commands", root, url, sha256, quiet)))
    return "speech_commands:" + folder


def download_speech_commands_test_set(root=None, url=None, sha256=None, quiet=False):
    """Downloads the official 12-class Speech Commands v0.02 test set (~112 MB, 4,890 clips).

    Returns `"speech_commands:PATH"`: the layout of ../shared/data/speech_commands (ten words,
    `_unknown_`, `_silence_`).
    """
    return "speech_commands:" + prepare_speech_commands_test_set(_fetch("speech_commands_test", root, url, sha256, quiet))


def download_esc50(root=None, test_fold=5, url=None, sha256=None, quiet=False):
    """Downloads ESC-50 (~600 MB); returns `"manifest:CSV"` with fold `test_fold` as the test split."""
    return "manifest:" + prepare_esc50(_fetch("esc50", root, url, sha256, quiet), test_fold=test_fold)


_DOWNLOADERS = {
    "fsdd": download_fsdd,
    "speech_commands": download_speech_commands,
    "speech_commands_test": download_speech_commands_test_set,
    "esc50": download_esc50,
}
NAMES = tuple(_DOWNLOADERS)


def download(name, root=None, **kwargs):
    """Downloads dataset `name` (one of `NAMES`) under `root` (default `datasets_root()`); returns its data spec."""
    if name not in _DOWNLOADERS:
        raise ValueError(f"`name` must be one of {sorted(_DOWNLOADERS)}. Received: name={name!r}")
    return _DOWNLOADERS[name](root=root, **kwargs)


def _is_12class(folder):
    return os.path.isdir(os.path.join(folder, "_unknown_"))


def local_speech_commands_roots():
    """Where a local 12-class Speech Commands folder is looked for, in order (see `default_speech_commands_root`)."""
    import pathlib

    repo = pathlib.Path(__file__).resolve().parents[2]
    shared = os.path.join("shared", "data", "speech_commands")
    candidates = [os.path.join("..", shared), os.path.join(str(repo.parent), shared)]
    cache = os.path.join(datasets_root(), "speech_commands_test")
    if os.path.isfile(os.path.join(cache, ".extracted")):
        found = _find_dir(os.path.join(cache, "extracted"), _is_12class)
        if found:
            candidates.append(found)
    return candidates


def default_speech_commands_root(download=True, quiet=False, url=None):
    """The 12-class Speech Commands folder of the main job; downloads it when there is no copy.

    In order: `$TFAUDIO_SPEECH_COMMANDS` (must be such a folder); ../shared/data/speech_commands
    seen from the working directory, then beside the tfaudio checkout; the copy in the cache
    (`<cache_root()>/datasets/speech_commands_test`); else, with `download`, the official test
    set is downloaded there (progress on stderr, checksum checked, extracted atomically).

    Returns:
        str: the folder (`speech_commands:` + it is the data spec).

    Raises:
        ValueError: `$TFAUDIO_SPEECH_COMMANDS` is not a 12-class folder, or nothing is found and
            `download` is False.
    """
    env = os.environ.get("TFAUDIO_SPEECH_COMMANDS")
    if env:
        if not _is_12class(env):
            raise ValueError(
                f"$TFAUDIO_SPEECH_COMMANDS={env!r} is not a 12-class Speech Commands folder (no _unknown_/ in it)."
            )
        return env
    for folder in local_speech_commands_roots():
        if _is_12class(folder):
            return os.path.normpath(folder)
    if not download:
        raise ValueError(
            "No Speech Commands folder found (tried $TFAUDIO_SPEECH_COMMANDS, ../shared/data/speech_commands and "
            f"the cache {datasets_root()}); run `tfaudio download speech_commands_test`."
        )
    if not quiet:
        print("No local Speech Commands copy: downloading the official 12-class test set (~112 MB) to "
              f"{datasets_root()}", file=sys.stderr, flush=True)
    return download_speech_commands_test_set(url=url, quiet=quiet)[len("speech_commands:"):]
