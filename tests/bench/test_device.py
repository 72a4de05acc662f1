"""Device facts and the device report of `tfaudio bench --report`."""

import json

import pytest

from tfaudio.bench import build_report, device, device_info, device_report, tflite_latency

# /proc/cpuinfo of a Raspberry Pi 5-like big.LITTLE board (two kinds of Arm core, no "model name").
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
CPU implementer\t: 0x41
CPU part\t: 0xd0b

processor\t: 1
CPU implementer\t: 0x41
CPU part\t: 0xd05

Hardware\t: BCM2712
Model\t: Raspberry Pi 5 Model B Rev 1.0
"""


@pytest.fixture
def paths(dense_tflite):
    return [dense_tflite["float"], dense_tflite["int8"]]


def test_device_info_fields():
    info = device_info()
    assert info["cores"] >= 1 and 1 <= info["cores_usable"] <= info["cores"]
    assert info["cpu_model"] and info["machine"] and info["os"]
    assert info["litert"] is not None  # the installed ai-edge-litert version
    json.dumps(info)


def test_arm_core_names_from_cpu_part(monkeypatch):
    monkeypatch.setattr(device, "_read", lambda path: ARM_CPUINFO if path == "/proc/cpuinfo" else None)
    assert device.cpu_model() == "Cortex-A76 + Cortex-A55"


def test_x86_model_name(monkeypatch):
    text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz\n"
    monkeypatch.setattr(device, "_read", lambda path: text if path == "/proc/cpuinfo" else None)
    assert device.cpu_model() == "Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz"


def test_report_per_model_and_thread(paths):
    report = device_report(paths, threads=(1, 2), runs=3, warmup=1, name="test box")
    assert report["name"] == "test box" and report["report_version"] == 1
    assert report["settings"] == {"runs": 3, "warmup": 1, "threads": [1, 2], "input": "uniform noise in [-1, 1], seed 0"}
    assert [m["file"] for m in report["models"]] == ["f.tflite", "q.tflite"]
    for m in report["models"]:
        assert m["size_bytes"] > 0 and "FULLY_CONNECTED" in m["ops"]
        assert [r["num_threads"] for r in m["latency"]] == [1, 2]
        for r in m["latency"]:
            assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"] and r["mean_ms"] > 0
    assert report["models"][1]["input_dtype"] == "int8"
    json.dumps(report)


def test_build_report_keeps_measured_numbers(paths):
    measured = {paths[0]: [tflite_latency(paths[0], runs=3, warmup=0)]}
    report = build_report(measured, runs=3, warmup=0)
    assert report["models"][0]["latency"][0]["p50_ms"] == measured[paths[0]][0]["p50_ms"]
    assert report["name"] == (report["device"]["board"] or report["device"]["cpu_model"])


def test_no_paths():
    with pytest.raises(ValueError, match="paths"):
        device_report([])
