"""Does augmentation help on FSDD? SincNet and one image backbone, with vs without augmentation.

Each (model, augmentation) pair is one `tfaudio.training.train` run on the FSDD official split
(takes 0-4 of every speaker and digit are the test set), same seed, epochs and sizes; the only
difference is the augmentation:
  * none;
  * "aug": SpecAugment after the frontend, additive white noise at a random SNR, random gain,
    time shift, with the `--policy` sizes ("mild": F=4, T=0.05 s, SNR 20-40 dB, each applied with
    probability 0.5; "strong": F=8, T=0.1 s, SNR 10-40 dB, probability 0.8; see POLICIES); plus
    mixup with `--mixup ALPHA`.
Sizes are small by default so that the four runs fit a shared 2-core machine; pass
`--sincnet-overrides` / `--cnn-overrides` (JSON) and `--epochs` for the full models.
Output: JSON + a markdown table under benchmarks/results/ (test accuracy of the last epoch, and the
best validation accuracy; FSDD has no separate validation split, so the latter is optimistic).

Run: python benchmarks/augmentation.py [--epochs 12] [--policy mild|strong] [--models sincnet squeezenet] [--mixup 0.2] [--name NAME]
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HERE = os.path.dirname(os.path.abspath(__file__))
SINCNET = {
    "sinc_filters": 32,
    "sinc_kernel_size": 101,
    "conv_filters": [32, 32],
    "dense_units": [128],
    "pool_sizes": [4, 4, 4],
    "global_pooling": "avg",
    "dropout": 0.1,
}
CNN = {"num_mel_bins": 40, "width_multiplier": 0.5}
POLICIES = {
    # Mild: masks and noise that leave most of a ~0.5 s spoken digit intact.
    "mild": dict(
        spec_augment=True,
        freq_mask_param=4,
        num_freq_masks=2,
        time_mask_seconds=0.05,
        num_time_masks=2,
        noise=True,
        min_snr_db=20.0,
        max_snr_db=40.0,
        gain_db=6.0,
        time_shift_seconds=0.1,
        augment_probability=0.5,
    ),
    # Strong: up to 0.2 s of time masks on a clip whose digit lasts ~0.5 s, SNR down to 10 dB.
    "strong": dict(
        spec_augment=True,
        freq_mask_param=8,
        num_freq_masks=2,
        time_mask_seconds=0.1,
        num_time_masks=2,
        noise=True,
        min_snr_db=10.0,
        max_snr_db=40.0,
        gain_db=6.0,
        time_shift_seconds=0.1,
        augment_probability=0.8,
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd", default=os.environ.get("TFAUDIO_FSDD", os.path.join(HERE, "..", "..", "shared", "data", "fsdd")))
    parser.add_argument("--models", nargs="+", default=["sincnet", "squeezenet"])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--policy", choices=sorted(POLICIES), default="mild")
    parser.add_argument("--mixup", type=float, default=0.0, help="Add mixup with this alpha to the augmented runs.")
    parser.add_argument("--sincnet-overrides", default=json.dumps(SINCNET))
    parser.add_argument("--cnn-overrides", default=json.dumps(CNN))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="Run folders (default: a temporary folder).")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="augmentation", help="Base name of the result files.")
    args = parser.parse_args()

    from tfaudio.training import TrainConfig, train

    workdir = args.workdir or tempfile.mkdtemp(prefix="tfaudio_aug_")
    augment = dict(POLICIES[args.policy], mixup=args.mixup) if args.mixup else POLICIES[args.policy]
    results = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
               "seed": args.seed, "augmentation": augment, "cores": os.cpu_count(), "platform": platform.platform(),
               "runs": []}
    for name in args.models:
        overrides = json.loads(args.sincnet_overrides if name == "sincnet" else args.cnn_overrides)
        for label, options in (("none", {}), ("aug", augment)):
            config = TrainConfig(
                model=name, data=f"fsdd:{args.fsdd}", out=os.path.join(workdir, f"{name}-{label}"), epochs=args.epochs,
                sample_rate=8000, clip_seconds=1.0, batch_size=args.batch_size, learning_rate=args.learning_rate,
                schedule="cosine", warmup_epochs=0.5, seed=args.seed, overrides=overrides, strategy="one_device",
                monitor="val_accuracy", verbose=2, **options,
            )  # fmt: skip
            start = time.time()
            metrics = train(config)
            run = {
                "model": name,
                "augmentation": label,
                "overrides": overrides,
                "test_accuracy": metrics["test"]["accuracy"],
                "best_val_accuracy": max(r.get("val_accuracy", 0.0) for r in metrics["history"]),
                "seconds": time.time() - start,
            }
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, f"{args.name}.json"), "w") as f:
                json.dump(results, f, indent=2)

    lines = [
        f"FSDD official split (2700 train / 300 test clips, 8 kHz, 1 s), {args.epochs} epochs, batch "
        f"{args.batch_size}, Adam {args.learning_rate} warm-up + cosine, seed {args.seed}, {os.cpu_count()} shared cores.",
        f"Augmentation 'aug' ({args.policy}): " + ", ".join(f"{k}={v}" for k, v in augment.items()),
        "",
        "| model (overrides) | augmentation | test accuracy (last epoch) | best val accuracy | minutes |",
        "|---|---|---|---|---|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['model']} {json.dumps(r['overrides'])} | {r['augmentation']} | {r['test_accuracy'] * 100:.2f}% | "
            f"{r['best_val_accuracy'] * 100:.2f}% | {r['seconds'] / 60:.1f} |"
        )
    with open(os.path.join(args.out, f"{args.name}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
