"""Datasets from a CSV manifest with columns `path,label[,split]`."""

import csv
import os

from tfaudio.data.split import DataSplits, Split, label_index, stratified_split


def _names(value, arg):
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"`{arg}` must be a split name or a list of them. Received: {arg}={value!r}")
    return names


VALIDATION_NAMES = ("validation", "valid", "val", "dev")


def manifest_files(
    csv_path, validation_split=None, split_seed=0, train_split="train", test_split="test", val_split=VALIDATION_NAMES
):
    """File lists of a CSV manifest, without TensorFlow.

    The CSV has a header row naming the columns `path` and `label`, and optionally `split`
    (other columns are ignored). Relative paths are resolved against the CSV's folder.
    Labels are the sorted distinct values of the `label` column.

    Args:
        csv_path: str or path-like. The manifest.
        validation_split: float in (0, 1) or None. Only without a `split` column: per-class
            fraction held out as the test split. Defaults to None.
        split_seed: int. Seed of that held-out selection. Defaults to 0.
        train_split: str or list of str. `split` values of training rows. Defaults to "train".
        test_split: str or list of str. `split` values of test rows. Defaults to "test".
        val_split: str or list of str. `split` values of validation rows (model selection, kept
            apart from the test rows); values also named in `train_split`/`test_split` go there.
            Defaults to ("validation", "valid", "val", "dev").
            A row whose split is in none of them raises ValueError (rows are never dropped silently).

    Returns:
        `DataSplits` `(train, test, labels)`: `Split`s (test None when there is no split column
        and no `validation_split`, or no test rows; train empty when no row is a training row,
        e.g. a manifest of test files only) and the labels; `.validation` the validation rows
        (None without any).
    """
    csv_path = os.fspath(csv_path)
    train_names, test_names = _names(train_split, "train_split"), _names(test_split, "test_split")
    val_names = tuple(n for n in _names(val_split, "val_split") if n not in train_names + test_names)
    if not os.path.isfile(csv_path):
        raise ValueError(f"Manifest not found. Received: csv_path={csv_path!r}")
    base = os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = [c.strip() for c in (reader.fieldnames or [])]
        if "path" not in fields or "label" not in fields:
            raise ValueError(f"{csv_path}: the first row must name the columns path,label[,split]; found {fields}")
        has_split = "split" in fields
        rows = []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if not row.get("path") or not row.get("label"):
                raise ValueError(f"{csv_path}, line {line}: empty path or label: {row}")
            path = row["path"] if os.path.isabs(row["path"]) else os.path.join(base, row["path"])
            rows.append((os.path.normpath(path), row["label"], row.get("split", "")))
    if not rows:
        raise ValueError(f"{csv_path}: the manifest lists no files.")
    labels, index = label_index(label for _, label, _ in rows)
    if not has_split:
        paths, ids = [p for p, _, _ in rows], [index[y] for _, y, _ in rows]
        if validation_split is None:
            return DataSplits(Split(paths, ids), None, labels)
        train, test = stratified_split(paths, ids, validation_split, seed=split_seed)
        return DataSplits(train, test, labels)
    if validation_split is not None:
        raise ValueError(
            f"{csv_path} has a split column; `validation_split` only applies without one. "
            f"Received: validation_split={validation_split!r}"
        )
    unknown = sorted({s for _, _, s in rows} - set(train_names) - set(test_names) - set(val_names))
    if unknown:
        raise ValueError(
            f"{csv_path}: split values {unknown} are none of train_split={train_names}, test_split={test_names}, "
            f"val_split={val_names}; pass them in one of those arguments."
        )
    train = [(p, index[y]) for p, y, s in rows if s in train_names]
    test = [(p, index[y]) for p, y, s in rows if s in test_names]
    validation = [(p, index[y]) for p, y, s in rows if s in val_names]
    as_split = lambda pairs: Split([p for p, _ in pairs], [y for _, y in pairs])  # noqa: E731
    return DataSplits(
        as_split(train), as_split(test) if test else None, labels, as_split(validation) if validation else None
    )


def from_manifest(
    csv_path, sample_rate=16000, clip_seconds=1.0, batch_size=32, validation_split=None, split_seed=0,
    train_split="train", test_split="test", val_split=VALIDATION_NAMES, **kwargs,
):
    """A CSV-manifest dataset (`path,label[,split]`) as `tf.data` pipelines.

    Args:
        csv_path: str or path-like. The manifest (see `manifest_files`).
        sample_rate: int. Files are resampled to this rate. Defaults to 16000.
        clip_seconds: float or None. Crop/pad length. Defaults to 1.0.
        batch_size: int. Defaults to 32.
        validation_split, split_seed, train_split, test_split, val_split: see `manifest_files`.
        **kwargs: passed to `tfaudio.data.build_datasets` (`seed`, `cache`, ...).

    Returns:
        `DataSplits` `(train_ds, test_ds, labels)` as `tfaudio.data.fsdd` does, with the
        validation rows' dataset as `.validation`. A manifest without training rows raises
        ValueError here (use `manifest_files`, or `tfaudio evaluate`, to read its other rows).
    """
    files = manifest_files(
        csv_path,
        validation_split=validation_split,
        split_seed=split_seed,
        train_split=train_split,
        test_split=test_split,
        val_split=val_split,
    )
    train, test, labels = files
    if not len(train):
        raise ValueError(f"{csv_path}: no rows with split in {_names(train_split, 'train_split')}, nothing to train on.")
    from tfaudio.data.pipeline import build_datasets  # TensorFlow only when datasets are built

    return build_datasets(
        train, test, labels, sample_rate=sample_rate, clip_seconds=clip_seconds, batch_size=batch_size,
        validation=files.validation, **kwargs,
    )
