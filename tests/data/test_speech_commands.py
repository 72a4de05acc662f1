"""tfaudio.data.speech_commands on both layouts: class counts, speaker-disjoint splits, folds, order, noise."""

import collections
import hashlib
import importlib
import math
import os
import pathlib
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

import tfaudio.data as data
sc = importlib.import_module("tfaudio.data.speech_commands")  # the package attribute is the function

REPO = pathlib.Path(__file__).resolve().parents[2]
# Clips per class folder of the shared 12-class test-set subset (its README).
SHARED_COUNTS = {
    "_silence_": 279, "_unknown_": 268, "down": 251, "go": 240, "left": 254, "no": 244, "off": 246,
    "on": 255, "right": 251, "stop": 251, "up": 262, "yes": 272,
}


@pytest.fixture(scope="module")
def shared():
    env = os.environ.get("TFAUDIO_SPEECH_COMMANDS")
    root = pathlib.Path(env) if env else REPO.parent / "shared" / "data" / "speech_commands"
    if not (root / "_unknown_").is_dir():
        pytest.skip(f"Speech Commands 12-class folder not found at {root} (set TFAUDIO_SPEECH_COMMANDS)")
    return root


def _speakers(split):
    return {sc.speaker_id(p) for p in split.paths} - {None}


def _official_tree(shared, dest, per_word=4):
    """An official-layout tree: 35 word folders from the shared clips, two synthetic long noise files."""
    words = collections.defaultdict(list)
    for word in sc.COMMANDS:
        for name in sorted(os.listdir(shared / word))[:per_word]:
            words[word].append((shared / word / name, name))
    for name in sorted(os.listdir(shared / "_unknown_")):
        word = name.split("_", 1)[0]
        if len(words[word]) < 3:
            words[word].append((shared / "_unknown_" / name, name.split("_", 1)[1].replace(".wav.wav", ".wav")))
    assert sorted(words) == list(sc.WORDS_V2)
    for word, files in words.items():
        os.makedirs(dest / word)
        for src, name in files:
            shutil.copy(src, dest / word / name)
    os.makedirs(dest / "_background_noise_")
    rng = np.random.default_rng(0)
    sf.write(dest / "_background_noise_" / "white_noise.wav", 0.3 * rng.standard_normal(16000 * 20), 16000, subtype="PCM_16")
    hum = 0.2 * np.sin(2 * np.pi * 50 * np.arange(16000 * 12) / 16000)
    sf.write(dest / "_background_noise_" / "hum.wav", hum, 16000, subtype="PCM_16")
    (dest / "_background_noise_" / "README.md").write_text("not audio")
    return dest


@pytest.fixture(scope="module")
def official(shared, tmp_path_factory):
    return _official_tree(shared, tmp_path_factory.mktemp("sc_official") / "speech_commands_v0.02")


@pytest.fixture(scope="module")
def official_lists(official, tmp_path_factory):
    """The same tree with validation_list.txt / testing_list.txt (speakers assigned by their sorted order)."""
    root = tmp_path_factory.mktemp("sc_lists") / "sc"
    shutil.copytree(official, root)
    files = sorted(str(p.relative_to(root)) for p in root.glob("*/*.wav") if p.parent.name != "_background_noise_")
    speakers = sorted({sc.speaker_id(f) for f in files})
    test = set(speakers[::5])
    validation = set(speakers[1::5])
    (root / "testing_list.txt").write_text("".join(f + "\n" for f in files if sc.speaker_id(f) in test))
    (root / "validation_list.txt").write_text("".join(f + "\n" for f in files if sc.speaker_id(f) in validation))
    return root, test, validation


