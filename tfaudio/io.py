"""Audio file input: decoding with soundfile, resampling with soxr, checks that name the bad file.

Conversions `load_audio` applies, in this order:

1. Decoding to float32 in [-1, 1] (integer PCM is scaled by soundfile: int16 / 32768 and so on;
   float files are returned as stored).
2. Mono mixdown when `mono=True`: the plain average of all channels, `x.mean(axis=1)`.
   (No -3 dB pan law: a stereo file with the same signal on both channels comes out unchanged.)
3. Resampling when `sample_rate` differs from the file's rate: soxr (libsoxr, a polyphase
   band-limited resampler) at quality "HQ" by default. Measured for 44.1 kHz -> 8 kHz: tones
   up to 3.6 kHz keep their level within 0.01 dB, and tones above the new 4 kHz Nyquist
   frequency come out more than 140 dB down, i.e. they are removed rather than folded back
   (aliased) as linear interpolation would do.

Every problem with a file is raised as `tfaudio.AudioError` whose message starts with the path.
Files that decode but would give silently wrong audio are refused too: a WAV whose data chunk is
shorter than its header declares (a cut-off download or copy), a FLAC/Ogg/MP3 that decodes to
fewer frames than its header promises, and sample rates below `MIN_SAMPLE_RATE` (a damaged
header; no recording is made at 1 Hz). Durations are checked from the header, before decoding,
so `max_seconds` refuses a 2-hour file without reading it.
"""

import os

import numpy as np
import soundfile as sf
import soxr

from tfaudio.errors import AudioError

# Extensions `find_audio_files` and the folder/manifest datasets treat as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")

RESAMPLE_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")

# Lowest file sample rate accepted (Hz); lower rates come from damaged headers.
MIN_SAMPLE_RATE = 1000

# Frames decoded per read: memory follows the data actually decoded, never a damaged header's
# frame count.
_BLOCK_SAMPLES = 1 << 20

# First bytes of the containers libsndfile reads, to tell "truncated/corrupt X" from "not audio".
_MAGIC = (
    (b"RIFF", "WAV"),
    (b"RIFX", "WAV"),
    (b"RF64", "WAV (RF64)"),
    (b"fLaC", "FLAC"),
    (b"OggS", "Ogg"),
    (b"FORM", "AIFF"),
    (b".snd", "AU"),
    (b"ID3", "MP3"),
    (b"\xff\xfb", "MP3"),
    (b"\xff\xf3", "MP3"),
    (b"\xff\xf2", "MP3"),
)


