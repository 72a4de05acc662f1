"""The bad-input corpus: audio files made by code, each with the outcome `load_audio` must give.

`CASES` lists one `Case` per input class. `case.build(folder)` writes the file (or folder) and
returns its path; `case.error` is the text the `AudioError` must contain (besides the path), or
None when the file must load, and then `case.check(audio, rate)` states the documented
conversion. Shared by tests/test_io_corpus.py (load_audio, audio_info), tests/data (Split.validate,
the pipelines) and the CLI tests (`tfaudio predict`).
"""

import dataclasses
import os
import struct

import numpy as np
import soundfile as sf

RATE = 16000


def tone(seconds=0.5, rate=RATE, freq=440.0, amplitude=0.5, channels=1):
    t = np.arange(int(round(seconds * rate))) / rate
    x = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return x if channels == 1 else np.stack([x * (c + 1) / channels for c in range(channels)], axis=1)


def _write(name, audio=None, rate=RATE, **kwargs):
    def build(folder):
        path = os.path.join(folder, name)
        sf.write(path, tone() if audio is None else audio, rate, **kwargs)
        return path

    return build


def _cut(name, nbytes, fmt="WAV", subtype=None, seconds=0.5):
    """A good file of `fmt` cut after `nbytes` bytes (negative: that many bytes before its end)."""

    def build(folder):
        path = os.path.join(folder, name)
        sf.write(path, tone(seconds), RATE, format=fmt, subtype=subtype)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:nbytes] if nbytes > 0 else data[: len(data) + nbytes])
        return path

    return build


def _bytes(name, data):
    def build(folder):
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    return build


def _with_sample(name, value):
    def build(folder):
        audio = tone(0.1)
        audio[123] = value
        path = os.path.join(folder, name)
        sf.write(path, audio, RATE, subtype="FLOAT")
        return path

    return build


def _directory(folder):
    path = os.path.join(folder, "folder.wav")
    os.makedirs(path)
    return path


def _missing(folder):
    return os.path.join(folder, "missing.wav")


def _unreadable(folder):
    path = _write("unreadable.wav")(folder)
    os.chmod(path, 0)
    return path


def wav_header(frames, rate=8000, channels=1, bits=16, data_bytes=None):
    """A 44-byte PCM RIFF/WAVE header; `data_bytes` overrides the data chunk size."""
    block = channels * bits // 8
    size = frames * block if data_bytes is None else data_bytes
    return (
        b"RIFF" + struct.pack("<I", (36 + size) & 0xFFFFFFFF) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
        + b"data" + struct.pack("<I", size & 0xFFFFFFFF)
    )  # fmt: skip


def two_hour_wav(folder, name="two_hours.wav"):
    """A real, complete 2-hour 8 kHz 16-bit WAV (115 MB of zeros, sparse on disk)."""
    frames = 2 * 3600 * 8000
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(wav_header(frames))
        f.truncate(44 + 2 * frames)
    return path


def _streaming_wav(folder):
    """A WAV from a streaming encoder: data size 0xFFFFFFFF ("unknown"), samples present."""
    path = os.path.join(folder, "streaming.wav")
    samples = (tone(0.25, rate=8000) * 32767).astype("<i2")
    with open(path, "wb") as f:
        f.write(wav_header(len(samples), data_bytes=0xFFFFFFFF) + samples.tobytes())
    return path


def _trailing_chunk(folder):
    """A WAV with a LIST chunk after its data: complete, must load whole."""
    path = _write("trailing_chunk.wav", subtype="PCM_16")(folder)
    with open(path, "r+b") as f:
        f.seek(0, 2)
        f.write(b"LIST" + struct.pack("<I", 12) + b"INFOISFT\x00\x00\x00\x00")
        size = f.tell()
        f.seek(4)
        f.write(struct.pack("<I", size - 8))
    return path


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    build: callable
    error: str = None  # substring of the AudioError, or None when the file loads
    check: callable = None  # (audio, rate) -> None, asserting the documented conversion
    kwargs: dict = dataclasses.field(default_factory=dict)  # load_audio arguments
    header_error: str = "same"  # what audio_info says: "same" as load_audio, None (passes), or text
    outcome: str = ""  # one line for the table in the report


def _close(expected, atol):
    def check(audio, rate):
        assert rate == RATE and audio.dtype == np.float32, (rate, audio.dtype)
        np.testing.assert_allclose(audio, expected, atol=atol)

    return check


