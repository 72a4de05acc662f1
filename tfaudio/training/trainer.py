"""The fit loop behind `tfaudio train`, usable from scripts: the run's stages, checkpoints, resume.

The parts it is made of live beside it: `config` (TrainConfig), `data` (datasets),
`model_wrapping` (augmentation, float32 frontends), `optimizers`, `strategy` and
`multi_worker_patch`, `batch_norm` (precise BN), `run_folder` (the files written).

Example:
>>> from tfaudio.training import TrainConfig, train
>>> result = train(TrainConfig(model="sincnet", data="fsdd:/data/fsdd", epochs=10,
...                            sample_rate=8000, out="runs/sincnet"))
>>> result["test"]["accuracy"]
"""

import json
import math
import os
import shutil
import time

import tensorflow as tf

from tfaudio.atomic import atomic_path, write_json
from tfaudio.backend import keras
from tfaudio.data.spec import absolute_spec
from tfaudio.training import callbacks as cb
from tfaudio.training import losses, run_folder, strategy as strategies
from tfaudio.training.batch_norm import reestimate_batch_norm
from tfaudio.training.config import TrainConfig  # noqa: F401  (the argument of `train`)
from tfaudio.training.data import count_batches, load_data, prepare_datasets, prepare_eval_dataset
from tfaudio.training.model_wrapping import find_backbone, training_model
from tfaudio.training.multi_worker_patch import patch_multi_worker_build
from tfaudio.training.optimizers import make_optimizer
from tfaudio.training.run_folder import EVENTS_FILE, LABELS_FILE, METRICS_FILE, MODEL_FILE, RUN_CONFIG_FILE


