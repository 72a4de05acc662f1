"""The fit loop behind `tfaudio train`, usable from scripts: strategy, augmentation, checkpoints, resume.

Example:
>>> from tfaudio.training import TrainConfig, train
>>> result = train(TrainConfig(model="sincnet", data="fsdd:/data/fsdd", epochs=10,
...                            sample_rate=8000, out="runs/sincnet"))
>>> result["test"]["accuracy"]
"""

import dataclasses
import inspect
import json
import math
import os
import time

import numpy as np
import tensorflow as tf

from tfaudio.atomic import atomic_path, write_json
from tfaudio.backend import keras
from tfaudio.data.spec import absolute_spec
from tfaudio.training import callbacks as cb
from tfaudio.training import losses, mixup, strategy as strategies
from tfaudio.training.schedules import WarmupCosine

# Layers computed in float32 under mixed precision (spectra and filter banks lose
# too much in float16), and after which SpecAugment is inserted. Only top-level layers
# of the model are searched (a frontend nested in a backbone sub-model is not).
FRONTEND_CLASSES = ("LogMelSpectrogram", "SincConv1D", "KaldiFbank", "Wav2Vec2FeatureEncoder")

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
RUN_CONFIG_FILE = "run_config.json"
EVENTS_FILE = "events.jsonl"


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run; saved as `run_config.json` in the run folder.

    Sizes: `batch_size` is per replica; the dataset is batched with
    `batch_size * replicas` (the global batch).
    """

    model: str
    data: str = None  # data spec "fsdd:PATH", "folder:PATH", "manifest:CSV"
    out: str = "runs/train"
    epochs: int = 10
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"  # adam | adamw | sgd
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | cosine (with warm-up)
    warmup_epochs: float = 0.0
    min_learning_rate: float = 0.0
    early_stopping_patience: int = 0  # 0: off
    monitor: str = "val_loss"
    strategy: str = "auto"
    mixed_precision: str = "none"
    seed: int = 0
    overrides: dict = dataclasses.field(default_factory=dict)
    # Augmentation (all off by default).
    spec_augment: bool = False
    freq_mask_param: int = 10
    num_freq_masks: int = 2
    time_mask_seconds: float = 0.1
    num_time_masks: int = 2
    time_warp_param: int = 0  # SpecAugment W in frames of the frontend's output; 0: off
    mixup: float = 0.0  # Beta(alpha, alpha); 0: off
    noise: bool = False  # white noise (implied by noise_dir)
    noise_dir: str = None
    min_snr_db: float = 5.0
    max_snr_db: float = 40.0
    gain_db: float = 0.0  # random gain in [-gain_db, gain_db]; 0: off
    time_shift_seconds: float = 0.0  # 0: off
    speed_perturbation: float = 0.0  # speed factor in [1 - x, 1 + x]; 0: off
    # Background noise as the TensorFlow speech_commands training mixes it (BackgroundNoise): recordings
    # from background_noise_dir, else the data's own (speech_commands: _background_noise_ or training _silence_).
    background_noise: object = False  # True, False, or "auto": only when the data has its own noise
    background_noise_dir: str = None
    background_frequency: float = 0.8
    background_volume: float = 0.1
    label_smoothing: float = 0.0
    augment_probability: float = 1.0
    # Two-stage fine-tuning of models with a `backbone`.
    freeze_backbone: bool = False
    fine_tune_epochs: int = 0
    fine_tune_learning_rate: float = None
    # Run control.
    resume: bool = False
    steps_per_epoch: int = None
    backup_every_steps: int = None  # None: back up at the end of every epoch
    cache: str = "memory"
    verbose: object = "auto"

    def to_json(self):
        return dataclasses.asdict(self)

    def validate(self):
        if self.epochs < 0:
            raise ValueError(f"`epochs` must be >= 0. Received: epochs={self.epochs!r}")
        if self.batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={self.batch_size!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive. Received: learning_rate={self.learning_rate!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"`schedule` must be 'constant' or 'cosine'. Received: schedule={self.schedule!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"`optimizer` must be adam, adamw or sgd. Received: optimizer={self.optimizer!r}")
        if not 0 <= self.speed_perturbation < 1:
            raise ValueError(f"`speed_perturbation` must be in [0, 1). Received: speed_perturbation={self.speed_perturbation!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1). Received: label_smoothing={self.label_smoothing!r}")
        if self.background_noise not in (True, False, "auto"):
            raise ValueError(
                f"`background_noise` must be True, False or 'auto'. Received: background_noise={self.background_noise!r}"
            )
        if not 0.0 <= self.background_frequency <= 1.0 or self.background_volume < 0:
            raise ValueError(
                "`background_frequency` must be in [0, 1] and `background_volume` >= 0. Received: "
                f"background_frequency={self.background_frequency!r}, background_volume={self.background_volume!r}"
            )
        if self.mixup < 0:
            raise ValueError(f"`mixup` must be >= 0. Received: mixup={self.mixup!r}")
        if self.strategy not in strategies.STRATEGIES:
            raise ValueError(f"`strategy` must be one of {strategies.STRATEGIES}. Received: strategy={self.strategy!r}")
        if self.mixed_precision not in strategies.MIXED_PRECISION:
            raise ValueError(
                f"`mixed_precision` must be one of {strategies.MIXED_PRECISION}. "
                f"Received: mixed_precision={self.mixed_precision!r}"
            )
        if self.time_warp_param and not self.spec_augment:
            raise ValueError(
                "`time_warp_param` is part of SpecAugment; set `spec_augment=True`. "
                f"Received: time_warp_param={self.time_warp_param!r}, spec_augment=False"
            )
        if self.fine_tune_epochs and not self.freeze_backbone:
            raise ValueError(
                "`fine_tune_epochs` continues a run whose backbone was frozen; set `freeze_backbone=True`. "
                f"Received: fine_tune_epochs={self.fine_tune_epochs!r}, freeze_backbone=False"
            )


# ----------------------------------------------------------------------------- data


def load_data(config, global_batch_size):
    """`(train_ds, test_ds, labels)` of `config.data` through `tfaudio.data.from_spec`."""
    from tfaudio import data as tfdata

    kwargs = {
        "sample_rate": config.sample_rate,
        "clip_seconds": config.clip_seconds,
        "batch_size": global_batch_size,
        "seed": config.seed,
        "cache": config.cache,
    }
    if hasattr(tfdata, "from_spec"):
        fn, args = tfdata.from_spec, (config.data,)
    else:  # until `from_spec` exists: the fsdd reader of API.md
        kind, _, path = config.data.partition(":")
        if kind != "fsdd":
            raise ValueError(f"Only fsdd:PATH data specs are readable yet. Received: data={config.data!r}")
        fn, args = tfdata.fsdd, (path,)
    accepted = inspect.signature(fn).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    splits = fn(*args, **kwargs)
    train_ds, test_ds, labels = splits
    return tfdata.DataSplits(train_ds, test_ds, [str(x) for x in labels], getattr(splits, "validation", None))


def _count_batches(dataset):
    n = int(dataset.cardinality())
    if n >= 0:
        return n
    return sum(1 for _ in dataset)


def prepare_datasets(train_ds, test_ds, num_classes, config):
    """Mixup (soft labels) on training batches, auto-shard options, prefetch."""
    if config.mixup:
        train_ds = mixup.mixup_dataset(train_ds, config.mixup, num_classes, seed=config.seed)
    elif config.label_smoothing:
        train_ds = mixup.one_hot_dataset(train_ds, num_classes)
    train_ds = strategies.shard_options(train_ds).prefetch(tf.data.AUTOTUNE)
    return train_ds, prepare_eval_dataset(test_ds, num_classes, config)


def prepare_eval_dataset(ds, num_classes, config):
    """A test or validation dataset as `prepare_datasets` leaves it (one-hot labels with mixup); None stays None."""
    if ds is None:
        return None
    if config.mixup or config.label_smoothing:
        ds = mixup.one_hot_dataset(ds, num_classes)
    return strategies.shard_options(ds).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------- model


def _is_frontend(layer):
    return type(layer).__name__ in FRONTEND_CLASSES or getattr(layer, "is_frontend", False)


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
        layers.append(SpeedPerturbation(1 - x, 1 + x, probability=p, seed=config.seed + 5, name="speed_perturbation"))
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
        frontends = [layer for layer in model.layers if _is_frontend(layer)]
        if config.spec_augment and not frontends:
            raise ValueError(
                f"--spec-augment needs a frontend layer ({', '.join(FRONTEND_CLASSES)}) at the top level of "
                f"the model. Received: model={config.model!r} with layers {[l.name for l in model.layers]}"
            )
        first = frontends[0] if frontends else None

        def clone_function(layer):
            if mixed and _is_frontend(layer):
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


def patch_multi_worker_build(model, strategy):
    """Lets Keras 3 (3.15) `fit` a model under `MultiWorkerMirroredStrategy`.

    Before the first step, Keras' TF trainer builds metrics and optimizer from one
    batch, which it gets by `strategy.reduce("MEAN", per_replica_batch)` in eager
    mode; with `MultiWorkerMirroredStrategy` that eager reduce fails ("Attempt to
    convert a value (PerReplica...)"). Only the batch's shapes are needed, so this
    takes the local replica's value instead. Likewise the per-step logs (scalars)
    are reduced across workers with `strategy.reduce("MEAN", v, axis=0)`, which
    fails on scalars; the train/test steps here return them as `[1]` tensors, so
    the reduce means over replicas and yields scalars again. A no-op for other
    strategies.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or not hasattr(model, "_symbolic_build"):
        return model

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(local, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    def rank1(step):
        def wrapped(data):
            return tf.nest.map_structure(lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v, step(data))

        return wrapped

    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = rank1(model.train_step)
    model.test_step = rank1(model.test_step)
    return model


def find_backbone(model):
    """The model's `backbone` sub-model (attribute or layer named "backbone"), or None."""
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, keras.layers.Layer):
        return backbone
    for layer in model.layers:
        if layer.name == "backbone":
            return layer
    return None


def make_optimizer(config, learning_rate, total_steps, warmup_steps):
    if config.schedule == "cosine":
        learning_rate = WarmupCosine(learning_rate, max(total_steps, 1), min(warmup_steps, total_steps), config.min_learning_rate)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=config.weight_decay or 1e-4)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate)


