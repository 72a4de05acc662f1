"""`tfaudio download NAME`: fetch a public dataset into the cache (or --root) and print its data spec."""

HELP = "Download a dataset (fsdd, speech_commands, speech_commands_test, esc50) and print its data spec."

# name -> what it is, for --help
DESCRIPTIONS = {
    "fsdd": "Free Spoken Digit Dataset, ~10 MB, 3,000 digits from 6 speakers (8 kHz)",
    "speech_commands": "Speech Commands v0.02, 2.4 GB, 35 words, official train/validation/test lists",
    "speech_commands_test": "Speech Commands v0.02 official 12-class test set, ~112 MB (the main job's data)",
    "esc50": "ESC-50 environmental sounds, ~600 MB, 50 classes in 5 folds",
}


def add_arguments(parser):
    from tfaudio.data import download as dl

    parser.add_argument("name", choices=dl.NAMES,
                        help="; ".join(f"{name}: {DESCRIPTIONS[name]}" for name in dl.NAMES))
    parser.add_argument("--root", default=None,
                        help="Folder to download into (a sub-folder per dataset). Defaults to $TFAUDIO_CACHE/datasets "
                        "or ~/.cache/tfaudio/datasets.")
    parser.add_argument("--url", default=None, help="Download from this URL instead (a mirror, or file:// for a local archive).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")


def run(args):
    from tfaudio.data import download as dl

    try:
        spec = dl.download(args.name, root=args.root, url=args.url, quiet=args.quiet)
    except (ValueError, OSError) as e:  # checksum, layout, network (urllib's URLError is an OSError)
        raise SystemExit(f"error: tfaudio download {args.name}: {e}") from None
    print(spec)
    return 0
