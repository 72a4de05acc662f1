"""tfaudio.io: decoding, mixdown, soxr resampling quality, and AudioError for every kind of bad file."""

import numpy as np
import pytest
import soundfile as sf

import tfaudio
from tfaudio.io import audio_info, find_audio_files, load_audio, resample


def _tone(freq, rate, seconds=1.0, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _level_db(x):
    """Level of a sine in dB relative to amplitude 1 (RMS * sqrt(2))."""
    return 20 * np.log10(np.sqrt(2) * np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-20)


def _good_wav(path, rate=8000, seconds=0.5):
    sf.write(path, _tone(440, rate, seconds), rate, subtype="PCM_16")
    return path


# --- bad files: AudioError naming the path and the reason -----------------------------------------


def _assert_audio_error(path, reason, **kwargs):
    with pytest.raises(tfaudio.AudioError) as info:
        load_audio(path, **kwargs)
    assert str(path) in str(info.value) and reason in str(info.value), str(info.value)
    return info.value


def test_missing_file(tmp_path):
    _assert_audio_error(tmp_path / "nope.wav", "file not found")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _assert_audio_error(path, "empty file (0 bytes)")


def test_zero_length_wav(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), 8000, subtype="PCM_16")
    assert path.stat().st_size > 0  # a valid header, no samples
    _assert_audio_error(path, "no samples")


def test_truncated_header(tmp_path):
    path = tmp_path / "truncated.wav"
    good = _good_wav(tmp_path / "good.wav").read_bytes()
    path.write_bytes(good[:20])  # cut inside the 44-byte RIFF/WAVE header
    _assert_audio_error(path, "truncated or corrupt WAV")