def test_speaker_id_and_which_set_follow_the_official_rule(shared):
    assert sc.speaker_id("yes/0c540988_nohash_0.wav") == "0c540988"
    assert sc.speaker_id("backward_0c540988_nohash_2.wav.wav") == "0c540988"
    assert sc.speaker_id("_silence_/1024.wav") is None

    def tf_which_set(filename):  # input_data.which_set of the TensorFlow speech_commands example
        hash_name = re.sub(r"_nohash_.*$", "", os.path.basename(filename))
        p = (int(hashlib.sha1(hash_name.encode()).hexdigest(), 16) % (2**27)) * (100.0 / (2**27 - 1))
        return "validation" if p < 10 else "testing" if p < 20 else "training"

    entries = sc.speech_commands_entries(shared)
    for path, _, speaker in entries[::40]:
        if sc.speaker_id(path) and "_unknown_" not in path:
            assert sc.which_set(speaker) == tf_which_set(path)
    # The shared folder is a subset of the official test partition: every speaker hashes to "testing".
    speakers = {g for _, _, g in entries if "/" not in g}
    assert len(speakers) == 156
    assert {sc.which_set(s) for s in speakers} == {"testing"}


def test_12class_layout_class_counts(shared):
    splits = data.speech_commands_files(shared, split=None)
    train, test, labels = splits
    assert test is None and splits.validation is None
    assert labels == sorted(SHARED_COUNTS)
    assert len(train) == 3073
    assert {labels[k]: n for k, n in collections.Counter(train.labels).items()} == SHARED_COUNTS
    assert list(train.paths) == sorted(train.paths)


def test_12class_auto_split_is_speaker_disjoint_and_deterministic(shared):
    splits = data.speech_commands_files(shared)
    train, test, labels = splits
    validation = splits.validation
    assert labels == sorted(SHARED_COUNTS)
    # "hash" would put all of this folder in testing, so "auto" uses the salted speaker hash.
    assert len(train) > 2000 and 150 < len(validation) < 600 and 150 < len(test) < 600
    assert len(train) + len(validation) + len(test) == 3073
    a, b, c = _speakers(train), _speakers(validation), _speakers(test)
    assert not (a & b or a & c or b & c) and len(a | b | c) == 156
    assert not set(train.paths) & set(test.paths) and not set(validation.paths) & set(test.paths)
    assert set(test.labels) == set(range(12))  # every class in test
    again = data.files_from_spec(f"speech_commands:{shared}")
    assert again == splits and again.validation == validation
    assert data.speech_commands_files(shared, split="speaker_hash") == splits
    with pytest.raises(ValueError, match="hashes to .testing. under the official which_set hash"):
        data.speech_commands_files(shared, split="hash")


def test_speaker_folds_cover_every_clip_once(shared):
    tests, sizes = [], []
    for k in (1, 2, 3):
        splits = data.files_from_spec(f"speech_commands:{shared}?split=speaker_fold:{k}/3&validation_percentage=0")
        train, test, _ = splits
        assert splits.validation is None
        assert len(train) + len(test) == 3073 and not _speakers(train) & _speakers(test)
        tests.append(set(test.paths))
        sizes.append(len(test))
    assert set.union(*tests) == {p for p in data.speech_commands_files(shared, split=None)[0].paths}
    assert sum(sizes) == 3073 and max(sizes) - min(sizes) <= 2  # balanced by clip count
    with_val = data.speech_commands_files(shared, split="speaker_fold:2/3")
    assert set(with_val.test.paths) == tests[1]
    t, v = _speakers(with_val.train), _speakers(with_val.validation)
    assert v and not t & v and not v & _speakers(with_val.test)
    assert 0.05 < len(with_val.validation) / (3073 - sizes[1]) < 0.2


def test_digits_task_is_other_peoples_digits(shared):
    train, test, labels = data.files_from_spec(f"speech_commands:{shared}?task=digits&split=none")
    assert test is None and labels == [str(d) for d in range(10)] and len(train) == 157
    for path, label in train:
        assert os.path.basename(path).startswith(sc.DIGITS[int(labels[label])] + "_")


