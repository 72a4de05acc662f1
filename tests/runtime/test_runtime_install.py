"""The device install (`pip install ./tfaudio-runtime`) in a fresh virtual environment, without TensorFlow.

A full install exports a float and a full-int8 SincNet; the fresh environment has only
tfaudio-runtime and its requirements, and `import tensorflow` fails there. Its `tfaudio bench`,
`tfaudio evaluate`, `tfaudio predict` and `TFLiteModel` run both files on real Speech Commands clips,
`tfaudio detect` runs float and int8 streaming files over a recording of several words, and the outputs are the
same bits as the full install's for the same interpreter settings (same file, threads, LiteRT and
NumPy: the runtime is pinned to this environment's versions of its requirements).

Packages come from a wheelhouse, `$TFAUDIO_WHEELHOUSE` or `~/.cache/tfaudio/wheels`, with
`pip install --no-index`, so a run installs offline. When the wheelhouse lacks one of the pinned
versions, the test fills it first with `pip download` from the configured package index (once per
machine, about 45 MB).
"""

import importlib.metadata
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from tfaudio.export import to_tflite
from tfaudio.io import load_audio
from tfaudio.models import build
from tfaudio.runtime import TFLiteModel

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEECH_COMMANDS = REPO.parent / "shared" / "data" / "speech_commands"
WHEELHOUSE = pathlib.Path(os.environ.get("TFAUDIO_WHEELHOUSE", pathlib.Path.home() / ".cache" / "tfaudio" / "wheels"))
# Pinned to this (full) environment's versions, so both sides run the same kernels and decoders.
PINNED = ("ai-edge-litert", "numpy", "soundfile", "soxr")
SAMPLE_RATE = 16000
CLIP_SECONDS = 1.0
LABELS = ["yes", "no", "up", "down"]
TINY = dict(sinc_filters=8, sinc_kernel_size=51, conv_filters=(8, 8), conv_kernel_sizes=(5, 5), pool_sizes=(3, 3, 3),
            dense_units=(32, 32))  # fmt: skip

pytestmark = pytest.mark.slow


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def _clean_env():
    """The environment of a process that must see only the fresh venv (no checkout on PYTHONPATH)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory):
    """A fresh venv with tfaudio-runtime installed from a copy of this checkout; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("runtime_install")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    shutil.copytree(REPO / "tfaudio", src / "tfaudio", ignore=ignore)
    shutil.copytree(REPO / "tfaudio-runtime", src / "tfaudio-runtime", ignore=ignore)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
          str(src / "tfaudio-runtime")])  # fmt: skip

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in PINNED]
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
               "--find-links", str(WHEELHOUSE), "--find-links", str(tmp / "dist"), "tfaudio-runtime", *pins]  # fmt: skip
    env = _clean_env()
    if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "-q", "-d", str(WHEELHOUSE), *pins, "-r",
              str(REPO / "tfaudio-runtime" / "requirements.txt")], env=env)  # fmt: skip
        _run(install, env=env)
    return venv / "bin"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Float and full-int8 SincNet files exported by this (full) install, and real clips to run."""
    tmp = tmp_path_factory.mktemp("runtime_models")
    files = [sorted((SPEECH_COMMANDS / label).glob("*.wav"))[0] for label in LABELS]
    for label in LABELS:  # a folder: data spec with three clips per class, for `tfaudio evaluate`
        (tmp / "data" / label).mkdir(parents=True)
        for clip in sorted((SPEECH_COMMANDS / label).glob("*.wav"))[:3]:
            (tmp / "data" / label / clip.name).symlink_to(clip)
    (tmp / "labels.json").write_text(json.dumps(LABELS))
    clips = np.stack([load_audio(f, sample_rate=SAMPLE_RATE)[0][: int(SAMPLE_RATE * CLIP_SECONDS)] for f in files])
    np.save(tmp / "clips.npy", clips)
    model = build("sincnet", len(LABELS), sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS, **TINY)
    metadata = {"labels": LABELS, "sample_rate": SAMPLE_RATE, "clip_seconds": CLIP_SECONDS}
    paths = {
        "float": to_tflite(model, str(tmp / "sincnet_float.tflite"), metadata=metadata),
        "int8": to_tflite(model, str(tmp / "sincnet_int8.tflite"), quantize="int8", representative_data=clips,
                          metadata=metadata),  # fmt: skip
    }
    return tmp, paths, files


def test_no_tensorflow_in_the_runtime_install(runtime_venv):
    result = subprocess.run([str(runtime_venv / "python"), "-c", "import tensorflow"], capture_output=True, text=True,
                            env=_clean_env(), timeout=120)  # fmt: skip
    assert result.returncode != 0 and "No module named 'tensorflow'" in result.stderr
    installed = json.loads(_run([str(runtime_venv / "python"), "-m", "pip", "list", "--format", "json"],
                                env=_clean_env()).stdout)  # fmt: skip
    names = {p["name"].lower() for p in installed}
    assert "tfaudio-runtime" in names and not names & {"tensorflow", "tensorflow-cpu", "keras", "tf-keras", "tensorboard"}
    # The command still explains what the device install cannot do.
    result = subprocess.run([str(runtime_venv / "tfaudio"), "train", "--model", "sincnet", "--data", "x", "--out", "o"],
                            capture_output=True, text=True, env=_clean_env(), timeout=120)  # fmt: skip
    assert result.returncode != 0 and "pip install tfaudio" in result.stderr


def test_bench_and_outputs_match_the_full_install(runtime_venv, exported, tmp_path):
    tmp, paths, _ = exported
    env = _clean_env()
    report = tmp_path / "device.json"
    _run([str(runtime_venv / "tfaudio"), "bench", paths["float"], paths["int8"], "--threads", "1", "2",
          "--runs", "5", "--warmup", "1", "--report", str(report)], env=env, cwd=tmp_path)  # fmt: skip
    report = json.loads(report.read_text())
    assert [m["file"] for m in report["models"]] == ["sincnet_float.tflite", "sincnet_int8.tflite"]
    assert report["device"]["litert"] == importlib.metadata.version("ai-edge-litert")
    assert all(len(m["latency"]) == 2 and m["ops"] for m in report["models"])

    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from tfaudio.runtime import TFLiteModel

        assert "tensorflow" not in sys.modules
        clips = np.load({str(tmp / "clips.npy")!r})
        for kind, path in {paths!r}.items():
            for threads in (1, 2):
                runner = TFLiteModel(path, num_threads=threads)
                np.save(f"{{kind}}_{{threads}}.npy", runner.predict(clips, batch_size=2))
        print(TFLiteModel({paths["int8"]!r}).metadata["labels"])
        """
    )
    out = _run([str(runtime_venv / "python"), "-c", script], env=env, cwd=tmp_path).stdout
    assert out.strip() == str(LABELS)
    clips = np.load(tmp / "clips.npy")
    for kind, path in paths.items():
        for threads in (1, 2):
            full = TFLiteModel(path, num_threads=threads).predict(clips, batch_size=2)
            np.testing.assert_array_equal(np.load(tmp_path / f"{kind}_{threads}.npy"), full)


