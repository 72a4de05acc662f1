"""to_saved_model: serving_default, serve_waveform (any length), serve_pcm16 and serve_wav (WAV bytes).

Each signature is checked in a fresh process after `tf.saved_model.load` and with
`saved_model_cli run` (TF1 session loading, as TensorFlow Serving does), against windows
computed outside the graph; then every class of bad request must fail with InvalidArgument
naming the input.
"""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.export import to_saved_model
from tfaudio.export.saved_model import decode_wav
from tfaudio.prediction import aggregate, frame_windows, softmax

RATE = 8000
SAMPLES = 800  # 0.1 s clips keep the model and the subprocesses cheap
LABELS = ["yes", "no", "maybe"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SAMPLES,))
    x = keras.layers.Reshape((SAMPLES, 1))(inputs)
    x = keras.layers.Conv1D(4, 9, strides=4, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)  # non-trainable variables too, as real models have
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    return to_saved_model(model, str(tmp_path_factory.mktemp("sm") / "m"), labels=LABELS, sample_rate=RATE)


def _expected(model, audio, hop=SAMPLES // 2):
    """Mean window probabilities computed outside the graph (tfaudio.prediction's windows)."""
    windows, _ = frame_windows(audio, SAMPLES, hop)
    return aggregate(softmax(model(windows).numpy()), "mean")


def _wav_bytes(audio, rate=RATE, subtype="PCM_16", channels=1):
    buf = io.BytesIO()
    data = np.stack([audio] * channels, axis=1) if channels > 1 else audio
    sf.write(buf, data, rate, subtype=subtype, format="WAV")
    return buf.getvalue()


def _with_chunks(wav, before=(), after=()):
    """A RIFF file with extra chunks inserted before the `fmt ` chunk and after `data`."""
    body = wav[12:]
    extra_before = b"".join(cid + struct.pack("<I", len(p)) + p + b"\0" * (len(p) % 2) for cid, p in before)
    extra_after = b"".join(cid + struct.pack("<I", len(p)) + p + b"\0" * (len(p) % 2) for cid, p in after)
    payload = b"WAVE" + extra_before + body + extra_after
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(3)
    return {
        "long": (rng.uniform(-0.5, 0.5, 2300)).astype("float32"),  # 5 windows at hop 400 + one ending at the end
        "short": (rng.uniform(-0.5, 0.5, 300)).astype("float32"),  # centred and zero-padded
        "exact": (rng.uniform(-0.5, 0.5, SAMPLES)).astype("float32"),
    }


def _decoded(wav):
    """The mono waveform soundfile (libsndfile) reads from WAV bytes: the reference decoder."""
    audio, _ = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    return audio.mean(axis=1)


def _wavs(clips):
    """WAV files of every kind the issue names, and the waveform each one decodes to."""
    long = clips["long"]
    list_chunk = b"INFO" + b"ISFT" + struct.pack("<I", 6) + b"tfaud\0"
    files = {
        "soundfile_pcm16": _wav_bytes(long),
        "soundfile_float": _wav_bytes(long, subtype="FLOAT"),
        "soundfile_pcm24_stereo": _wav_bytes(long, subtype="PCM_24", channels=2),
        "soundfile_pcm32": _wav_bytes(long, subtype="PCM_32"),
        "soundfile_pcm8": _wav_bytes(long, subtype="PCM_U8"),
        "tf_encode_wav": tf.audio.encode_wav(long[:, None], RATE).numpy(),
        "list_and_junk_chunks": _with_chunks(
            _wav_bytes(long), before=[(b"JUNK", b"\0" * 27)], after=[(b"LIST", list_chunk)]
        ),
        "short": _wav_bytes(clips["short"], subtype="FLOAT"),
    }
    return {name: (wav, _decoded(wav)) for name, wav in files.items()}


def test_decode_wav_handles_extra_chunks_where_tf_audio_fails(clips):
    wav, expected = _wavs(clips)["list_and_junk_chunks"]
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.audio.decode_wav(wav)  # tensorflow/tensorflow#32382
    audio, rate = decode_wav(tf.constant(wav))
    assert int(rate) == RATE
    np.testing.assert_allclose(audio.numpy(), expected, atol=1e-6)


def test_decode_wav_matches_soundfile_for_every_encoding(clips):
    for name, (wav, _) in _wavs(clips).items():
        reference, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
        audio, got_rate = decode_wav(tf.constant(wav))
        assert int(got_rate) == rate, name
        # soundfile's integer scaling is x / 2**(bits-1), as in the graph: exact up to float32 rounding.
        np.testing.assert_allclose(audio.numpy(), reference.mean(axis=1), atol=1e-6, err_msg=name)


def test_signatures_in_a_fresh_process(model, exported, clips, tmp_path):
    wavs = _wavs(clips)
    inputs = {
        "waveform": np.stack([clips["long"], clips["long"][::-1]]),
        "short": clips["short"][None],
        "pcm": np.round(np.stack([clips["long"]]) * 32767).astype(np.int16),
        "exact": clips["exact"][None],
    }
    np.savez(tmp_path / "inputs.npz", **inputs)
    names = list(wavs)
    np.save(tmp_path / "wavs.npy", np.array([wavs[n][0] for n in names], dtype=object), allow_pickle=True)
    script = textwrap.dedent(
        f"""
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({exported!r})
        sig = loaded.signatures
        x = np.load("inputs.npz")
        wavs = np.load("wavs.npy", allow_pickle=True)
        out = {{
            "default": sig["serving_default"](waveform=tf.constant(x["exact"]))["probabilities"].numpy(),
            "waveform": sig["serve_waveform"](waveform=tf.constant(x["waveform"]))["probabilities"].numpy(),
            "windows": sig["serve_waveform"](waveform=tf.constant(x["waveform"]))["window_probabilities"].numpy(),
            "short": sig["serve_waveform"](waveform=tf.constant(x["short"]))["probabilities"].numpy(),
            "pcm": sig["serve_pcm16"](pcm=tf.constant(x["pcm"]))["probabilities"].numpy(),
            "wav": sig["serve_wav"](wav=tf.constant(list(wavs)))["probabilities"].numpy(),
            "wav_labels": sig["serve_wav"](wav=tf.constant(list(wavs)))["labels"].numpy().astype(str),
        }}
        np.savez("outputs.npz", **out)
        """
    )
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    out = np.load(tmp_path / "outputs.npz")

    # float32 graph vs the same ops outside it: only summation order differs.
    atol = 1e-5
    np.testing.assert_allclose(out["default"][0], softmax(model(inputs["exact"]).numpy())[0], atol=atol)
    for row, audio in enumerate(inputs["waveform"]):
        np.testing.assert_allclose(out["waveform"][row], _expected(model, audio), atol=atol)
    assert out["windows"].shape == (2, 5, 3)  # starts 0, 400, 800, 1200, and 1500 (ends at 2300)
    np.testing.assert_allclose(out["short"][0], _expected(model, clips["short"]), atol=atol)
    np.testing.assert_allclose(out["pcm"][0], _expected(model, inputs["pcm"][0] / 32768.0), atol=atol)
    for row, name in enumerate(names):
        np.testing.assert_allclose(out["wav"][row], _expected(model, wavs[name][1]), atol=1e-4, err_msg=name)
    assert list(out["wav_labels"]) == [LABELS[i] for i in out["wav"].argmax(-1)]
    facts = json.loads(open(os.path.join(exported, "assets.extra", "tfaudio.json")).read())
    assert facts == {"labels": LABELS, "sample_rate": RATE, "clip_seconds": 0.1, "hop_seconds": 0.05, "aggregate": "mean"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "signature, name, value",
    [
        ("serving_default", "waveform", "exact"),
        ("serve_waveform", "waveform", "long"),
        ("serve_pcm16", "pcm", "pcm"),
        ("serve_wav", "wav", "wav"),
    ],
)
def test_saved_model_cli_run(model, exported, clips, tmp_path, signature, name, value):
    """`saved_model_cli run` loads the SavedModel as TF Serving does (a TF1 session over the graph)."""
    if value == "pcm":
        array, expected = np.round(clips["long"][None] * 32767).astype(np.int16), None
        expected = _expected(model, array[0] / 32768.0)
    elif value == "wav":
        wav, audio = _wavs(clips)["list_and_junk_chunks"]
        array, expected = np.array([wav], dtype=object), _expected(model, audio)
    else:
        array = clips[value][None]
        expected = _expected(model, clips[value])
    np.save(tmp_path / "x.npy", array, allow_pickle=True)
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    cmd = [cli, "run", "--dir", exported, "--tag_set", "serve", "--signature_def", signature,
           "--inputs", f"{name}={tmp_path / 'x.npy'}", "--outdir", str(tmp_path / "out")]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    got = np.load(tmp_path / "out" / "probabilities.npy")
    np.testing.assert_allclose(got[0], expected, atol=1e-4)


def _bad_requests(clips):
    wav = _wav_bytes(clips["long"])
    return [
        ("serve_waveform", "waveform", tf.zeros((1, 0)), "`waveform` is empty"),
        ("serve_waveform", "waveform", tf.zeros((0, 100)), "`waveform` has an empty batch"),
        ("serve_waveform", "waveform", tf.constant([[0.1, np.nan, 0.2]]), "`waveform` contains NaN"),
        ("serve_waveform", "waveform", tf.zeros((100,)), r"tensor waveform \[100\] is not compatible"),  # rank
        ("serve_waveform", "waveform", tf.zeros((1, 100), tf.int32), "float"),  # dtype: rejected before the graph
        ("serve_pcm16", "pcm", tf.zeros((1, 0), tf.int16), "`pcm` is empty"),
        ("serve_pcm16", "pcm", tf.zeros((2, 2, 2), tf.int16), r"tensor pcm \[2,2,2\] is not compatible"),
        ("serve_wav", "wav", tf.constant([b"not a wav at all"]), "`wav` is not a WAV file"),
        ("serve_wav", "wav", tf.constant([b""]), "`wav` is not a WAV file"),
        ("serve_wav", "wav", tf.constant([wav[:40]]), "`wav` (has no `fmt ` and `data`|holds no complete sample)"),
        ("serve_wav", "wav", tf.constant([_wav_bytes(clips["long"], rate=44100)]), r"8000 Hz.*\[44100\]"),
        ("serve_wav", "wav", tf.constant([_wav_bytes(clips["long"], subtype="DOUBLE")]), "`wav` encoding not supported"),
        ("serve_wav", "wav", tf.constant([_wav_bytes(np.array([0.1, np.nan], np.float32), subtype="FLOAT")]), "NaN"),
        ("serve_wav", "wav", tf.constant([], tf.string), "`wav` has an empty batch"),
        ("serve_wav", "wav", tf.constant(wav), r"tensor wav \[\] is not compatible"),  # a scalar
        ("serving_default", "waveform", tf.zeros((2, SAMPLES - 1)), r"`waveform` must be float32 \[batch, 800\]"),
        ("serving_default", "waveform", tf.fill((2, SAMPLES), np.nan), "NaN or Inf"),
    ]


def test_bad_requests_fail_with_invalid_argument_naming_the_input(exported, clips):
    signatures = tf.saved_model.load(exported).signatures
    for signature, name, value, match in _bad_requests(clips):
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            signatures[signature](**{name: value})
    # The server keeps serving after bad requests.
    good = signatures["serve_wav"](wav=tf.constant([_wav_bytes(clips["long"])]))
    np.testing.assert_allclose(good["probabilities"].numpy().sum(), 1.0, atol=1e-5)


def test_signature_outputs_match_keras(model, tmp_path):
    path = to_saved_model(model, str(tmp_path / "m"), version=2, labels=LABELS, sample_rate=RATE)
    assert path.endswith("2") and not os.path.exists(path + ".partial")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    x = np.random.default_rng(0).uniform(-1, 1, (5, SAMPLES)).astype("float32")
    out = serve(waveform=tf.constant(x))
    expected = model(x).numpy()
    np.testing.assert_allclose(out["logits"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-6)
    assert [s.decode() for s in out["labels"].numpy()] == list(np.array(LABELS)[expected.argmax(-1)])


def test_bad_arguments(model, tmp_path):
    with pytest.raises(ValueError, match="version"):
        to_saved_model(model, str(tmp_path / "m"), version=0, sample_rate=RATE)
    with pytest.raises(ValueError, match="labels"):
        to_saved_model(model, str(tmp_path / "m"), labels=["a"], sample_rate=RATE)
    with pytest.raises(ValueError, match="sample_rate"):
        to_saved_model(model, str(tmp_path / "m"))  # a plain Keras model has no sample rate
    with pytest.raises(ValueError, match="aggregate"):
        to_saved_model(model, str(tmp_path / "m"), sample_rate=RATE, aggregate="median")
    assert not os.path.exists(tmp_path / "m")