# ----------------------------------------------------------------------------- run


def _tensorboard_available():
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it)
    except ImportError:
        print("TensorBoard is not installed (pip install tensorboard): no logs/ written.", flush=True)
        return False
    return True


def _write_json(path, value):
    write_json(path, value)


def _history(events_path):
    """Per-epoch rows of the run, the latest write of each epoch winning (resumed epochs overwrite)."""
    rows = {}
    for row in cb.read_jsonl(events_path):
        if row.get("event") == "epoch":
            rows[row["epoch"]] = {k: v for k, v in row.items() if k not in ("event", "weights")}
    return [rows[e] for e in sorted(rows)]


def train(config, data=None, model=None, return_model=False):
    """Trains `config.model` on `config.data` and writes the run folder `config.out`.

    Args:
        config: `TrainConfig`.
        data: optional `(train_ds, test_ds, labels)` to use instead of reading
            `config.data`; datasets of `(waveform [batch, samples], int label
            [batch])` batched with the global batch size. Or a callable
            `(global_batch_size) -> (train_ds, test_ds, labels)`, called after the
            strategy exists (multi-worker needs the strategy before any TF op).
        model: optional callable `(num_classes) -> keras.Model` replacing the
            registry (scripts and tests with their own models).
        return_model: bool. Also return the trained clean model.

    Writes to `config.out` (on the chief worker only): `model.keras` (the model
    after the last epoch, without augmentation layers, float32), `labels.json`,
    `metrics.json` (per-epoch history + final test loss/accuracy),
    `run_config.json`, `checkpoints/{last,best}.keras` (best by
    `config.monitor` on the validation data: the source's validation split
    when it has one (`DataSplits.validation`), else the test split),
    `backup/` (`BackupAndRestore`; restarting the same command resumes from it,
    losing at most the current epoch, or the steps since the last
    `backup_every_steps` backup), `events.jsonl`, TensorBoard logs in `logs/`, and with matplotlib
    `training_curves.png` and `confusion_matrix.png` (test split; `tfaudio.plots`).

    Returns:
        The metrics dict also written to `metrics.json`; with `return_model`,
        `(metrics, model)`.
    """
    config.validate()
    strategy = strategies.get_strategy(config.strategy)  # first: multi-worker needs a fresh TF context
    policy = keras.mixed_precision.global_policy()
    strategies.set_mixed_precision(config.mixed_precision)
    try:
        return _train(config, data, model, return_model, strategy)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _train(config, data, model, return_model, strategy):
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    chief = strategies.is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    batch = strategies.global_batch_size(config.batch_size, strategy)

    out = os.path.abspath(config.out)
    work = out if chief else os.path.join(out, "workers", "-".join(map(str, strategies.task_id())))
    os.makedirs(work, exist_ok=True)
    checkpoints = os.path.join(out, "checkpoints")
    events_path = os.path.join(work, EVENTS_FILE)
    backup_root = os.path.join(work, "backup")

    has_backup = os.path.isdir(backup_root) and any(
        name.endswith("training_metadata.json") for _, _, files in os.walk(backup_root) for name in files
    )
    finished = os.path.isfile(os.path.join(out, MODEL_FILE))
    if chief and finished and not has_backup and not config.resume:
        raise ValueError(
            f"{out} already holds a finished run ({MODEL_FILE}). Pass resume=True (--resume) to continue it "
            f"from checkpoints/last.keras, or choose another output folder. Received: out={config.out!r}"
        )

    # Data.
    if data is None:
        data = load_data(config, batch)
    elif callable(data):
        data = data(batch)
    train_ds, test_ds, labels = data
    num_classes = len(labels)
    steps_per_epoch = config.steps_per_epoch or _count_batches(train_ds)
    train_ds, test_ds = prepare_datasets(train_ds, test_ds, num_classes, config)
    # A source's validation split (tfaudio.data.DataSplits.validation) selects the model; test only measures it.
    val_ds = prepare_eval_dataset(getattr(data, "validation", None), num_classes, config)
    selection_ds = val_ds if val_ds is not None else test_ds
    if chief:
        _write_json(os.path.join(out, LABELS_FILE), list(labels))
        run_config = config.to_json()
        run_config.update({"out": out, "labels": list(labels), "num_replicas": replicas, "global_batch_size": batch})
        # Paths as absolute ones, so `tfaudio evaluate RUN` works from any directory.
        noise_dir = config.noise_dir and os.path.abspath(config.noise_dir)
        run_config.update(data=absolute_spec(config.data), noise_dir=noise_dir)
        _write_json(os.path.join(out, RUN_CONFIG_FILE), run_config)

    # Model, under the strategy.
    def build():
        if model is not None:
            return model(num_classes)
        from tfaudio.models import build as build_model

        return build_model(
            config.model, num_classes, sample_rate=config.sample_rate, clip_seconds=config.clip_seconds, **config.overrides
        )

    initial_epoch, resume_weights = 0, None
    if config.resume and not has_backup and os.path.isfile(os.path.join(checkpoints, "last.keras")):
        # --resume of a finished/stopped run (single machine: other workers have no checkpoints/).
        resume_weights = keras.models.load_model(os.path.join(checkpoints, "last.keras")).get_weights()
        resumed = [r["epoch"] for r in _history(events_path)]
        initial_epoch = max(resumed) + 1 if resumed else 0
        print(f"Resuming from checkpoints/last.keras at epoch {initial_epoch}.", flush=True)
    with strategy.scope():
        net = build()
        if resume_weights is not None:
            net.set_weights(resume_weights)  # before wrapping: re-created float32 frontends copy these
        train_model, sync_back = training_model(net, config)
    patch_multi_worker_build(train_model, strategy)

    soft = bool(config.mixup or config.label_smoothing)

    def export_model():
        """The clean float32 model with the current weights."""
        sync_back()
        if config.mixed_precision == "none":
            return net
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            clean = build()
        finally:
            keras.mixed_precision.set_global_policy(policy)
        clean.set_weights(net.get_weights())
        return clean

    def fit_stage(stage, learning_rate, first_epoch, last_epoch, final):
        epochs = last_epoch - first_epoch
        total = max(epochs, 1) * steps_per_epoch
        with strategy.scope():
            optimizer = make_optimizer(config, learning_rate, total, int(config.warmup_epochs * steps_per_epoch))
            train_model.compile(
                optimizer=optimizer,
                loss=losses.classification_loss(soft_labels=soft, label_smoothing=config.label_smoothing),
                metrics=[losses.accuracy_metric(soft_labels=soft)],
                jit_compile=False,
            )
        backup_dir = os.path.join(backup_root, stage)
        # The log first: an epoch is logged before it is backed up, so a kill between the two
        # re-runs a logged epoch (its new row wins) rather than losing a row.
        callbacks = [
            cb.EpochLog(events_path, stage=stage),
            cb.AtomicBackupAndRestore(
                backup_dir,
                restore_dir=os.path.join(out, "backup", stage),  # every worker restores the chief's backup
                save_freq=config.backup_every_steps or "epoch",
                delete_checkpoint=False,
            ),
        ]
        if chief:
            monitor = config.monitor if selection_ds is not None else config.monitor.replace("val_", "")
            callbacks.append(
                cb.ModelCheckpoints(checkpoints, export_model, monitor=monitor, mode="max" if "acc" in monitor else "min")
            )
            if _tensorboard_available():
                callbacks.append(keras.callbacks.TensorBoard(os.path.join(out, "logs"), write_graph=False, profile_batch=0))
        if config.early_stopping_patience:
            callbacks.append(
                keras.callbacks.EarlyStopping(monitor=config.monitor, patience=config.early_stopping_patience)
            )
        train_model.fit(
            train_ds,
            validation_data=selection_ds,
            epochs=last_epoch,
            initial_epoch=first_epoch,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself
            verbose=config.verbose,
        )

    backbone = find_backbone(net)
    if config.freeze_backbone:
        if backbone is None:
            raise ValueError(
                f"--freeze-backbone needs a model with a `backbone` sub-model. Received: model={config.model!r}"
            )
    two_stage = config.freeze_backbone and config.fine_tune_epochs > 0
    fine_tune_started = os.path.isdir(os.path.join(backup_root, "fine_tune"))
    if config.freeze_backbone:
        backbone.trainable = False
    if not fine_tune_started:
        fit_stage("train", config.learning_rate, initial_epoch, config.epochs, final=not two_stage)
    if two_stage:
        backbone.trainable = True
        fine_lr = config.fine_tune_learning_rate or config.learning_rate / 10.0
        fit_stage("fine_tune", fine_lr, max(initial_epoch, config.epochs), config.epochs + config.fine_tune_epochs, True)
        if chief and os.path.isdir(os.path.join(backup_root, "train")):
            import shutil

            shutil.rmtree(os.path.join(backup_root, "train"), ignore_errors=True)

    # Final evaluation (every worker takes part), then the chief writes the results.
    test = {}
    if test_ds is not None:
        values = train_model.evaluate(test_ds, verbose=0, return_dict=True)
        test = {k: float(v) for k, v in values.items()}
    result = {
        "model_file": MODEL_FILE,
        "model_selection": "last epoch (checkpoints/best.keras holds the best by " + config.monitor + ")",
        "history": _history(events_path),
        "test": test,
        "best": None,
        "num_replicas": replicas,
        "global_batch_size": batch,
        "steps_per_epoch": steps_per_epoch,
        "seconds": time.time() - started,
    }
    final_model = export_model()
    if chief:
        best_path = os.path.join(checkpoints, "best.json")
        if os.path.isfile(best_path):
            with open(best_path, encoding="utf-8") as f:
                result["best"] = json.load(f)
        with atomic_path(os.path.join(out, MODEL_FILE)) as tmp:
            final_model.save(tmp)
        _write_json(os.path.join(out, METRICS_FILE), result)
        from tfaudio.plots import plot_run  # training_curves.png, confusion_matrix.png (needs matplotlib)

        # Predicting under MultiWorkerMirroredStrategy needs every worker: no confusion plot there.
        multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        plot_run(out, result["history"], list(labels), model=final_model, test_ds=None if multi_worker else test_ds)
    # The backup goes only once the outputs are written: a kill while writing them reruns just
    # the final evaluation and writes from the backup, instead of training again from epoch 0.
    import shutil

    shutil.rmtree(backup_root, ignore_errors=True)
    if test:
        print(f"Test accuracy: {test.get('accuracy', math.nan):.4f}  loss: {test.get('loss', math.nan):.4f}", flush=True)
    return (result, final_model) if return_model else result

