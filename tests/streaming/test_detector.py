"""RecognizeCommands smoothing, the Detector, and `tfaudio detect` (TF-free on a streaming .tflite)."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfaudio.streaming import Detector, RecognizeCommands

REPO = pathlib.Path(__file__).resolve().parents[2]
LABELS = ["_silence_", "_unknown_", "yes", "no"]


def test_recognize_commands_threshold_minimum_count_and_suppression():
    r = RecognizeCommands(LABELS, average_window_seconds=0.1, threshold=0.6, suppression_seconds=0.5, minimum_count=3)
    yes = [0.0, 0.0, 1.0, 0.0]
    assert r.update(0.02, yes) is None and r.update(0.04, yes) is None  # fewer than 3 hops
    assert r.update(0.06, yes) == ("yes", 1.0)
    assert r.update(0.08, yes) is None  # same label within the suppression time
    assert r.update(0.60, yes) is None  # window now holds a single hop
    assert r.update(0.62, yes) is None
    assert r.update(0.64, yes) == ("yes", 1.0)  # 0.58 s after the first: past suppression


def test_recognize_commands_averages_and_ignores():
    r = RecognizeCommands(LABELS, average_window_seconds=1.0, threshold=0.6, minimum_count=2)
    assert r.update(0.0, [0, 0, 0.9, 0.1]) is None
    # Average over the window: yes = (0.9 + 0.3) / 2 = 0.6, not above the threshold.
    assert r.update(0.1, [0, 0, 0.3, 0.7]) is None
    label, score = r.update(0.2, [0, 0, 0.9, 0.1])
    assert label == "yes" and score == pytest.approx(0.7)
    # Silence wins later: not reported, but a following "yes" is a new command again.
    r2 = RecognizeCommands(LABELS, average_window_seconds=0.05, threshold=0.5, suppression_seconds=10, minimum_count=1)
    assert r2.update(0.0, [0, 0, 1, 0]) == ("yes", 1.0)
    assert r2.update(0.1, [1, 0, 0, 0]) is None
    assert r2.update(0.2, [0, 0, 1, 0]) == ("yes", 1.0)


def test_recognize_commands_validates():
    with pytest.raises(ValueError, match="threshold"):
        RecognizeCommands(LABELS, threshold=2)
    with pytest.raises(ValueError, match="shape"):
        RecognizeCommands(LABELS).update(0.0, [1.0])


class ScriptedRunner:
    """A runner whose logits say "yes" during scripted hops, silence otherwise."""

    hop_samples, window_samples, sample_rate, labels = 160, 1600, 1600, LABELS

    def __init__(self, yes_hops):
        self.yes_hops = set(yes_hops)

    def reset(self):
        self.hop = 0

    def step(self, hop):
        assert hop.shape == (160,)
        self.hop += 1
        return np.array([0.0, -5, 10, -5]) if self.hop in self.yes_hops else np.array([10.0, -5, -5, -5])


def test_detector_times_warmup_and_chunking():
    # 0.1 s hops, 1 s window: hops 1-10 are warm-up (a "yes" there is not reported).
    runner = ScriptedRunner(yes_hops=[3, 4, 5, 21, 22, 23])
    detector = Detector(runner, threshold=0.5, average_window_seconds=0.3, minimum_count=2)
    audio = np.zeros(160 * 40, np.float32)
    found = detector.detect(audio)
    assert [(round(d.time_seconds, 2), d.label) for d in found] == [(2.2, "yes")]
    # The same audio fed in odd-sized chunks gives the same detections.
    detector.reset()
    chunked = [d for i in range(0, len(audio), 999) for d in detector.process(audio[i : i + 999])]
    assert chunked == found


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory):
    from tests.streaming.models import ds_cnn_like
    from tfaudio.streaming import StreamingModel, to_streaming_tflite

    path = str(tmp_path_factory.mktemp("detect") / "stream.tflite")
    labels = ["_silence_", "_unknown_"] + [f"w{i}" for i in range(10)]
    return to_streaming_tflite(StreamingModel(ds_cnn_like()), path, labels=labels)


def _scores(path, audio):
    detector = Detector(path, threshold=0.0, minimum_count=1, ignore=())
    return detector.scores(audio)


def test_detector_on_a_streaming_tflite_matches_its_runner(stream_file, recording):
    from tfaudio.streaming import StreamingRunner

    runner = StreamingRunner(stream_file)
    times, probs = _scores(stream_file, recording)
    logits = np.stack([runner.step(recording[k * 320 : (k + 1) * 320]) for k in range(len(recording) // 320)])
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probs, expected / expected.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(times, np.arange(1, len(times) + 1) * 0.02)


BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import sys

    class _NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"blocked: {name}")
            return None

    sys.meta_path.insert(0, _NoTensorFlow())
    from tfaudio.cli.main import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _detect(*args, stdin=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_TENSORFLOW, "detect", *args], input=stdin, capture_output=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return result.stdout.decode()


def test_cli_detect_runs_without_tensorflow(stream_file, recording, tmp_path):
    import soundfile as sf

    wav = tmp_path / "long.wav"
    sf.write(wav, recording, 16000)
    # Threshold 0: every new top label is a detection, so there is output to compare.
    flags = ["--model", stream_file, "--threshold", "0", "--minimum-count", "1", "--ignore"]
    text = _detect(str(wav), *flags).splitlines()
    assert text, "no detections"
    for line in text:
        seconds, label, score = line.split()
        assert 1.0 <= float(seconds) <= 4.0 and label.startswith(("w", "_")) and 0 <= float(score) <= 1
    as_json = [json.loads(line) for line in _detect(str(wav), *flags, "--json").splitlines()]
    assert [(f"{d['time_seconds']:.2f}", d["label"]) for d in as_json] == [tuple(t.split()[:2]) for t in text]
    # Raw 16-bit PCM on stdin gives the same detections as the file (up to 16-bit rounding of the file).
    pcm = (np.clip(recording, -1, 1 - 2**-15) * 32768).astype("<i2").tobytes()
    piped = _detect("-", *flags, stdin=pcm).splitlines()
    assert [t.split()[:2] for t in piped] == [t.split()[:2] for t in text]


def test_cli_detect_errors(stream_file, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = lambda *a: subprocess.run([sys.executable, "-m", "tfaudio", "detect", *a], capture_output=True, env=env,  # noqa: E731
                                    timeout=300, text=True)  # fmt: skip
    missing = run(str(tmp_path / "none.wav"), "--model", stream_file)
    assert missing.returncode != 0 and "no audio file" in missing.stderr
    frames = run("-", "--model", stream_file, "--frames-per-hop", "2")
    assert frames.returncode != 0 and "--frames-per-hop applies to Keras models" in frames.stderr


def test_cli_detect_converts_a_run_folder(recording, tmp_path, capsys):
    import soundfile as sf

    from tests.streaming.models import ds_cnn_like
    from tfaudio.cli.main import main
    from tfaudio.streaming import StreamingRunner

    run = tmp_path / "run"
    run.mkdir()
    ds_cnn_like().save(run / "model.keras")
    (run / "labels.json").write_text(json.dumps(["_silence_", "_unknown_"] + [f"w{i}" for i in range(10)]))
    wav = tmp_path / "long.wav"
    sf.write(wav, recording, 16000)
    saved = tmp_path / "saved.tflite"
    flags = ["--threshold", "0", "--minimum-count", "1", "--ignore"]
    assert main(["detect", str(wav), "--model", str(run), "--save-tflite", str(saved), *flags]) == 0
    from_run = capsys.readouterr().out.splitlines()
    assert from_run and StreamingRunner(str(saved)).hop_samples == 320
    assert main(["detect", str(wav), "--model", str(saved), *flags]) == 0
    assert capsys.readouterr().out.splitlines() == from_run
    # One phase: 20 ms rounded up to the model's time stride of 4 frames.
    one_phase = tmp_path / "one_phase.tflite"
    assert main(["detect", str(wav), "--model", str(run), "--one-phase", "--save-tflite", str(one_phase), *flags]) == 0
    assert capsys.readouterr().out.splitlines() and StreamingRunner(str(one_phase)).hop_samples == 1280
    assert main(["detect", str(wav), "--model", str(run), "--one-phase", "--frames-per-hop", "2"]) != 0
    assert "multiple of the model's time stride (4). Received: 2" in capsys.readouterr().err
    assert main(["detect", str(wav), "--model", str(saved), "--one-phase"]) != 0
    assert "--one-phase apply to Keras models" in capsys.readouterr().err


class FakeSoundDevice:
    """A stand-in for the `sounddevice` module: an input stream that plays a recording through the callback."""

    def __init__(self, audio):
        self.audio = audio
        self.opened = []

    def InputStream(self, samplerate, channels, dtype, blocksize, callback):  # noqa: N802 - sounddevice's name
        device = self

        class Stream:
            active = True

            def __enter__(self):
                device.opened.append(dict(samplerate=samplerate, channels=channels, dtype=dtype, blocksize=blocksize))
                # As PortAudio does: float32 [frames, channels] blocks of `blocksize` frames, then the stream stops.
                for start in range(0, len(device.audio) - blocksize + 1, blocksize):
                    block = device.audio[start : start + blocksize, None].astype(dtype)
                    callback(block, blocksize, None, "input overflow" if start == 0 else None)
                self.active = False
                return self

            def __exit__(self, *exc):
                return False

        return Stream()


def test_cli_detect_microphone_with_a_fake_sounddevice(stream_file, recording, tmp_path, monkeypatch, capsys):
    import soundfile as sf

    from tfaudio.cli.main import main

    wav = tmp_path / "long.wav"
    sf.write(wav, recording, 16000, subtype="FLOAT")
    flags = ["--model", stream_file, "--threshold", "0", "--minimum-count", "1", "--ignore"]
    assert main(["detect", str(wav), *flags]) == 0
    from_file = capsys.readouterr().out.splitlines()
    fake = FakeSoundDevice(recording)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert main(["detect", "mic", *flags]) == 0
    captured = capsys.readouterr()
    assert from_file and captured.out.splitlines() == from_file
    assert fake.opened == [dict(samplerate=16000, channels=1, dtype="float32", blocksize=320)]
    assert "listening" in captured.err and "microphone: input overflow" in captured.err


def test_cli_detect_microphone_without_sounddevice(stream_file, monkeypatch, capsys):
    from tfaudio.cli.main import main

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # `import sounddevice` raises ImportError
    assert main(["detect", "mic", "--model", stream_file]) != 0
    assert "needs `sounddevice`: pip install tfaudio[sounddevice]" in capsys.readouterr().err
