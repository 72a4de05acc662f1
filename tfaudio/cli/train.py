"""`tfaudio train`: fit a registered model on a dataset and write a run folder."""

import argparse
import json

HELP = "Train a registered model on a dataset (fsdd:PATH, folder:PATH, manifest:CSV) and write a run folder."


def _override(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--override takes KEY=VALUE. Received: {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # bare strings need no quotes: --override pooling=global


def add_arguments(parser):
    from tfaudio.training.recipes import RECIPES
    from tfaudio.training.strategy import MIXED_PRECISION, STRATEGIES

    g = parser.add_argument_group("run")
    g.add_argument("--recipe", choices=sorted(RECIPES), default="none",
                   help="Start from a named recipe; flags given on the command line override its values. 'kws' "
                   "(keyword spotting): cosine schedule, lr 3e-3 with 1 warm-up epoch, time shift 0.1 s, background "
                   "noise (0.8, 0.1), SpecAugment (2 x 5 bins, 2 x 0.1 s), label smoothing 0.1 "
                   "(tfaudio.training.recipes.KWS). Defaults to none.")
    g.add_argument("--model", required=True, help="Registered model name (see tfaudio.models.available()).")
    g.add_argument("--data", required=True, help="Data spec: fsdd:PATH, folder:PATH or manifest:CSV.")
    g.add_argument("--epochs", type=int, default=10, help="Training epochs (first stage). Defaults to 10.")
    g.add_argument("--out", required=True, help="Run folder: model.keras, labels.json, metrics.json, run_config.json, "
                   "checkpoints/, backup/, logs/ (TensorBoard).")
    g.add_argument("--sample-rate", type=int, default=16000, help="Audio is resampled to this rate (Hz). Defaults to 16000.")
    g.add_argument("--clip-seconds", type=float, default=1.0, help="Clips are cropped/padded to this length. Defaults to 1.0.")
    g.add_argument("--batch-size", type=int, default=32,
                   help="Batch size per replica; the global batch is this times the replicas. Defaults to 32.")
    g.add_argument("--seed", type=int, default=0, help="Seed of weights, shuffling and augmentation. Defaults to 0.")
    g.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="Model constructor override, VALUE in JSON (e.g. --override dense_units=[256]). Repeatable.")
    g.add_argument("--resume", action="store_true",
                   help="Continue a finished or stopped run in --out from checkpoints/last.keras (e.g. with more "
                   "--epochs). An interrupted run resumes from backup/ by itself when the same command is rerun.")
    g.add_argument("--steps-per-epoch", type=int, default=None, help="Limit the steps of an epoch (default: whole dataset).")
    g.add_argument("--backup-every-steps", type=int, default=None,
                   help="Back up training state every N steps as well as at epoch ends (default: epoch ends only).")
    g.add_argument("--cache", default="memory", help="Cache decoded clips: 'memory', a folder for an on-disk cache, or 'none'. Defaults to memory.")
    g.add_argument("--quiet", action="store_true", help="No Keras progress bars (one line per epoch).")

    g = parser.add_argument_group("optimisation")
    g.add_argument("--learning-rate", type=float, default=1e-3, help="Peak learning rate. Defaults to 1e-3.")
    g.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="adam", help="Defaults to adam.")
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay.")
    g.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                   help="Learning-rate schedule: constant, or linear warm-up then cosine decay. Defaults to constant.")
    g.add_argument("--warmup-epochs", type=float, default=0.0, help="Warm-up length for --schedule cosine.")
    g.add_argument("--min-learning-rate", type=float, default=0.0, help="Final learning rate of the cosine decay.")
    g.add_argument("--early-stopping", type=int, default=0, metavar="PATIENCE",
                   help="Stop after PATIENCE epochs without improvement of --monitor (0: off).")
    g.add_argument("--monitor", default="val_loss", help="Metric for early stopping and best.keras. Defaults to val_loss.")

    g = parser.add_argument_group("distribution and precision")
    g.add_argument("--strategy", choices=STRATEGIES, default="auto",
                   help="auto: multi_worker when TF_CONFIG lists >1 worker, mirrored with >1 GPU, else one_device.")
    g.add_argument("--mixed-precision", choices=MIXED_PRECISION, default="none",
                   help="Mixed precision; frontends and logits stay float32. Defaults to none.")

    g = parser.add_argument_group("augmentation (training only; absent from exported models)")
    g.add_argument("--spec-augment", action="store_true", help="SpecAugment time/frequency masks after the frontend.")
    g.add_argument("--freq-mask", type=int, default=10, help="SpecAugment F: widest frequency mask (bins/filters).")
    g.add_argument("--num-freq-masks", type=int, default=2, help="SpecAugment m_F.")
    g.add_argument("--time-mask-seconds", type=float, default=0.1, help="SpecAugment T, in seconds.")
    g.add_argument("--num-time-masks", type=int, default=2, help="SpecAugment m_T.")
    g.add_argument("--time-warp", type=int, default=0, metavar="W",
                   help="SpecAugment time warp W, in frames of the frontend's output (0: off; Park et al. use 80 "
                   "on LibriSpeech, 40 on Switchboard, at 100 frames/s). Needs --spec-augment. Defaults to 0.")
    g.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA", help="Mixup with Beta(ALPHA, ALPHA) (0: off).")
    g.add_argument("--noise", action="store_true", help="Additive white noise at a random SNR.")
    g.add_argument("--noise-dir", default=None, help="Additive noise from the audio files in this folder.")
    g.add_argument("--snr-db", type=float, nargs=2, default=(5.0, 40.0), metavar=("MIN", "MAX"),
                   help="SNR range of additive noise in dB. Defaults to 5 40.")
    g.add_argument("--gain-db", type=float, default=0.0, help="Random gain in [-G, G] dB (0: off).")
    g.add_argument("--time-shift", type=float, default=0.0, metavar="SECONDS", help="Random time shift up to SECONDS.")
    g.add_argument("--speed-perturbation", type=float, default=0.0, metavar="X",
                   help="Random speed (tempo and pitch) factor in [1-X, 1+X], e.g. 0.1 (0: off).")
    g.add_argument("--equalizer-db", type=float, default=0.0, metavar="DB",
                   help="Random smooth frequency response of +-DB dB per clip, as another microphone (0: off).")
    g.add_argument("--augment-probability", type=float, default=1.0, help="Chance each waveform augmentation applies.")
    g.add_argument("--background-noise", action="store_true",
                   help="Mix in background noise as the TensorFlow speech_commands training does: a random excerpt "
                   "at volume U[0, --background-volume] into --background-frequency of the clips. The noise is the "
                   "data's own (speech_commands: _background_noise_, or the training split's _silence_ clips) "
                   "unless --background-noise-dir is given.")
    g.add_argument("--background-noise-dir", default=None, help="Folder of noise recordings for --background-noise.")
    g.add_argument("--background-frequency", type=float, default=0.8, help="Share of clips that get background noise. Defaults to 0.8.")
    g.add_argument("--background-volume", type=float, default=0.1, help="Largest background-noise volume. Defaults to 0.1.")
    g.add_argument("--label-smoothing", type=float, default=0.0, help="Label smoothing of the cross-entropy (0: off).")

    g = parser.add_argument_group("two-stage fine-tuning (models with a backbone)")
    g.add_argument("--freeze-backbone", action="store_true", help="Train the head only for --epochs.")
    g.add_argument("--fine-tune-epochs", type=int, default=0, help="Then unfreeze the backbone for this many epochs.")
    g.add_argument("--fine-tune-learning-rate", type=float, default=None,
                   help="Learning rate of the fine-tuning stage. Defaults to --learning-rate / 10.")
    parser.add_argument("--precise-bn", type=int, default=0, metavar="BATCHES",
                        help="After training, re-estimate BatchNorm statistics on this many training batches "
                        "(precise BN; deep CNNs after short runs need it). 0: off. Defaults to 0.")
    # What each flag defaults to, so that --recipe fills in only the flags the user left alone.
    parser.set_defaults(flag_defaults={a.dest: a.default for a in parser._actions if a.dest != "help"})