def test_non_audio_bytes(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(b"this is a text file, not audio\n" * 10)
    _assert_audio_error(path, "not a recognised audio format")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_samples(tmp_path, bad):
    path = tmp_path / "nan.wav"
    audio = _tone(440, 8000, 0.1)
    audio[123] = bad
    sf.write(path, audio, 8000, subtype="FLOAT")
    error = _assert_audio_error(path, "NaN or Inf")
    assert "first at sample 123" in str(error)


def test_strict_duration_checks(tmp_path):
    path = _good_wav(tmp_path / "half_second.wav", seconds=0.5)
    _assert_audio_error(path, "too short", min_seconds=1.0)
    _assert_audio_error(path, "too long", max_seconds=0.25)
    audio, rate = load_audio(path, min_seconds=0.5, max_seconds=0.5)  # bounds are inclusive
    assert audio.shape == (4000,) and rate == 8000


def test_audio_info_header_check(tmp_path):
    good = _good_wav(tmp_path / "good.wav")
    info = audio_info(good)
    assert (info.samplerate, info.frames, info.channels) == (8000, 4000, 1)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(tfaudio.AudioError, match="empty file"):
        audio_info(empty)
    with pytest.raises(tfaudio.AudioError, match="too short"):
        audio_info(good, min_seconds=2.0)


def test_bad_arguments(tmp_path):
    path = _good_wav(tmp_path / "good.wav")
    with pytest.raises(ValueError, match="Received: sample_rate=0"):
        load_audio(path, sample_rate=0)
    with pytest.raises(ValueError, match="Received: quality='best'"):
        load_audio(path, sample_rate=16000, quality="best")
    with pytest.raises(ValueError, match="Received: min_seconds=-1"):
        load_audio(path, min_seconds=-1)


# --- formats and conversions --------------------------------------------------------------------


def test_pcm16_wav_is_scaled_to_unit_range(tmp_path):
    path = tmp_path / "pcm.wav"
    ints = np.array([0, 16384, -32768, 32767], np.int16)
    sf.write(path, ints, 8000, subtype="PCM_16")
    audio, rate = load_audio(path)
    assert audio.dtype == np.float32 and rate == 8000
    np.testing.assert_array_equal(audio, ints / 32768.0)  # soundfile's int16 -> float convention, exact


@pytest.mark.parametrize("fmt, subtype, atol", [("FLAC", "PCM_16", 1 / 32768), ("OGG", "VORBIS", 0.05)])
def test_compressed_formats(tmp_path, fmt, subtype, atol):
    path = tmp_path / f"tone.{fmt.lower()}"
    tone = _tone(440, 16000, 0.5)
    sf.write(path, tone, 16000, format=fmt, subtype=subtype)
    audio, rate = load_audio(path)
    assert rate == 16000 and abs(audio.shape[0] - tone.shape[0]) <= 64
    n = min(audio.shape[0], tone.shape[0])
    # FLAC is lossless up to int16 quantisation; Vorbis is lossy, so only a loose match.
    np.testing.assert_allclose(audio[:n], tone[:n], atol=atol)


def test_stereo_is_mixed_down_by_averaging(tmp_path):
    path = tmp_path / "stereo.wav"
    left, right = _tone(440, 8000, 0.25), _tone(1000, 8000, 0.25, amplitude=0.25)
    sf.write(path, np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    mono, rate = load_audio(path)
    assert mono.shape == (2000,) and rate == 8000
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-7)  # documented: plain channel mean
    both, _ = load_audio(path, mono=False)
    assert both.shape == (2000, 2)
    np.testing.assert_array_equal(both[:, 0], left)


def test_mono_false_keeps_a_channel_axis(tmp_path):
    audio, _ = load_audio(_good_wav(tmp_path / "mono.wav"), mono=False)
    assert audio.shape == (4000, 1)


def test_resample_44k1_to_8k_keeps_tone_and_removes_alias(tmp_path):
    path = tmp_path / "tone44k.wav"
    in_band, above_nyquist = _tone(1000, 44100, 1.0, amplitude=0.5), _tone(6000, 44100, 1.0, amplitude=0.5)
    sf.write(path, in_band, 44100, subtype="FLOAT")
    audio, rate = load_audio(path, sample_rate=8000)
    assert rate == 8000 and audio.shape == (8000,)
    core = audio[400:-400]  # skip the filter's edge transients
    spectrum = np.abs(np.fft.rfft(core * np.hanning(core.size)))
    peak_hz = np.argmax(spectrum) * 8000 / core.size
    assert abs(peak_hz - 1000) <= 8000 / core.size  # within one FFT bin
    # Amplitude within 0.01 dB: soxr HQ's pass band is flat to ~0.002 dB at 1 kHz (measured).
    assert abs(_level_db(core) - _level_db(in_band)) < 0.01
    # 6 kHz is above the new 4 kHz Nyquist: a band-limited resampler removes it instead of folding
    # it to 2 kHz; require > 60 dB attenuation (linear interpolation leaves it at about -2 dB).
    aliased = resample(above_nyquist, 44100, 8000)[400:-400]
    assert _level_db(aliased) - _level_db(above_nyquist) < -60
    linear = np.interp(np.arange(8000) * 44100 / 8000, np.arange(44100), above_nyquist)[400:-400]
    assert _level_db(linear) - _level_db(above_nyquist) > -20  # what the test guards against


def test_resample_lengths_and_identity():
    x = _tone(300, 8000, 0.5)
    assert resample(x, 8000, 16000).shape == (8000,)
    assert resample(x, 8000, 8000) is not None and np.array_equal(resample(x, 8000, 8000), x)
    assert resample(np.stack([x, x], 1), 8000, 16000).shape == (8000, 2)


def test_real_fsdd_clip(fsdd):
    path = fsdd / "recordings" / "3_jackson_0.wav"
    audio, rate = load_audio(path)
    reference, _ = sf.read(path, dtype="float32")
    np.testing.assert_array_equal(audio, reference)  # no conversion when nothing is asked
    up, up_rate = load_audio(path, sample_rate=16000)
    assert up_rate == 16000 and up.shape == (2 * audio.shape[0],)


def test_find_audio_files(tmp_path):
    for rel in ["b/2.wav", "a/1.flac", "a/.hidden.wav", ".git/x.wav", "a/readme.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = [p.replace(str(tmp_path), "") for p in find_audio_files(tmp_path)]
    assert found == ["/a/1.flac", "/b/2.wav"]


def test_mp3(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    path = tmp_path / "tone.mp3"
    sf.write(path, _tone(440, 16000, 1.0), 16000, format="MP3", subtype="MPEG_LAYER_III")
    audio, rate = load_audio(path, sample_rate=8000)
    assert rate == 8000 and abs(audio.shape[0] - 8000) <= 1200  # MP3 adds encoder delay/padding
    # Lossy codec with a start-up delay: compare the steady-state level, not samples (within 0.5 dB).
    assert abs(_level_db(audio[2000:-2000]) - _level_db(_tone(440, 8000, 1.0))) < 0.5
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(0).bytes(4000))
    _assert_audio_error(junk, "not a recognised audio format")
