"""`tfaudio train` on real FSDD clips with a tiny SincNet: the run folder the other commands read."""

import json

import pytest

from tfaudio.backend import keras
from tfaudio.cli.main import build_parser, main

TINY_SINCNET = [
    "--override", "sinc_filters=8",
    "--override", "sinc_kernel_size=31",
    "--override", "conv_filters=[8, 8]",
    "--override", "dense_units=[32]",
    "--override", "pool_sizes=[4, 4, 4]",
    "--override", "global_pooling=avg",
]  # fmt: skip


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--model", "--data", "--epochs", "--out", "--sample-rate", "--clip-seconds", "--batch-size",
                 "--learning-rate", "--strategy", "--mixed-precision", "--spec-augment", "--mixup", "--noise-dir",
                 "--resume", "--seed", "--override", "--schedule", "--warmup-epochs", "--early-stopping",
                 "--freeze-backbone", "--fine-tune-epochs", "--fine-tune-learning-rate", "--time-warp"):
        assert flag in text, flag


def test_spec_augment_options_reach_the_train_config():
    from tfaudio.cli.train import config_from_args

    args = build_parser().parse_args(["train", "--model", "sincnet", "--data", "fsdd:x", "--out", "o", "--spec-augment",
                                      "--time-warp", "6", "--freq-mask", "7", "--time-mask-seconds", "0.05"])
    config = config_from_args(args)
    assert (config.spec_augment, config.time_warp_param, config.freq_mask_param, config.time_mask_seconds) == (True, 6, 7, 0.05)
    default = config_from_args(build_parser().parse_args(["train", "--model", "m", "--data", "d", "--out", "o"]))
    assert default.time_warp_param == 0 and not default.spec_augment


@pytest.mark.slow
def test_train_sincnet_on_fsdd_writes_the_run_folder(fsdd, tmp_path):
    out = tmp_path / "run"
    code = main(
        [
            "train", "--model", "sincnet", "--data", f"fsdd:{fsdd}", "--epochs", "2", "--out", str(out),
            "--sample-rate", "8000", "--clip-seconds", "0.5", "--batch-size", "16", "--steps-per-epoch", "4",
            "--spec-augment", "--time-warp", "40", "--mixup", "0.2", "--noise", "--gain-db", "3", "--time-shift", "0.05",
            "--schedule", "cosine", "--warmup-epochs", "0.5", "--seed", "3", "--quiet", *TINY_SINCNET,
        ]
    )  # fmt: skip
    assert code == 0
    assert json.loads((out / "labels.json").read_text()) == [str(d) for d in range(10)]
    config = json.loads((out / "run_config.json").read_text())
    assert config["data"] == f"fsdd:{fsdd}" and config["model"] == "sincnet"
    assert config["sample_rate"] == 8000 and config["clip_seconds"] == 0.5
    assert config["overrides"]["conv_filters"] == [8, 8] and config["overrides"]["global_pooling"] == "avg"
    assert config["spec_augment"] is True and config["time_warp_param"] == 40
    assert config["mixup"] == 0.2 and config["seed"] == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [0, 1]
    assert set(metrics["test"]) >= {"accuracy", "loss"}
    for name in ("model.keras", "checkpoints/best.keras", "checkpoints/last.keras"):
        assert (out / name).is_file()
    # The saved model is the registry's SincNet without augmentation layers.
    model = keras.models.load_model(out / "model.keras")
    assert type(model).__name__ == "SincNet"
    assert not any("augment" in l.name or l.name in ("random_gain", "additive_noise", "time_shift") for l in model.layers)

    # A finished run is not overwritten without --resume; --resume continues it to more epochs.
    args = ["train", "--model", "sincnet", "--data", f"fsdd:{fsdd}", "--out", str(out), "--sample-rate", "8000",
            "--clip-seconds", "0.5", "--batch-size", "16", "--steps-per-epoch", "4", "--quiet", *TINY_SINCNET]
    assert main([*args, "--epochs", "3"]) == 2
    assert main([*args, "--epochs", "3", "--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [0, 1, 2]


def test_bad_override_is_reported(fsdd, tmp_path, capsys):
    code = main(["train", "--model", "sincnet", "--data", f"fsdd:{fsdd}", "--out", str(tmp_path), "--override", "oops"])
    assert code == 2
    assert "KEY=VALUE" in capsys.readouterr().err
