"""Seeded byte-level mutations of audio files, run through a decoder in one child process.

`python -m tests.fuzz_audio SEED_DIR OUT_JSONL COUNT SEED [--target load_audio|serve_wav]`
mutates the files in SEED_DIR COUNT times (round robin) and appends one JSON line per case to
OUT_JSONL: `{"case", "seed_file", "mutation", "outcome", "seconds"}` with outcome "array",
"AudioError" (load_audio), "InvalidArgumentError" (the SavedModel `serve_wav` signature's clean
refusal) or "other: Type: message". A "start" line is written (and flushed) before each case,
so if the process dies (a crash in C, or the per-case watchdog ending a hang) the parent knows
which case did it. Case `i` is reproducible alone: its mutation depends only on (SEED, i).
"""

import faulthandler
import json
import os
import sys
import tempfile
import time

import numpy as np

# Per-case limit: a decode that takes longer is a hang; the watchdog dumps the stack and exits.
CASE_SECONDS = 10.0


def mutate(data, rng):
    """One random byte-level mutation of `data`; returns (new bytes, description)."""
    data = bytearray(data)
    n = len(data)
    kind = rng.integers(8)
    if kind == 0:  # flip 1-16 random bits
        for _ in range(int(rng.integers(1, 17))):
            i = int(rng.integers(n))
            data[i] ^= 1 << int(rng.integers(8))
        return bytes(data), "bit flips"
    if kind == 1:  # overwrite a run of bytes with random ones
        i, length = int(rng.integers(n)), int(rng.integers(1, 64))
        data[i : i + length] = rng.bytes(min(length, n - i))
        return bytes(data), f"random bytes at {i}"
    if kind == 2:  # truncate
        i = int(rng.integers(n))
        return bytes(data[:i]), f"truncated at {i}"
    if kind == 3:  # delete a range
        i, length = int(rng.integers(n)), int(rng.integers(1, 512))
        del data[i : i + length]
        return bytes(data), f"deleted {length} at {i}"
    if kind == 4:  # insert random bytes
        i, length = int(rng.integers(n)), int(rng.integers(1, 512))
        data[i:i] = rng.bytes(length)
        return bytes(data), f"inserted {length} at {i}"
    if kind == 5:  # an extreme 32-bit value in the header region (sizes, rates, counts)
        i = int(rng.integers(min(n, 96) - 3))
        value = [0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, int(rng.integers(2**32))][int(rng.integers(6))]
        data[i : i + 4] = value.to_bytes(4, "little" if rng.integers(2) else "big")
        return bytes(data), f"u32 {value:#x} at {i}"
    if kind == 6:  # an extreme 16-bit value in the header region (channels, bits, block align)
        i = int(rng.integers(min(n, 96) - 1))
        value = [0, 1, 0xFFFF, 0x8000, int(rng.integers(2**16))][int(rng.integers(5))]
        data[i : i + 2] = value.to_bytes(2, "little" if rng.integers(2) else "big")
        return bytes(data), f"u16 {value:#x} at {i}"
    # duplicate a chunk of the file somewhere else
    i, length = int(rng.integers(n)), int(rng.integers(1, 2048))
    j = int(rng.integers(n))
    data[j:j] = data[i : i + length]
    return bytes(data), f"copied {length} from {i} to {j}"


def _decoder(target):
    import tfaudio
    from tfaudio.io import audio_info, load_audio

    if target == "load_audio":

        def decode(path):
            try:
                audio_info(path)  # the header check (Split.validate) must not crash either
            except tfaudio.AudioError:
                pass
            audio, rate = load_audio(path, sample_rate=16000)
            assert audio.dtype == np.float32 and audio.ndim == 1 and np.isfinite(audio).all() and rate == 16000
            return "array"

        return decode
    if target == "serve_wav":
        return _serve_wav_decoder()
    raise ValueError(f"unknown target {target!r}")


class RequestRejected(Exception):
    """The SavedModel signature refused the request with a clean InvalidArgumentError."""


def _serve_wav_decoder():
    """The `serve_wav` signature of a small 8 kHz SavedModel (tfaudio.export.to_saved_model)."""
    import tensorflow as tf

    from tfaudio.backend import keras
    from tfaudio.export import to_saved_model

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8000,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    path = to_saved_model(model, tempfile.mkdtemp(prefix="fuzz-serving-"), labels=["a", "b", "c"], sample_rate=8000)
    serve = tf.saved_model.load(path).signatures["serve_wav"]

    def decode(path):
        with open(path, "rb") as f:
            data = f.read()
        try:
            out = serve(wav=tf.constant([data]))
        except tf.errors.InvalidArgumentError as e:
            raise RequestRejected(str(e)) from None
        probabilities = out["probabilities"].numpy()
        assert probabilities.shape == (1, 3) and np.isfinite(probabilities).all()
        return "array"

    return decode


def run(seed_dir, out_path, count, seed, target="load_audio"):
    import tfaudio

    seeds = sorted(os.path.join(seed_dir, name) for name in os.listdir(seed_dir))
    originals = []
    for path in seeds:
        with open(path, "rb") as f:
            originals.append(f.read())
    decode = _decoder(target)
    work = tempfile.mkdtemp(prefix="tfaudio-fuzz-")
    with open(out_path, "a", encoding="utf-8") as out:
        for case in range(count):
            source = case % len(seeds)
            data, mutation = mutate(originals[source], np.random.default_rng([seed, case]))
            path = os.path.join(work, f"case{case}{os.path.splitext(seeds[source])[1]}")
            with open(path, "wb") as f:
                f.write(data)
            out.write(json.dumps({"start": case, "seed_file": os.path.basename(seeds[source]), "mutation": mutation}) + "\n")
            out.flush()
            faulthandler.dump_traceback_later(CASE_SECONDS, exit=True)
            started = time.perf_counter()
            try:
                outcome = decode(path)
            except tfaudio.AudioError:
                outcome = "AudioError"
            except RequestRejected:
                outcome = "InvalidArgumentError"
            except Exception as e:  # anything else is a finding
                outcome = f"other: {type(e).__name__}: {e}"
            faulthandler.cancel_dump_traceback_later()
            row = {"case": case, "seed_file": os.path.basename(seeds[source]), "mutation": mutation,
                   "outcome": outcome, "seconds": round(time.perf_counter() - started, 4)}  # fmt: skip
            out.write(json.dumps(row) + "\n")
            out.flush()
            os.remove(path)
    os.rmdir(work)


if __name__ == "__main__":
    args = sys.argv[1:]
    target = "load_audio"
    if "--target" in args:
        target = args[args.index("--target") + 1]
        args = args[: args.index("--target")]
    run(args[0], args[1], int(args[2]), int(args[3]), target)