def test_evaluate_matches_the_full_install(runtime_venv, exported, tmp_path):
    tmp, paths, _ = exported
    neutral = tmp_path / "cwd"  # no tfaudio folder here: `python -m` puts the working directory on sys.path
    neutral.mkdir()
    for kind, path in paths.items():
        args = ["evaluate", "--model", path, "--data", f"folder:{tmp / 'data'}", "--split", "all"]
        _run([str(runtime_venv / "tfaudio"), *args, "--out", str(tmp_path / f"{kind}_runtime.json")], env=_clean_env(),
             cwd=neutral)  # fmt: skip
        _run([sys.executable, "-m", "tfaudio", *args, "--out", str(tmp_path / f"{kind}_full.json")],
             env=dict(_clean_env(), PYTHONPATH=str(REPO)), cwd=neutral)  # fmt: skip
        runtime = json.loads((tmp_path / f"{kind}_runtime.json").read_text())
        full = json.loads((tmp_path / f"{kind}_full.json").read_text())
        assert runtime["examples"] == 3 * len(LABELS)
        assert runtime == full


@pytest.fixture(scope="module")
def streaming(exported):
    """Float and full-int8 streaming `.tflite` files of a small DS-CNN-like model, and a 5 s recording."""
    from tests.streaming.models import ds_cnn_like
    from tfaudio.streaming import StreamingModel, to_streaming_tflite

    tmp, _, files = exported
    words = [load_audio(f, sample_rate=SAMPLE_RATE)[0] for f in files]
    gap = np.zeros(SAMPLE_RATE // 4, np.float32)
    recording = np.concatenate([gap] + [x for w in words for x in (w, gap)])
    sf.write(tmp / "recording.wav", recording, SAMPLE_RATE, subtype="PCM_16")
    stream = StreamingModel(ds_cnn_like(num_classes=len(LABELS)))
    paths = {
        quantize or "float": to_streaming_tflite(stream, str(tmp / f"stream_{quantize or 'float'}.tflite"),
                                                 quantize=quantize, representative_audio=[recording], labels=LABELS)
        for quantize in (None, "int8")
    }  # fmt: skip
    return tmp / "recording.wav", paths


def test_detect_matches_the_full_install(runtime_venv, streaming, tmp_path):
    recording, paths = streaming
    for kind, path in paths.items():
        # Threshold 0 and no ignored labels: every smoothed decision is printed, so the comparison sees them all.
        args = ["detect", str(recording), "--model", path, "--json", "--threshold", "0", "--minimum-count", "1",
                "--suppression", "0.5", "--ignore"]  # fmt: skip
        runtime = _run([str(runtime_venv / "tfaudio"), *args], env=_clean_env(), cwd=tmp_path).stdout
        full = _run([sys.executable, "-m", "tfaudio", *args], env=dict(_clean_env(), PYTHONPATH=str(REPO)),
                    cwd=tmp_path).stdout  # fmt: skip
        detections = [json.loads(line) for line in runtime.splitlines()]
        assert len(detections) >= 3 and {d["label"] for d in detections} <= set(LABELS)
        assert runtime == full


def test_predict_matches_the_full_install(runtime_venv, exported, streaming, tmp_path):
    tmp, paths, _ = exported
    recording, _ = streaming  # 5 s of four words: several windows per file
    for kind, path in paths.items():
        args = ["predict", str(tmp / "data"), str(recording), "--model", path, "--format", "json", "--timeline"]
        runtime = _run([str(runtime_venv / "tfaudio"), *args], env=_clean_env(), cwd=tmp_path).stdout
        full = _run([sys.executable, "-m", "tfaudio", *args], env=dict(_clean_env(), PYTHONPATH=str(REPO)),
                    cwd=tmp_path).stdout  # fmt: skip
        results = json.loads(runtime)
        assert len(results) == 3 * len(LABELS) + 1 and not any(r.get("error") for r in results)
        assert runtime == full