def train(config, data=None, model=None, return_model=False, callbacks=None):
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
        callbacks: optional list of extra `keras.callbacks.Callback`s, given to
            every `fit` stage after tfaudio's own (so their `on_epoch_end` sees the
            epoch's checkpoints written; benchmarks/train_speed.py times epochs this way).

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
    With `config.precise_bn_batches`, BatchNorm statistics are re-estimated
    after the last stage (`tfaudio.training.batch_norm`), before the final
    test and `model.keras`; checkpoints keep the statistics of training.

    Returns:
        The metrics dict also written to `metrics.json`; with `return_model`,
        `(metrics, model)`.
    """
    config.validate()
    strategy = strategies.get_strategy(config.strategy)  # first: multi-worker needs a fresh TF context
    policy = keras.mixed_precision.global_policy()
    strategies.set_mixed_precision(config.mixed_precision)
    try:
        return _train(config, data, model, return_model, strategy, callbacks)
    finally:
        keras.mixed_precision.set_global_policy(policy)


class _Run:
    """What the stages of one run share: config, strategy, paths, datasets, the model and its training wrapper."""

    def __init__(self, config, strategy, extra_callbacks=()):
        self.config = config
        self.extra_callbacks = list(extra_callbacks or ())
        self.strategy = strategy
        self.chief = strategies.is_chief(strategy)
        self.replicas = strategy.num_replicas_in_sync
        self.batch = strategies.global_batch_size(config.batch_size, strategy)
        self.out = os.path.abspath(config.out)
        # Other workers keep their backup and log apart; only the chief writes the run folder.
        self.work = self.out if self.chief else os.path.join(self.out, "workers", "-".join(map(str, strategies.task_id())))
        self.checkpoints = os.path.join(self.out, "checkpoints")
        self.events_path = os.path.join(self.work, EVENTS_FILE)
        self.backup_root = os.path.join(self.work, "backup")

    def check_folder(self):
        os.makedirs(self.work, exist_ok=True)
        self.has_backup = run_folder.has_backup(self.backup_root)
        if self.chief and run_folder.is_finished(self.out) and not self.has_backup and not self.config.resume:
            raise ValueError(
                f"{self.out} already holds a finished run ({MODEL_FILE}). Pass resume=True (--resume) to continue it "
                f"from checkpoints/last.keras, or choose another output folder. Received: out={self.config.out!r}"
            )

    def load_data(self, data):
        config = self.config
        if data is None:
            data = load_data(config, self.batch)
        elif callable(data):
            data = data(self.batch)
        train_ds, test_ds, labels = data
        self.labels = list(labels)
        num_classes = len(labels)
        self.steps_per_epoch = config.steps_per_epoch or count_batches(train_ds)
        # Unaugmented training batches, for re-estimating BatchNorm statistics.
        self.plain_train_ds = train_ds
        self.train_ds, self.test_ds = prepare_datasets(train_ds, test_ds, num_classes, config)
        # A source's validation split (tfaudio.data.DataSplits.validation) selects the model; test only measures it.
        val_ds = prepare_eval_dataset(getattr(data, "validation", None), num_classes, config)
        self.selection_ds = val_ds if val_ds is not None else self.test_ds

    def write_run_config(self):
        if not self.chief:
            return
        write_json(os.path.join(self.out, LABELS_FILE), self.labels)
        run_config = self.config.to_json()
        run_config.update(
            {"out": self.out, "labels": self.labels, "num_replicas": self.replicas, "global_batch_size": self.batch}
        )
        # Paths as absolute ones, so `tfaudio evaluate RUN` works from any directory.
        noise_dir = self.config.noise_dir and os.path.abspath(self.config.noise_dir)
        run_config.update(data=absolute_spec(self.config.data), noise_dir=noise_dir)
        write_json(os.path.join(self.out, RUN_CONFIG_FILE), run_config)

    def build(self):
        """A fresh model from the registry (or the caller's builder)."""
        config = self.config
        if self.model_fn is not None:
            return self.model_fn(len(self.labels))
        from tfaudio.models import build as build_model

        return build_model(
            config.model, len(self.labels), sample_rate=config.sample_rate, clip_seconds=config.clip_seconds,
            **config.overrides,
        )  # fmt: skip

    def build_models(self, model_fn):
        """The model, its resumed weights, and the training wrapper, under the strategy."""
        self.model_fn = model_fn
        self.initial_epoch, resume_weights = 0, None
        last = os.path.join(self.checkpoints, "last.keras")
        if self.config.resume and not self.has_backup and os.path.isfile(last):
            # --resume of a finished/stopped run (single machine: other workers have no checkpoints/).
            resume_weights = keras.models.load_model(last).get_weights()
            resumed = [r["epoch"] for r in run_folder.history(self.events_path)]
            self.initial_epoch = max(resumed) + 1 if resumed else 0
            print(f"Resuming from checkpoints/last.keras at epoch {self.initial_epoch}.", flush=True)
        with self.strategy.scope():
            self.net = self.build()
            if resume_weights is not None:
                self.net.set_weights(resume_weights)  # before wrapping: re-created float32 frontends copy these
            self.train_model, self.sync_back = training_model(self.net, self.config)
        patch_multi_worker_build(self.train_model, self.strategy)

    def export_model(self):
        """The clean float32 model with the current weights."""
        self.sync_back()
        if self.config.mixed_precision == "none":
            return self.net
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            clean = self.build()
        finally:
            keras.mixed_precision.set_global_policy(policy)
        clean.set_weights(self.net.get_weights())
        return clean

    def fit_stage(self, stage, learning_rate, first_epoch, last_epoch, final):
        """Compiles for `stage` and fits epochs `[first_epoch, last_epoch)`, backed up under backup/STAGE."""
        config = self.config
        soft = bool(config.mixup or config.label_smoothing)
        total = max(last_epoch - first_epoch, 1) * self.steps_per_epoch
        with self.strategy.scope():
            optimizer = make_optimizer(config, learning_rate, total, int(config.warmup_epochs * self.steps_per_epoch))
            self.train_model.compile(
                optimizer=optimizer,
                loss=losses.classification_loss(soft_labels=soft, label_smoothing=config.label_smoothing),
                metrics=[losses.accuracy_metric(soft_labels=soft)],
                jit_compile=False,
            )
        # The log first: an epoch is logged before it is backed up, so a kill between the two
        # re-runs a logged epoch (its new row wins) rather than losing a row.
        callbacks = [
            cb.EpochLog(self.events_path, stage=stage),
            cb.AtomicBackupAndRestore(
                os.path.join(self.backup_root, stage),
                restore_dir=os.path.join(self.out, "backup", stage),  # every worker restores the chief's backup
                save_freq=config.backup_every_steps or "epoch",
                delete_checkpoint=False,
            ),
        ]
        if self.chief:
            monitor = config.monitor if self.selection_ds is not None else config.monitor.replace("val_", "")
            mode = "max" if "acc" in monitor else "min"
            callbacks.append(cb.ModelCheckpoints(self.checkpoints, self.export_model, monitor=monitor, mode=mode))
            if _tensorboard_available():
                logs = os.path.join(self.out, "logs")
                callbacks.append(keras.callbacks.TensorBoard(logs, write_graph=False, profile_batch=0))
        if config.early_stopping_patience:
            callbacks.append(keras.callbacks.EarlyStopping(monitor=config.monitor, patience=config.early_stopping_patience))
        callbacks += self.extra_callbacks
        self.train_model.fit(
            self.train_ds,
            validation_data=self.selection_ds,
            epochs=last_epoch,
            initial_epoch=first_epoch,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself
            verbose=config.verbose,
        )

    def fit_stages(self):
        """"train", then with a frozen backbone and `fine_tune_epochs`, "fine_tune" with the backbone trainable."""
        config = self.config
        backbone = find_backbone(self.net)
        if config.freeze_backbone and backbone is None:
            raise ValueError(
                f"--freeze-backbone needs a model with a `backbone` sub-model. Received: model={config.model!r}"
            )
        two_stage = config.freeze_backbone and config.fine_tune_epochs > 0
        if config.freeze_backbone:
            backbone.trainable = False
        if not os.path.isdir(os.path.join(self.backup_root, "fine_tune")):
            self.fit_stage("train", config.learning_rate, self.initial_epoch, config.epochs, final=not two_stage)
        if two_stage:
            backbone.trainable = True
            fine_lr = config.fine_tune_learning_rate or config.learning_rate / 10.0
            first = max(self.initial_epoch, config.epochs)
            self.fit_stage("fine_tune", fine_lr, first, config.epochs + config.fine_tune_epochs, final=True)
            if self.chief:
                shutil.rmtree(os.path.join(self.backup_root, "train"), ignore_errors=True)
        if config.precise_bn_batches:
            updated = reestimate_batch_norm(self.net, self.plain_train_ds, batches=config.precise_bn_batches)
            print(f"Re-estimated the statistics of {updated} BatchNorm layers on {config.precise_bn_batches} batches.")

    def finish(self, started):
        """Final test (every worker takes part); the chief writes model.keras, metrics.json and the plots."""
        test = {}
        if self.test_ds is not None:
            values = self.train_model.evaluate(self.test_ds, verbose=0, return_dict=True)
            test = {k: float(v) for k, v in values.items()}
        result = {
            "model_file": MODEL_FILE,
            "model_selection": "last epoch (checkpoints/best.keras holds the best by " + self.config.monitor + ")",
            "history": run_folder.history(self.events_path),
            "test": test,
            "best": None,
            "num_replicas": self.replicas,
            "global_batch_size": self.batch,
            "steps_per_epoch": self.steps_per_epoch,
            "seconds": time.time() - started,
        }
        final_model = self.export_model()
        if self.chief:
            best_path = os.path.join(self.checkpoints, "best.json")
            if os.path.isfile(best_path):
                with open(best_path, encoding="utf-8") as f:
                    result["best"] = json.load(f)
            cb.cache_keras_saving_skipsets()
            with atomic_path(os.path.join(self.out, MODEL_FILE)) as tmp:
                final_model.save(tmp)
            write_json(os.path.join(self.out, METRICS_FILE), result)
            from tfaudio.plots import plot_run  # training_curves.png, confusion_matrix.png (needs matplotlib)

            # Predicting under MultiWorkerMirroredStrategy needs every worker: no confusion plot there.
            multi_worker = isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)
            test_ds = None if multi_worker else self.test_ds
            plot_run(self.out, result["history"], self.labels, model=final_model, test_ds=test_ds)
        # The backup goes only once the outputs are written: a kill while writing them reruns just
        # the final evaluation and writes from the backup, instead of training again from epoch 0.
        shutil.rmtree(self.backup_root, ignore_errors=True)
        if test:
            print(f"Test accuracy: {test.get('accuracy', math.nan):.4f}  loss: {test.get('loss', math.nan):.4f}", flush=True)
        return result, final_model


def _train(config, data, model, return_model, strategy, callbacks=None):
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    run = _Run(config, strategy, callbacks)
    run.check_folder()
    run.load_data(data)
    run.write_run_config()
    run.build_models(model)
    run.fit_stages()
    result, final_model = run.finish(started)
    return (result, final_model) if return_model else result


def _tensorboard_available():
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it)
    except ImportError:
        print("TensorBoard is not installed (pip install tensorboard): no logs/ written.", flush=True)
        return False
    return True
