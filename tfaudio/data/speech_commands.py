"""Speech Commands (Warden 2018): the official download and the pre-made 12-class layout, split by speaker.

Two layouts are read, told apart by their folders:

- the official download (`speech_commands_v0.02.tar.gz`): one folder per word (35 in v0.02),
  `_background_noise_/` with a few long noise recordings, and `validation_list.txt` /
  `testing_list.txt`;
- the pre-made 12-class layout of the official test set (`speech_commands_test_set_v0.02`, and
  ../shared/data/speech_commands): `yes no up down left right on off stop go`, `_unknown_` (other
  words, the word being the file-name prefix) and `_silence_` (one-second noise clips).

Tasks: "12" (the ten commands, `_unknown_` and `_silence_`), "35" (every word, official layout
only) and "digits" ("zero".."nine" as labels "0".."9": other people's digits for a model trained on
FSDD). On the official layout, task "12" is built as the TensorFlow speech_commands example's
`input_data.py` builds it: per split, `_unknown_` files drawn from the other words and `_silence_`
clips, each `ceil(10 %)` of that split's command files by default; the silence clips are cut
from `_background_noise_` (see `silence_clips`).

Splits never put a speaker in two places. The speaker is the file-name part before `_nohash_`
(after the word prefix in `_unknown_`); files without one (the `_silence_` clips) are their own group.
"""

import hashlib
import math
import os
import random
import re

from tfaudio.data.split import DataSplits, Split, label_index

COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
WORDS_V2 = tuple(sorted(COMMANDS + DIGITS + (
    "backward", "bed", "bird", "cat", "dog", "follow", "forward", "happy", "house", "learn",
    "marvin", "sheila", "tree", "visual", "wow",
)))
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
BACKGROUND_NOISE = "_background_noise_"
TASKS = ("12", "35", "digits")
SETS = ("training", "validation", "testing")

# From the TensorFlow speech_commands example (input_data.py): the hash modulus of `which_set`
# and the seed of its unknown-word draw.
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
RANDOM_SEED = 59185

# "speaker_hash" hashes the speaker id with this prefix: a new draw of the same kind as
# `which_set`, for folders that are one official partition (every speaker of the 12-class test
# set hashes to "testing").
SPEAKER_HASH_SALT = "tfaudio-speaker:"

_NOHASH = re.compile(r"_nohash_.*$")


def speaker_id(path):
    """The speaker of a Speech Commands file, or None (e.g. a numbered `_silence_` clip).

    `0c540988_nohash_0.wav` and `backward_0c540988_nohash_0.wav.wav` (the `_unknown_` naming of
    the 12-class test set) both give "0c540988".
    """
    name = os.path.basename(os.fspath(path))
    if "_nohash_" not in name:
        return None
    return _NOHASH.sub("", name).rsplit("_", 1)[-1]


def which_set_percentage(group):
    """The official `which_set` hash of a name as a percentage in [0, 100]: sha1, modulo 2**27, scaled."""
    digest = int(hashlib.sha1(str(group).encode("utf-8")).hexdigest(), 16)
    return (digest % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)


def which_set(group, validation_percentage=10.0, testing_percentage=10.0):
    """"training", "validation" or "testing" for a speaker id, as TensorFlow's `input_data.which_set`.

    For a file of the official layout, `which_set(speaker_id(path))` equals the example's
    `which_set(path)` (which hashes the file name up to `_nohash_`, i.e. the speaker).
    """
    p = which_set_percentage(group)
    if p < validation_percentage:
        return "validation"
    if p < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def _is_audio(name):
    return name.lower().endswith(".wav") and not name.startswith(".")


