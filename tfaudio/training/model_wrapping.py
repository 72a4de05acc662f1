"""The model a run fits: waveform augmentations in front, SpecAugment after the frontend, float32 frontends
and logits under mixed precision; the weights stay shared with the registry model."""

import inspect

from tfaudio.backend import keras


def is_frontend(layer):
    """Whether `layer` is a frontend: its class sets `is_frontend = True` (LogMelSpectrogram, SincConv1D, ...).

    Frontends run in float32 under mixed precision (spectra and filter banks lose
    too much in float16), and SpecAugment goes right after the first one. Only
    top-level layers of a model are searched (a frontend nested in a backbone
    sub-model is not).
    """
    return getattr(type(layer), "is_frontend", False) is True


def _has_own_noise(data):
    return isinstance(data, str) and data.startswith("speech_commands:")


def background_noise_source(config):
    """`{"noise_dir": ...}` or `{"noise_files": [...]}` for `BackgroundNoise`: the config's folder, else
    the training data's own noise (a speech_commands spec: `tfaudio.data.speech_commands_noise_files`)."""
    if config.background_noise_dir:
        return {"noise_dir": config.background_noise_dir}
    from tfaudio.data import spec as data_spec
    from tfaudio.data.speech_commands import speech_commands_files, speech_commands_noise_files

    kind, path, options = data_spec.parse_spec(config.data) if config.data else (None, None, {})
    if kind != "speech_commands":
        raise ValueError(
            "Background noise needs a noise folder (--background-noise-dir) unless the data is a "
            f"speech_commands: spec, whose own noise is used. Received: data={config.data!r}"
        )
    accepted = inspect.signature(speech_commands_files).parameters
    return {"noise_files": list(speech_commands_noise_files(path, **{k: v for k, v in options.items() if k in accepted}))}


def waveform_augmentations(config):
    """The waveform augmentation layers a config asks for, in application order."""
    from tfaudio.layers.additive_noise import AdditiveNoise
    from tfaudio.layers.random_gain import RandomGain
    from tfaudio.layers.time_shift import TimeShift

    layers = []
    p = config.augment_probability
    if config.speed_perturbation:
        from tfaudio.layers.speed_perturbation import SpeedPerturbation

        x = config.speed_perturbation
        layers.append(SpeedPerturbation(1 - x, 1 + x, probability=p, seed=config.seed + 7, name="speed_perturbation"))
    if config.equalizer_db:
        from tfaudio.layers.random_equalizer import RandomEqualizer

        layers.append(RandomEqualizer(config.equalizer_db, sample_rate=config.sample_rate, probability=p,
                                      seed=config.seed + 6, name="random_equalizer"))
    if config.time_shift_seconds:
        layers.append(
            TimeShift(config.time_shift_seconds, config.sample_rate, probability=p, seed=config.seed + 1, name="time_shift")
        )
    if config.background_noise == "auto" and not config.background_noise_dir and not _has_own_noise(config.data):
        print(f"No background noise for {config.data!r} (not a speech_commands: spec; give --background-noise-dir).",
              flush=True)
    elif config.background_noise or config.background_noise_dir:
        from tfaudio.layers.background_noise import BackgroundNoise

        layers.append(
            BackgroundNoise(
                **background_noise_source(config),
                max_volume=config.background_volume,
                probability=config.background_frequency,
                sample_rate=config.sample_rate,
                seed=config.seed + 5,
                name="background_noise",
            )
        )
    if config.gain_db:
        layers.append(RandomGain(-config.gain_db, config.gain_db, probability=p, seed=config.seed + 2, name="random_gain"))
    if config.noise or config.noise_dir:
        layers.append(
            AdditiveNoise(
                config.min_snr_db,
                config.max_snr_db,
                noise_dir=config.noise_dir,
                sample_rate=config.sample_rate,
                probability=p,
                seed=config.seed + 3,
                name="additive_noise",
            )
        )
    return layers


def training_model(model, config, waveform_layers=None, spec_augment=None):
    """Wraps a registry model for training: augmentation in front, float32 logits.

    - Waveform augmentations (`waveform_augmentations(config)`) run before the model.
    - With `config.spec_augment`, a `SpecAugment` layer (a time warp when
      `config.time_warp_param`, then masks) follows the model's first frontend
      layer (`LogMelSpectrogram`, `SincConv1D`, ...): the model's graph is
      re-run with the same layers (`keras.models.clone_model` with
      `clone_function=identity`), so weights stay shared with `model`.
    - Under mixed precision, frontend layers are re-created with `dtype="float32"`
      (their weights are copied back by `sync_back`) and the logits are cast to float32.

    Returns:
        `(train_model, sync_back)`: the `keras.Model` to fit, and a function that
        copies weights of re-created layers back into `model` (call it before saving
        `model`; a no-op when nothing was re-created).
    """
    from tfaudio.layers.spec_augment import SpecAugment

    waveform_layers = waveform_augmentations(config) if waveform_layers is None else waveform_layers
    mixed = keras.mixed_precision.global_policy().name != "float32"
    recreated = {}  # id(original layer) -> (original, float32 clone)
    originals = {}  # id(clone) -> original
    inner = model
    if config.spec_augment or mixed:
        frontends = [layer for layer in model.layers if is_frontend(layer)]
        if config.spec_augment and not frontends:
            raise ValueError(
                "--spec-augment needs a frontend layer (a class with `is_frontend = True`, e.g. LogMelSpectrogram) "
                "at the top level of "
                f"the model. Received: model={config.model!r} with layers {[l.name for l in model.layers]}"
            )
        first = frontends[0] if frontends else None

        def clone_function(layer):
            if mixed and is_frontend(layer):
                clone = layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})
                recreated[id(layer)] = (layer, clone)
                originals[id(clone)] = layer
                return clone
            return layer

        def call_function(layer, *args, **kwargs):
            outputs = layer(*args, **kwargs)
            original = originals.get(id(layer), layer)
            if config.spec_augment and original is first:
                nonlocal spec_augment
                if spec_augment is None:
                    frames = outputs.shape[1]
                    frames_per_second = frames / config.clip_seconds if frames else 100.0
                    spec_augment = SpecAugment(
                        freq_mask_param=config.freq_mask_param,
                        num_freq_masks=config.num_freq_masks,
                        time_mask_param=int(round(config.time_mask_seconds * frames_per_second)),
                        num_time_masks=config.num_time_masks,
                        time_warp_param=config.time_warp_param,
                        mask_value="mean",
                        seed=config.seed + 4,
                        name="spec_augment",
                        dtype="float32" if mixed else None,
                    )
                outputs = spec_augment(outputs)
            return outputs

        # Re-created frontends need their weights: build them, then copy.
        inner = keras.models.clone_model(model, clone_function=clone_function, call_function=call_function)
        for original, clone in recreated.values():
            clone.set_weights(original.get_weights())

    inputs = keras.Input(shape=model.inputs[0].shape[1:], dtype="float32", name="waveform")
    x = inputs
    for layer in waveform_layers:
        x = layer(x)
    outputs = inner(x)
    if mixed:
        outputs = keras.layers.Activation("linear", dtype="float32", name="logits_float32")(outputs)
    train_model = keras.Model(inputs, outputs, name=f"{model.name}_training")

    def sync_back():
        for original, clone in recreated.values():
            original.set_weights(clone.get_weights())

    return train_model, sync_back


def find_backbone(model):
    """The model's `backbone` sub-model (attribute or layer named "backbone"), or None."""
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, keras.layers.Layer):
        return backbone
    for layer in model.layers:
        if layer.name == "backbone":
            return layer
    return None