def _check_rate(name, value, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer (Hz). Received: {name}={value!r}")
    return int(value)


def _check_seconds(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"`{name}` must be a non-negative number of seconds or None. Received: {name}={value!r}")
    return float(value)


def _check_quality(quality):
    if quality not in RESAMPLE_QUALITIES:
        raise ValueError(f"`quality` must be one of {RESAMPLE_QUALITIES}. Received: quality={quality!r}")
    return quality


def _unreadable_reason(path, error):
    """Explains why libsndfile refused `path`: a damaged known container, or not audio at all."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:  # pragma: no cover - the file was readable a moment ago
        return f"cannot be read ({e})"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return f"truncated or corrupt {kind} file: header cannot be parsed ({error})"
    return f"not a recognised audio format ({error})"


def _open_checks(path):
    """Raises AudioError for a missing, non-regular or empty file; returns the path as str."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"{path}: file not found")
    if not os.path.isfile(path):
        raise AudioError(f"{path}: not a regular file")
    if os.path.getsize(path) == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        open(path, "rb").close()
    except OSError as e:
        raise AudioError(f"{path}: cannot be read ({e.strerror})") from e
    return path


def _header_checks(path, info, min_seconds, max_seconds):
    """Checks what the header states: sample rate, frame count, duration."""
    if info.samplerate < MIN_SAMPLE_RATE:
        raise AudioError(
            f"{path}: implausible sample rate {info.samplerate} Hz (below {MIN_SAMPLE_RATE} Hz; damaged header?)"
        )
    if info.frames == 0:
        kind = "" if info.format == "WAV" else f", or a truncated {info.format} file"
        raise AudioError(f"{path}: no samples (zero-length audio{kind})")
    seconds = info.frames / info.samplerate
    if min_seconds is not None and seconds < min_seconds:
        raise AudioError(f"{path}: too short, {seconds:.3f} s < min_seconds={min_seconds}")
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(f"{path}: too long, {seconds:.3f} s > max_seconds={max_seconds}")


def _wav_data_shortfall(path):
    """For a RIFF/WAVE file: `(declared_bytes, present_bytes)` of its data chunk when the file
    holds less than the header declares, else None. libsndfile itself quietly shortens such
    files to what is there (a WAV cut after 100 bytes loads as 28 samples)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size = os.fstat(f.fileno()).st_size
        position = 12
        while position + 8 <= size:
            f.seek(position)
            chunk = f.read(8)
            chunk_id, chunk_size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if chunk_id == b"data":
                present = size - position - 8
                # 0xFFFFFFFF (and 0) are written by streaming encoders that never knew the length.
                if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > present:
                    return chunk_size, present
                return None
            position += 8 + chunk_size + (chunk_size & 1)
    return None


def _integrity_check(path, f):
    """Cheap check that the sample data the header promises is present, without decoding it all."""
    if f.format == "WAV":
        shortfall = _wav_data_shortfall(path)
        if shortfall is not None:
            declared, present = shortfall
            raise AudioError(
                f"{path}: truncated WAV file: the header declares {declared} bytes of samples, "
                f"the file holds {present}"
            )
    elif f.seekable():
        # FLAC, Ogg, MP3...: the last frame must decode. libsndfile seeks without decoding it all.
        try:
            f.seek(f.frames - 1)
            last = f.read(1, dtype="float32")
        except (sf.SoundFileError, RuntimeError) as e:
            raise AudioError(f"{path}: truncated or corrupt {f.format} file: its last frame cannot be read ({e})") from e
        if len(last) != 1:
            raise AudioError(f"{path}: truncated {f.format} file: the header declares {f.frames} frames, fewer are present")


def _open(path):
    try:
        return sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"{path}: {_unreadable_reason(path, e)}") from e


def _read_all(path, f):
    """Decodes the whole file in blocks: float32 [frames, channels]; AudioError if short or damaged."""
    blocks, total = [], 0
    block_frames = max(1, _BLOCK_SAMPLES // f.channels)
    try:
        while True:
            block = f.read(block_frames, dtype="float32", always_2d=True)
            if len(block):
                blocks.append(block)
                total += len(block)
            if len(block) < block_frames:
                break
    except (sf.SoundFileError, RuntimeError) as e:
        raise AudioError(
            f"{path}: truncated or corrupt {f.format} file: decoding failed after {total} of {f.frames} frames ({e})"
        ) from e
    if total < f.frames:
        raise AudioError(f"{path}: truncated {f.format} file: decoded {total} of the {f.frames} frames its header declares")
    if len(blocks) == 1:
        return blocks[0]
    return np.concatenate(blocks) if blocks else np.zeros((0, f.channels), np.float32)


def audio_info(path, min_seconds=None, max_seconds=None):
    """Cheap header-only check of an audio file, without decoding the samples.

    Catches what the header shows: a missing/empty file, bytes that are not audio, a truncated
    header, zero samples, an implausible sample rate and (when asked) a duration outside
    `[min_seconds, max_seconds]`; and a file cut short (a WAV's data chunk is compared with the
    file size, other formats decode their last frame). NaN/Inf samples and damage in the middle
    of the sample data are only found by `load_audio`.

    Args:
        path: str or path-like. The audio file.
        min_seconds: float or None. Minimum duration. Defaults to None (no minimum).
        max_seconds: float or None. Maximum duration. Defaults to None (no maximum).

    Returns:
        `soundfile._SoundFileInfo` with `samplerate`, `channels`, `frames`, `duration`, `format`.

    Raises:
        AudioError: naming the path and the reason.
    """
    min_seconds = _check_seconds("min_seconds", min_seconds)
    max_seconds = _check_seconds("max_seconds", max_seconds)
    path = _open_checks(path)
    with _open(path) as f:
        if f.format == "WAV":
            _integrity_check(path, f)  # a cut WAV's header frame count is already shortened
        _header_checks(path, f, min_seconds, max_seconds)
        if f.format != "WAV":
            _integrity_check(path, f)
    return sf.info(path)


def resample(audio, orig_rate, target_rate, quality="HQ"):
    """Band-limited resampling with soxr.

    Args:
        audio: float array `[samples]` or `[samples, channels]`.
        orig_rate: int. The rate of `audio` in Hz.
        target_rate: int. The wanted rate in Hz.
        quality: str. soxr quality, one of "QQ", "LQ", "MQ", "HQ", "VHQ". Defaults to "HQ"
            (about 140 dB stop-band rejection; "VHQ" is slower, about 160 dB).

    Returns:
        float32 array with `round(samples * target_rate / orig_rate)` samples (same channels).
    """
    orig_rate = _check_rate("orig_rate", orig_rate, allow_none=False)
    target_rate = _check_rate("target_rate", target_rate, allow_none=False)
    quality = _check_quality(quality)
    audio = np.asarray(audio, dtype=np.float32)
    if orig_rate == target_rate:
        return audio
    return np.asarray(soxr.resample(audio, orig_rate, target_rate, quality=quality), dtype=np.float32)


def load_audio(path, sample_rate=None, mono=True, *, min_seconds=None, max_seconds=None, quality="HQ"):
    """Decodes an audio file to float32, optionally mixed to mono and resampled.

    Reads WAV, FLAC, OGG/Vorbis/Opus and MP3 (whatever the installed libsndfile supports; see
    `soundfile.available_formats()`). See the module docstring for the exact conversions.

    Args:
        path: str or path-like. The audio file.
        sample_rate: int or None. Resample to this rate (soxr, band-limited). Defaults to None
            (keep the file's rate).
        mono: bool. Average all channels into one. Defaults to True.
        min_seconds: float or None. Strict check: raise if the file is shorter. Defaults to None.
        max_seconds: float or None. Strict check: raise if the file is longer. Defaults to None.
        quality: str. soxr resampling quality ("HQ" or "VHQ" recommended). Defaults to "HQ".

    Returns:
        `(audio, rate)`: float32 array `[samples]` when `mono`, else `[samples, channels]`
        (also for one-channel files), and the int rate of the returned audio. Durations are
        checked on the file as stored, before resampling.

    Raises:
        AudioError: the message names the path and the reason: file not found, empty file,
            truncated/corrupt header, not a recognised audio format, no samples, fewer
            samples than the header declares, an implausible sample rate, NaN/Inf samples,
            too short / too long.
        ValueError: bad arguments.

    Example:
        >>> audio, rate = load_audio("0_jackson_0.wav", sample_rate=16000)
        >>> audio.dtype, audio.ndim, rate
        (dtype('float32'), 1, 16000)
    """
    sample_rate = _check_rate("sample_rate", sample_rate)
    min_seconds = _check_seconds("min_seconds", min_seconds)
    max_seconds = _check_seconds("max_seconds", max_seconds)
    quality = _check_quality(quality)
    path = _open_checks(path)
    with _open(path) as f:
        if f.format == "WAV":
            _integrity_check(path, f)
        _header_checks(path, f, min_seconds, max_seconds)  # before decoding anything
        audio, rate = _read_all(path, f), f.samplerate
    finite = np.isfinite(audio)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=1))
        raise AudioError(f"{path}: {bad.size} samples are NaN or Inf (first at sample {bad[0]})")
    if mono:
        audio = audio.mean(axis=1, dtype=np.float32) if audio.shape[1] > 1 else audio[:, 0]
    if sample_rate is not None and sample_rate != rate:
        audio = resample(audio, rate, sample_rate, quality=quality)
        rate = sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), int(rate)


def find_audio_files(folder, extensions=AUDIO_EXTENSIONS):
    """Sorted paths of the audio files under `folder` (recursive; hidden files and folders skipped)."""
    folder = os.fspath(folder)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.lower().endswith(tuple(extensions)):
                found.append(os.path.join(root, name))
    return sorted(found)