def _all_zero(audio, rate):
    assert audio.shape == (RATE // 2,) and not audio.any()


def _six_channels(audio, rate):
    np.testing.assert_allclose(audio, tone(channels=6).mean(axis=1), atol=1e-6)


def _high_rate(audio, rate):
    assert rate == 384000 and audio.shape == (384000 // 2,)


def _float_above_one(audio, rate):
    assert np.isclose(audio.max(), 1.5, atol=1e-6)  # float files are returned as stored, not clipped


def _streaming(audio, rate):
    assert rate == 8000 and audio.shape == (2000,)


def _full_length(audio, rate):
    assert rate == RATE and audio.shape == (RATE // 2,)


CASES = [
    # --- not a usable file at all
    Case("missing file", _missing, "file not found"),
    Case("directory named .wav", _directory, "not a regular file"),
    Case("unreadable permissions", _unreadable, "cannot be read (Permission denied)"),
    Case("empty file", _bytes("empty.wav", b""), "empty file (0 bytes)"),
    Case("text named .wav", _bytes("notes.wav", b"this is a text file, not audio\n" * 10), "not a recognised audio format"),
    Case("random bytes named .flac", _bytes("noise.flac", np.random.default_rng(0).bytes(4096)),
         "not a recognised audio format"),
    # --- damaged or cut WAV
    Case("WAV cut inside its header", _cut("cut20.wav", 20), "truncated or corrupt WAV"),
    Case("header only, no samples", _bytes("header_only.wav", wav_header(0)), "no samples"),
    Case("header only, declaring 1 s of samples", _bytes("header_promise.wav", wav_header(8000)),
         "truncated WAV file: the header declares 16000 bytes of samples, the file holds 0"),
    Case("WAV cut after 100 bytes", _cut("cut100.wav", 100), "truncated WAV file: the header declares 16000 bytes"),
    Case("WAV missing its last 10 bytes", _cut("cut_end.wav", -10), "truncated WAV file"),
    Case("WAV with a trailing LIST chunk", _trailing_chunk, check=_full_length),
    Case("streaming WAV, data size 0xFFFFFFFF", _streaming_wav, check=_streaming),
    # --- sample values
    Case("NaN sample", _with_sample("nan.wav", np.nan), "NaN or Inf (first at sample 123)", header_error=None),
    Case("Inf sample", _with_sample("inf.wav", np.inf), "NaN or Inf (first at sample 123)", header_error=None),
    Case("all-zero samples", _write("zeros.wav", np.zeros(RATE // 2, np.float32), subtype="PCM_16"), check=_all_zero),
    Case("float WAV above 1.0", _write("loud.wav", tone(amplitude=1.5), subtype="FLOAT"), check=_float_above_one),
    # --- duration limits (checked from the header)
    Case("shorter than min_seconds", _write("short.wav"), "too short, 0.500 s < min_seconds=1.0",
         kwargs={"min_seconds": 1.0}),
    Case("longer than max_seconds", _write("long.wav"), "too long, 0.500 s > max_seconds=0.25",
         kwargs={"max_seconds": 0.25}),
    Case("2-hour file, max_seconds=10", two_hour_wav, "too long, 7200.000 s > max_seconds=10", kwargs={"max_seconds": 10}),
    # --- sample formats and layouts
    Case("8-bit unsigned PCM", _write("u8.wav", subtype="PCM_U8"), check=_close(tone(), 1 / 128)),
    Case("24-bit PCM", _write("s24.wav", subtype="PCM_24"), check=_close(tone(), 2.0**-23)),
    Case("32-bit float", _write("f32.wav", subtype="FLOAT"), check=_close(tone(), 0)),
    Case("64-bit float", _write("f64.wav", tone().astype(np.float64), subtype="DOUBLE"), check=_close(tone(), 1e-7)),
    Case("6 channels (5.1)", _write("six.wav", tone(channels=6), subtype="FLOAT"), check=_six_channels),
    Case("1 Hz sample rate", _write("one_hz.wav", np.zeros(4, np.float32), rate=1, subtype="PCM_16"),
         "implausible sample rate 1 Hz"),
    Case("384 kHz sample rate", _write("hi_rate.wav", tone(rate=384000), rate=384000, subtype="PCM_16"),
         check=_high_rate),
    # --- compressed formats, whole and cut
    Case("FLAC", _write("ok.flac", format="FLAC", subtype="PCM_16"), check=_close(tone(), 1e-4)),
    Case("Ogg Vorbis", _write("ok.ogg", format="OGG", subtype="VORBIS"), check=_full_length),
    Case("MP3", _write("ok.mp3", format="MP3", subtype="MPEG_LAYER_III"), check=_full_length),
    Case("FLAC cut in half", _cut("cut.flac", -4000, "FLAC", "PCM_16"), "truncated or corrupt FLAC file"),
    Case("Ogg cut before its end", _cut("cut.ogg", -200, "OGG", "VORBIS", seconds=5.0),
         "no samples (zero-length audio, or a truncated OGG file)"),
    Case("MP3 cut in half", _cut("cut.mp3", -1200, "MP3", "MPEG_LAYER_III", seconds=1.0), "truncated MP3 file"),
]