def test_official_layout_12_classes_at_the_example_proportions(official_lists, tmp_path):
    root, test_speakers, validation_speakers = official_lists
    splits = data.speech_commands_files(root, silence_dir=tmp_path)
    train, test, labels = splits
    assert labels == sorted(SHARED_COUNTS)
    for split, speakers in ((test, test_speakers), (splits.validation, validation_speakers)):
        assert _speakers(split) <= speakers
    assert not _speakers(train) & (test_speakers | validation_speakers)
    for split in (train, splits.validation, test):
        counts = collections.Counter(labels[y] for y in split.labels)
        wanted = sum(counts[w] for w in sc.COMMANDS)
        assert counts["_silence_"] == counts["_unknown_"] == math.ceil(wanted / 10)
    silence = [p for p, y in train if labels[y] == "_silence_"]
    audio, rate = sf.read(silence[0])
    assert rate == 16000 and audio.shape == (16000,)
    all_silence = [p for s in (train, splits.validation, test) for p, y in s if labels[y] == "_silence_"]
    assert len(set(all_silence)) == len(all_silence) and all(p.startswith(str(tmp_path)) for p in all_silence)
    # Deterministic: the same lists and the same clip files (written once) on a second call.
    mtime = os.path.getmtime(silence[0])
    again = data.speech_commands_files(root, silence_dir=tmp_path)
    assert again == splits and again.validation == splits.validation and os.path.getmtime(silence[0]) == mtime
    # No split: official lists ignored, all of it.
    everything = data.speech_commands_files(root, split=None, silence_dir=tmp_path, silence_percentage=0)
    assert everything.test is None and "_silence_" not in everything.labels and len(everything.labels) == 11


def test_official_layout_35_words_and_no_lists(official, tmp_path):
    train, test, labels = data.speech_commands_files(official, task="35", split="speaker_fold:1/4")
    assert labels == list(sc.WORDS_V2) and not _speakers(train) & _speakers(test)
    assert len(train) + len(test) + len(data.speech_commands_files(official, task="35", split="speaker_fold:1/4")
                                          .validation or ()) == sum(1 for _ in official.glob("[a-z]*/*.wav"))
    with pytest.raises(ValueError, match="testing_list.txt"):
        data.speech_commands_files(official, split="official")
    auto = data.speech_commands_files(official, silence_dir=tmp_path)
    assert not _speakers(auto.train) & _speakers(auto.test)


def test_noise_files_never_come_from_held_out_splits(shared, official):
    assert [os.path.basename(p) for p in data.speech_commands_noise_files(official)] == ["hum.wav", "white_noise.wav"]
    noise = data.speech_commands_noise_files(shared)
    train, test, labels = data.speech_commands_files(shared)
    assert noise and all("/_silence_/" in p for p in noise)
    assert set(noise) == {p for p, y in train if labels[y] == "_silence_"} and not set(noise) & set(test.paths)


def test_bad_arguments_are_named(shared, tmp_path):
    with pytest.raises(ValueError, match="Received: split='random'"):
        data.speech_commands_files(shared, split="random")
    with pytest.raises(ValueError, match="1 <= K <= N"):
        data.speech_commands_files(shared, split="speaker_fold:4/3")
    with pytest.raises(ValueError, match="Received: task='20'"):
        data.speech_commands_files(shared, task=20)
    with pytest.raises(ValueError, match="task='35' needs the official download"):
        data.speech_commands_files(shared, task="35")
    with pytest.raises(ValueError, match="Received: validation_percentage=-1"):
        data.speech_commands_files(shared, validation_percentage=-1)
    with pytest.raises(ValueError, match="not found"):
        data.speech_commands_files(tmp_path / "missing")
    with pytest.raises(ValueError, match="A data spec is"):
        data.parse_spec("speech_command:x")


def test_speech_commands_datasets(official_lists, tmp_path):
    root, _, _ = official_lists
    splits = data.speech_commands(root, batch_size=16, silence_dir=tmp_path, seed=0)
    train_ds, test_ds, labels = splits
    files = data.speech_commands_files(root, silence_dir=tmp_path)
    x, y = next(iter(test_ds))
    assert x.shape[1:] == (16000,) and labels == files.labels
    assert [int(v) for v in y] == list(files.test.labels[:16])  # test keeps file order
    assert sum(int(b.shape[0]) for b, _ in splits.validation) == len(files.validation)
    assert sum(int(b.shape[0]) for b, _ in train_ds) == len(files.train)