def detect_layout(root):
    """"official" (word folders, maybe `_background_noise_`) or "12class" (`_unknown_`/`_silence_` folders)."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise ValueError(f"Speech Commands folder not found. Received: root={root!r}")
    dirs = {d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")}
    if UNKNOWN in dirs or SILENCE in dirs:
        return "12class"
    if dirs - {BACKGROUND_NOISE}:
        return "official"
    raise ValueError(
        f"{root} holds no word folders: expected the official Speech Commands layout (one folder per word) "
        f"or the 12-class layout (word folders, {UNKNOWN}, {SILENCE})."
    )


def speech_commands_entries(root):
    """Sorted `(path, word, group)` of every clip: `word` is the spoken word, or "_silence_".

    In the 12-class layout the word of an `_unknown_` file is its name's prefix. `group` is the
    speaker id, or the file's name for clips without one. `_background_noise_` is not listed.
    """
    root = os.fspath(root)
    layout = detect_layout(root)
    entries = []
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if not os.path.isdir(path) or folder.startswith(".") or folder == BACKGROUND_NOISE:
            continue
        if layout == "official" and folder.startswith("_"):
            continue
        names = sorted(n for n in os.listdir(path) if _is_audio(n))
        if not names:
            raise ValueError(f"Speech Commands folder {path} holds no .wav files.")
        for name in names:
            if folder == UNKNOWN:
                word = name.split("_", 1)[0].lower()
            elif folder == SILENCE:
                word = SILENCE
            else:
                word = folder.lower()
            entries.append((os.path.join(path, name), word, speaker_id(name) or f"{folder}/{name}"))
    if not entries:
        raise ValueError(f"No Speech Commands clips (*.wav) found in {root}.")
    return entries


def _read_list(root, name):
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return {os.path.normpath(line.strip()) for line in f if line.strip()}


def _parse_fold(split):
    match = re.fullmatch(r"speaker_fold:(\d+)/(\d+)", split)
    if match is None or not 1 <= int(match[1]) <= int(match[2]) or int(match[2]) < 2:
        raise ValueError(
            f'`split` "speaker_fold:K/N" needs 1 <= K <= N and N >= 2 (K is the test fold). Received: split={split!r}'
        )
    return int(match[1]), int(match[2])


def speaker_folds(groups, num_folds):
    """`{group: fold}` (0-based) balancing clip counts: groups by decreasing count, each to the lightest fold.

    `groups` is a list with one entry per clip. Deterministic (ties broken by the `which_set`
    hash), and every group lands in exactly one fold.
    """
    counts = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    load = [0] * num_folds
    folds = {}
    for g in sorted(counts, key=lambda g: (-counts[g], which_set_percentage(g), g)):
        fold = min(range(num_folds), key=lambda f: (load[f], f))
        folds[g] = fold
        load[fold] += counts[g]
    return folds


def assign_sets(entries, root, split, validation_percentage, testing_percentage):
    """The set ("training", "validation", "testing") of every entry under `split` (see `speech_commands_files`)."""
    validation_percentage = float(validation_percentage)
    groups = [g for _, _, g in entries]
    if split is None:
        return ["training"] * len(entries)
    testing, validation = _read_list(root, "testing_list.txt"), _read_list(root, "validation_list.txt")
    if split == "auto":
        if testing is not None:
            split = "official"
        else:
            sets = [which_set(g, validation_percentage, testing_percentage) for g in groups]
            wanted = {"training", "testing"} | ({"validation"} if validation_percentage > 0 else set())
            if wanted <= {s for s, g in zip(sets, groups) if "/" not in g}:  # judged on the speakers
                return sets
            split = "speaker_hash"  # the folder is one official partition (e.g. the 12-class test set)
    if split == "official":
        if testing is None:
            raise ValueError(
                f'split="official" needs testing_list.txt (and validation_list.txt) in {root}; use "auto", '
                '"hash", "speaker_hash" or "speaker_fold:K/N" for a folder without them.'
            )
        sets = []
        for path, _, _ in entries:
            rel = os.path.normpath(os.path.relpath(path, root))
            if rel in testing:
                sets.append("testing")
            elif validation and rel in validation and validation_percentage > 0:
                sets.append("validation")
            else:
                sets.append("training")
        return sets
    if split == "hash":
        sets = [which_set(g, validation_percentage, testing_percentage) for g in groups]
        by_speaker = {s for s, g in zip(sets, groups) if "/" not in g}
        if len(by_speaker) == 1 and validation_percentage + testing_percentage > 0:
            raise ValueError(
                f"Every speaker of {root} hashes to {by_speaker.pop()!r} under the official which_set hash: the folder "
                "is one official partition (e.g. the 12-class test set). Use split='speaker_hash' or "
                "'speaker_fold:K/N'. Received: split='hash'"
            )
        return sets
    if split == "speaker_hash":
        return [which_set(SPEAKER_HASH_SALT + g, validation_percentage, testing_percentage) for g in groups]
    k, n = _parse_fold(split)
    folds = speaker_folds(groups, n)
    sets = []
    for g in groups:
        if folds[g] == k - 1:
            sets.append("testing")
        elif which_set_percentage("validation:" + g) < validation_percentage:
            sets.append("validation")  # a hash independent of the folds picks the validation speakers
        else:
            sets.append("training")
    return sets


def _check_percentage(name, value, upper=100.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= upper:
        raise ValueError(f"`{name}` must be a number in [0, {upper:g}]. Received: {name}={value!r}")


def _normalise_split(split):
    if split is None or (isinstance(split, str) and split.lower() == "none"):
        return None
    if split in ("auto", "official", "hash", "speaker_hash") or (
        isinstance(split, str) and split.startswith("speaker_fold:")
    ):
        if split.startswith("speaker_fold:"):
            _parse_fold(split)
        return split
    raise ValueError(
        '`split` must be "auto", "official", "hash", "speaker_hash", "speaker_fold:K/N" or None. '
        f"Received: split={split!r}"
    )


def _normalise_words(words):
    words = (words,) if isinstance(words, str) else tuple(words)
    if not words or not all(isinstance(w, str) and w for w in words):
        raise ValueError(f"`words` must be a non-empty list of words. Received: words={words!r}")
    return tuple(w.lower() for w in words)


def speech_commands_files(
    root,
    split="auto",
    task="12",
    words=COMMANDS,
    validation_percentage=10.0,
    testing_percentage=10.0,
    silence_percentage=10.0,
    unknown_percentage=10.0,
    silence_dir=None,
):
    """Speech Commands file lists, split by speaker, without TensorFlow.

    Args:
        root: str or path-like. The official download, or a 12-class folder (see the module docstring).
        split: str or None.
            - "auto" (default): "official" when the folder has `testing_list.txt`, else "hash",
              else (when "hash" leaves a split empty) "speaker_hash".
            - "official": the files listed in `testing_list.txt` / `validation_list.txt`.
            - "hash": the official `which_set` hash of the speaker id: `validation_percentage` %
              of the speakers to validation, `testing_percentage` % to test.
            - "speaker_hash": the same with the speaker id hashed after a fixed prefix. The
              12-class test set (and ../shared/data/speech_commands) is the official test
              partition: every one of its speakers hashes to "testing" under "hash".
            - "speaker_fold:K/N": speakers in N folds of balanced size (`speaker_folds`); fold K
              (1-based) is the test split; `validation_percentage` % of the other speakers (by an
              independent hash) is the validation split.
            - None or "none": every clip in the training split (no test, no validation).
        task: "12" (default), "35" (every word of the official layout) or "digits" ("zero".."nine"
            as labels "0".."9"; other words and silence left out).
        words: list of str. The wanted words of task "12". Defaults to the ten commands.
        validation_percentage: float in [0, 100]. Share of speakers held out for validation; 0: no
            validation split (with the official lists, their validation files then train). Defaults to 10.
        testing_percentage: float. Share of speakers in the test split of "hash". Defaults to 10.
        silence_percentage, unknown_percentage: float. Official layout, task "12": `_silence_` and
            `_unknown_` clips added to each split, as a percentage of that split's wanted-word
            clips (rounded up). Defaults to 10 and 10, as in the TensorFlow example. In the
            12-class layout the folders are taken as they are.
        silence_dir: str or None. Where the `_silence_` clips cut from `_background_noise_` are
            written (official layout, task "12"). Defaults to a folder under the tfaudio cache
            (`$TFAUDIO_CACHE` or ~/.cache/tfaudio).

    Returns:
        `DataSplits`: `(train, test, labels)` with `Split`s (test None when `split=None`) and the
        sorted labels, e.g. `['_silence_', '_unknown_', 'down', 'go', ...]`; `.validation` is the
        validation `Split` (None without one). Each split is sorted by path.

    Example:
        >>> train, test, labels = tfaudio.data.speech_commands_files("speech_commands", split="speaker_fold:1/3")
    """
    root = os.fspath(root)
    split = _normalise_split(split)
    task = str(task)
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}. Received: task={task!r}")
    words = _normalise_words(words)
    _check_percentage("validation_percentage", validation_percentage)
    _check_percentage("testing_percentage", testing_percentage)
    _check_percentage("silence_percentage", silence_percentage, upper=1000.0)
    _check_percentage("unknown_percentage", unknown_percentage, upper=1000.0)
    if validation_percentage + testing_percentage >= 100:
        raise ValueError(
            "`validation_percentage` + `testing_percentage` must stay below 100. "
            f"Received: {validation_percentage!r} + {testing_percentage!r}"
        )
    layout = detect_layout(root)
    if task == "35" and layout != "official":
        raise ValueError(
            f"task='35' needs the official download (one folder per word); {root} is a 12-class folder "
            "whose other words are merged into _unknown_."
        )
    entries = speech_commands_entries(root)
    sets = assign_sets(entries, root, split, validation_percentage, testing_percentage)

    # word -> label (None: left out)
    def label_of(word):
        if task == "digits":
            return str(DIGITS.index(word)) if word in DIGITS else None
        if task == "35":
            return word
        if word in words or word == SILENCE:
            return word
        return UNKNOWN

    chosen = {s: [] for s in SETS}
    pools = {s: [] for s in SETS}  # official 12-class: unknown candidates
    for (path, word, _), s in zip(entries, sets):
        label = label_of(word)
        if label is None:
            continue
        if task == "12" and layout == "official" and label == UNKNOWN:
            pools[s].append(path)
        else:
            chosen[s].append((path, label))
    if task == "12" and layout == "official":
        missing = [w for w in words if not any(word == w for _, word, _ in entries)]
        if missing:
            raise ValueError(f"No folder for the wanted words {missing} in {root}. Received: words={words!r}")
        counts = {s: len(chosen[s]) for s in SETS}
        rng = random.Random(RANDOM_SEED)
        for s in ("validation", "testing", "training"):  # the example's order of draws
            pool = sorted(pools[s])
            rng.shuffle(pool)
            chosen[s] += [(p, UNKNOWN) for p in pool[: int(math.ceil(counts[s] * unknown_percentage / 100))]]
        n_silence = {s: int(math.ceil(counts[s] * silence_percentage / 100)) if counts[s] else 0 for s in SETS}
        if any(n_silence.values()):
            clips = silence_clips(
                root, n_silence, validation_percentage, testing_percentage, silence_dir=silence_dir
            )
            for s in SETS:
                chosen[s] += [(p, SILENCE) for p in clips[s]]
    names = sorted({label for s in SETS for _, label in chosen[s]})
    if not names:
        raise ValueError(f"No clips of task {task!r} found in {root}.")
    labels, index = label_index(names)

    def as_split(pairs):
        pairs = sorted(pairs)
        return Split([p for p, _ in pairs], [index[y] for _, y in pairs])

    train = as_split(chosen["training"])
    if split is None:
        return DataSplits(train, None, labels, None)
    test = as_split(chosen["testing"])
    validation = as_split(chosen["validation"]) if chosen["validation"] else None
    if not len(train) or not len(test):
        raise ValueError(
            f"The {split!r} split of {root} leaves the {'training' if not len(train) else 'test'} split empty "
            f"({len(entries)} clips)."
        )
    return DataSplits(train, test, labels, validation)


def background_noise_files(root):
    """Sorted paths of the `_background_noise_/*.wav` recordings of an official download (may be empty)."""
    folder = os.path.join(os.fspath(root), BACKGROUND_NOISE)
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if _is_audio(n)]


def _cache_root():
    from tfaudio.data.download import cache_root

    return cache_root()


def silence_clips(root, counts, validation_percentage=10.0, testing_percentage=10.0, silence_dir=None, seconds=1.0):
    """One-second `_silence_` clips cut from `_background_noise_`, written once as WAV files.

    Each noise recording is cut in three parts along time, one per split, so no noise excerpt
    is in two splits: the first `100 - validation - testing` % of every file for training, the
    next `validation_percentage` % for validation, the rest for testing. The `counts[split]`
    clips of a split go round the files; within a file's part the starts are evenly spaced
    (overlapping when the part is short). As in the TensorFlow example's training silence, each
    clip is scaled by a volume drawn uniformly in [0, 1) (seeded, so the files are the same on
    every run). Without `_background_noise_` the clips are digital silence (the example's
    silence without background noise).

    Args:
        root: the official download.
        counts: dict split name -> number of clips.
        silence_dir: str or None. Output folder; a sub-folder named by a hash of the inputs is
            used, so changed noise files or counts never reuse stale clips. Defaults to
            `<tfaudio cache>/speech_commands_silence`.

    Returns:
        dict split name -> sorted list of clip paths.
    """
    import numpy as np
    import soundfile as sf

    noise = background_noise_files(root)
    stats = [(os.path.basename(p), os.path.getsize(p), int(os.path.getmtime(p))) for p in noise]
    key = hashlib.sha1(
        repr((os.path.abspath(os.fspath(root)), stats, sorted(counts.items()), float(validation_percentage),
              float(testing_percentage), float(seconds), RANDOM_SEED)).encode()
    ).hexdigest()[:16]
    base = silence_dir or os.path.join(_cache_root(), "speech_commands_silence")
    folder = os.path.join(os.fspath(base), key)
    names = {s: [f"{s}_{i:05d}.wav" for i in range(counts.get(s, 0))] for s in SETS}
    if not os.path.isdir(folder):
        recordings = []
        for path in noise:
            audio, rate = sf.read(path, dtype="float32", always_2d=True)
            recordings.append((audio.mean(axis=1), rate))
        rate = recordings[0][1] if recordings else 16000
        recordings = [(a, r) for a, r in recordings if r == rate and len(a)]  # one rate: the clips' rate
        n = int(round(seconds * rate))
        bounds = {"training": (0.0, 1 - (validation_percentage + testing_percentage) / 100)}
        bounds["validation"] = (bounds["training"][1], bounds["training"][1] + validation_percentage / 100)
        bounds["testing"] = (bounds["validation"][1], 1.0)
        rng = np.random.default_rng(RANDOM_SEED)
        tmp = f"{folder}.tmp{os.getpid()}"
        os.makedirs(tmp, exist_ok=True)
        for s in SETS:
            count = counts.get(s, 0)
            per_file = [len(range(f, count, len(recordings))) for f in range(len(recordings))] if recordings else []
            taken = [0] * len(recordings)
            for i, name in enumerate(names[s]):
                clip = np.zeros(n, np.float32)
                if recordings:
                    f = i % len(recordings)
                    audio = recordings[f][0]
                    lo, hi = (int(b * len(audio)) for b in bounds[s])
                    span = max(hi - lo - n, 0)
                    m = per_file[f]
                    start = min(lo + (span * taken[f] // (m - 1) if m > 1 else span // 2), max(len(audio) - n, 0))
                    taken[f] += 1
                    piece = audio[start : start + n]
                    clip[: len(piece)] = piece * rng.uniform(0.0, 1.0)
                sf.write(os.path.join(tmp, name), np.clip(clip, -1.0, 1.0), rate, subtype="PCM_16")
        try:
            os.replace(tmp, folder)  # atomic: a folder is either complete or absent
        except OSError:  # another process finished first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return {s: [os.path.join(folder, name) for name in names[s]] for s in SETS}


def speech_commands_noise_files(root, **kwargs):
    """Noise recordings for background-noise mixing in training, never from a validation/test split.

    Official layout: the `_background_noise_` recordings. 12-class layout: the `_silence_` clips
    of the training split of `speech_commands_files(root, **kwargs)` (the same split arguments
    as the dataset, so a test silence clip is never mixed into training).

    Returns:
        tuple of str paths (sorted).
    """
    if detect_layout(root) == "official":
        return tuple(background_noise_files(root))
    kwargs = {**kwargs, "task": "12"}
    train, _, labels = speech_commands_files(root, **kwargs)
    silence = labels.index(SILENCE) if SILENCE in labels else None
    return tuple(p for p, y in train if y == silence)


def speech_commands(
    root,
    split="auto",
    task="12",
    sample_rate=16000,
    clip_seconds=1.0,
    batch_size=32,
    words=COMMANDS,
    validation_percentage=10.0,
    testing_percentage=10.0,
    silence_percentage=10.0,
    unknown_percentage=10.0,
    silence_dir=None,
    **kwargs,
):
    """Speech Commands as `tf.data` pipelines, split by speaker.

    Args:
        root: str or path-like. The official download or a 12-class folder.
        split, task, words, validation_percentage, testing_percentage, silence_percentage,
            unknown_percentage, silence_dir: see `speech_commands_files`.
        sample_rate: int. Defaults to 16000 (the files' rate).
        clip_seconds: float or None. Defaults to 1.0.
        batch_size: int. Defaults to 32.
        **kwargs: passed to `tfaudio.data.build_datasets` (`seed`, `cache`, ...).

    Returns:
        `DataSplits`: `(train_ds, test_ds, labels)`, and the validation dataset (not shuffled,
        centred) as `.validation`.

    Example:
        >>> splits = tfaudio.data.speech_commands("speech_commands", split="speaker_fold:1/3", seed=0)
        >>> train_ds, test_ds, labels = splits
        >>> model.fit(train_ds, validation_data=splits.validation)
    """
    files = speech_commands_files(
        root,
        split=split,
        task=task,
        words=words,
        validation_percentage=validation_percentage,
        testing_percentage=testing_percentage,
        silence_percentage=silence_percentage,
        unknown_percentage=unknown_percentage,
        silence_dir=silence_dir,
    )
    from tfaudio.data.pipeline import build_datasets  # TensorFlow only when datasets are built

    train, test, labels = files
    return build_datasets(
        train, test, labels, sample_rate=sample_rate, clip_seconds=clip_seconds, batch_size=batch_size,
        validation=files.validation, **kwargs,
    )
