"""Named recipes (`--recipe kws`), the KWS flags of `tfaudio train`, and background noise from the data's own clips."""

import argparse

import pytest

from tests.models import _kws
from tfaudio.cli import train as train_cli
from tfaudio.training import TrainConfig
from tfaudio.training.recipes import KWS, recipe_fields
from tfaudio.training.model_wrapping import background_noise_source, waveform_augmentations


def _config(*argv):
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    return train_cli.config_from_args(parser.parse_args(["--model", "ds_cnn", "--data", "fsdd:x", "--out", "o", *argv]))


def test_kws_recipe_sets_its_fields():
    config = _config("--recipe", "kws")
    for field, value in KWS.items():
        assert getattr(config, field) == value, field


def test_flags_given_override_the_recipe():
    config = _config("--recipe", "kws", "--time-shift", "0.05", "--learning-rate", "0.01", "--freq-mask", "3")
    assert (config.time_shift_seconds, config.learning_rate, config.freq_mask_param) == (0.05, 0.01, 3)
    assert config.background_noise == "auto" and config.spec_augment and config.label_smoothing == 0.1


def test_no_recipe_changes_nothing():
    assert _config() == _config("--recipe", "none")
    config = _config("--background-noise", "--background-volume", "0.3", "--label-smoothing", "0.2")
    assert (config.background_noise, config.background_volume, config.label_smoothing) == (True, 0.3, 0.2)
    assert not config.spec_augment and config.schedule == "constant"


def test_unknown_recipe():
    with pytest.raises(ValueError, match="Received: recipe="):
        recipe_fields("asr")


def test_bad_recipe_values_raise():
    with pytest.raises(ValueError, match="Received: label_smoothing="):
        TrainConfig(model="ds_cnn", label_smoothing=1.0).validate()
    with pytest.raises(ValueError, match="background_frequency="):
        TrainConfig(model="ds_cnn", background_frequency=2.0).validate()


def test_background_noise_comes_from_the_training_silence_clips():
    root = _kws.speech_commands_root()
    if not (root / "_silence_").is_dir():
        pytest.skip(f"Speech Commands not found at {root}")
    config = TrainConfig(model="ds_cnn", data=f"speech_commands:{root}?split=speaker_fold:1/3", background_noise=True)
    files = background_noise_source(config)["noise_files"]
    from tfaudio.data.speech_commands import speech_commands_files

    train, test, labels = speech_commands_files(root, split="speaker_fold:1/3")
    silence = labels.index("_silence_")
    assert set(files) == {p for p, y in train if y == silence}
    assert not set(files) & {p for p, y in test if y == silence}
    layers = waveform_augmentations(config)
    assert [layer.name for layer in layers] == ["background_noise"]
    assert layers[0].probability == 0.8 and layers[0].max_volume == 0.1


def test_background_noise_needs_a_source():
    config = TrainConfig(model="ds_cnn", data="fsdd:somewhere", background_noise=True)
    with pytest.raises(ValueError, match="--background-noise-dir"):
        background_noise_source(config)
    # The recipe's "auto" mixes noise only where the data has its own: none for FSDD.
    auto = TrainConfig(model="ds_cnn", data="fsdd:somewhere", background_noise="auto")
    assert waveform_augmentations(auto) == []


def test_every_augmentation_draws_from_its_own_seed():
    """Two layers with one seed draw the same numbers: their choices would move together in every batch."""
    root = _kws.speech_commands_root()
    if not (root / "_silence_").is_dir():
        pytest.skip(f"Speech Commands not found at {root}")
    config = TrainConfig(
        model="ds_cnn", data=f"speech_commands:{root}?split=speaker_fold:1/3", background_noise=True,
        speed_perturbation=0.1, equalizer_db=6.0, time_shift_seconds=0.1, gain_db=6.0, noise=True, seed=3,
    )  # fmt: skip
    layers = waveform_augmentations(config)
    assert len(layers) == 6, [layer.name for layer in layers]
    seeds = {layer.name: layer.seed for layer in layers}
    assert len(set(seeds.values())) == len(seeds), seeds