# `--recipe` field -> the flag's attribute on `args`, where the names differ.
_FLAG_OF_FIELD = {"time_shift_seconds": "time_shift", "freq_mask_param": "freq_mask"}


def config_from_args(args):
    """The `TrainConfig` of parsed arguments: flags left at their default take the `--recipe` value."""
    from tfaudio.training import TrainConfig
    from tfaudio.training.recipes import recipe_fields

    recipe = recipe_fields(getattr(args, "recipe", "none") or "none")
    if recipe:
        defaults = getattr(args, "flag_defaults", {})
        args = argparse.Namespace(**vars(args))
        for field, value in recipe.items():
            flag = _FLAG_OF_FIELD.get(field, field)
            if getattr(args, flag) == defaults.get(flag):
                setattr(args, flag, value)
    return TrainConfig(
        model=args.model,
        data=args.data,
        out=args.out,
        epochs=args.epochs,
        sample_rate=args.sample_rate,
        clip_seconds=args.clip_seconds,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup_epochs=args.warmup_epochs,
        min_learning_rate=args.min_learning_rate,
        early_stopping_patience=args.early_stopping,
        monitor=args.monitor,
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        seed=args.seed,
        overrides=dict(_override(o) for o in args.override),
        spec_augment=args.spec_augment,
        freq_mask_param=args.freq_mask,
        num_freq_masks=args.num_freq_masks,
        time_mask_seconds=args.time_mask_seconds,
        num_time_masks=args.num_time_masks,
        time_warp_param=args.time_warp,
        mixup=args.mixup,
        noise=args.noise,
        noise_dir=args.noise_dir,
        min_snr_db=args.snr_db[0],
        max_snr_db=args.snr_db[1],
        gain_db=args.gain_db,
        time_shift_seconds=args.time_shift,
        speed_perturbation=args.speed_perturbation,
        equalizer_db=args.equalizer_db,
        augment_probability=args.augment_probability,
        background_noise=args.background_noise,
        background_noise_dir=args.background_noise_dir,
        background_frequency=args.background_frequency,
        background_volume=args.background_volume,
        label_smoothing=args.label_smoothing,
        freeze_backbone=args.freeze_backbone,
        fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_learning_rate=args.fine_tune_learning_rate,
        resume=args.resume,
        steps_per_epoch=args.steps_per_epoch,
        backup_every_steps=args.backup_every_steps,
        cache=None if args.cache == "none" else args.cache,
        precise_bn_batches=args.precise_bn,
        verbose=2 if args.quiet else "auto",
    )


def run(args):
    from tfaudio.training import train

    config = config_from_args(args)  # bad values raise ValueError: `tfaudio.cli.main` prints one error line
    result = train(config)
    test = result.get("test") or {}
    print(f"Wrote {config.out}/model.keras (last epoch); test accuracy {test.get('accuracy', float('nan')):.4f}")
    return 0


def main(argv=None):
    """`python -m tfaudio.cli.train ...` (same as `tfaudio train ...`)."""
    import sys

    from tfaudio.cli.main import main as tfaudio_main

    return tfaudio_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    import sys

    sys.exit(main())
