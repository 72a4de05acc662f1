"""Metadata inside a `.tflite` flatbuffer: tfaudio's own JSON, and the standard TFLite Model Metadata.

Two entries of the TFLite schema's `metadata` table, side by side:

- "tfaudio": a JSON dict that tfaudio's runner reads (labels, sample rate,
  clip length, whether the output is `"probabilities"` or `"logits"`, and
  `"input_normalization"` when a runner must peak-normalise inputs itself).
- "TFLITE_METADATA": the standard `ModelMetadata` flatbuffer (metadata schema
  1.3.0: model name, description and version; the input's `AudioProperties`
  with sample rate and channels; the output's label file as a
  `TENSOR_AXIS_LABELS` associated file). The label file itself is a ZIP
  archive appended to the end of the `.tflite` file, which is how the TFLite
  metadata populator packs associated files. MediaPipe's `AudioClassifier`
  (Android, iOS, web, Python) and the TFLite Task Library read it.

The standard entry is encoded by `tfaudio.export.metadata_flatbuffer` with the
`flatbuffers` package (a TensorFlow dependency), byte for byte as the schema's
generated code packs it: no MediaPipe or tflite-support needed to write or read it.
`tfaudio.runtime.read_metadata` reads tfaudio's entry without TensorFlow.
"""

import io
import json
import zipfile

from tfaudio.export import metadata_flatbuffer
from tfaudio.runtime.metadata import (  # noqa: F401  (read_metadata re-exported)
    METADATA_NAME,
    metadata_entries,
    model_bytes,
    read_metadata,
)

STANDARD_METADATA_NAME = "TFLITE_METADATA"
LABEL_FILE = "labels.txt"

# AudioProperties arrived in metadata schema 1.3.0; nothing newer is written.
MIN_PARSER_VERSION = "1.3.0"


def _set_metadata_buffer(model, name, payload):
    """Stores `payload` (bytes) as the buffer of metadata entry `name` of a `ModelT`, replacing any."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema

    model.metadata = [m for m in (model.metadata or []) if m.name.decode() != name]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(payload, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name.encode()
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)


def write_metadata(flatbuffer, metadata):
    """Returns `flatbuffer` (bytes) with `metadata` (a JSON-serialisable dict) stored under "tfaudio"."""
    from tensorflow.lite.tools import flatbuffer_utils

    payload = json.dumps(metadata, sort_keys=True).encode("utf-8")
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(_strip_archive(flatbuffer)))
    _set_metadata_buffer(model, METADATA_NAME, payload)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _check_labels(labels):
    labels = [str(label) for label in labels]
    bad = [label for label in labels if not label or "\n" in label or "\r" in label]
    if bad:
        raise ValueError(
            f"Labels must be non-empty and single-line (the label file has one per line). Received: {bad!r}"
        )
    return labels


def build_model_metadata(
    labels, sample_rate, channels=1, name="tfaudio_classifier", description="", version="1", author="tfaudio"
):
    """Serialised `ModelMetadata` flatbuffer of a single-input, single-output audio classifier.

    Args:
        labels: list of str. One per output class, in output order.
        sample_rate: int. The input's sample rate in Hz (MediaPipe resamples to it).
        channels: int. Interleaved channels in the input tensor. Defaults to 1.
        name, description, version, author: str. Shown by metadata readers.

    Returns:
        bytes, with the "M001" file identifier and `min_parser_version` set.
    """
    labels = _check_labels(labels)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"`sample_rate` must be a positive int (Hz). Received: sample_rate={sample_rate!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"`channels` must be a positive int. Received: channels={channels!r}")

    audio_input = {
        "name": "audio_clip",
        "description": (
            f"Float32 waveform in [-1, 1]: {channels} channel(s) at {sample_rate} Hz, any level "
            "(the graph normalises what the model needs)."
        ),
        "content": {
            "content_properties_type": "AudioProperties",
            "content_properties": {"sample_rate": sample_rate, "channels": channels},
        },
    }
    output = {
        "name": "probability",
        "description": f"Probabilities of the {len(labels)} classes (softmax; they sum to 1).",
        "content": {"content_properties_type": "FeatureProperties", "content_properties": {}},
        "stats": {"max": [1.0], "min": [0.0]},
        "associated_files": [
            {
                "name": LABEL_FILE,
                "description": "Class names, one per line, in output order.",
                "type": "TENSOR_AXIS_LABELS",
            }
        ],
    }
    return metadata_flatbuffer.encode(
        {
            "name": name,
            "description": description,
            "version": str(version),
            "subgraph_metadata": [{"input_tensor_metadata": [audio_input], "output_tensor_metadata": [output]}],
            "author": author,
            "min_parser_version": MIN_PARSER_VERSION,
        }
    )


def _strip_archive(data):
    """`data` without a ZIP archive appended to the flatbuffer (the associated files), if it has one."""
    data = bytes(data)
    buffer = io.BytesIO(data)
    try:
        with zipfile.ZipFile(buffer) as archive:
            offsets = [info.header_offset for info in archive.infolist()]
    except zipfile.BadZipFile:  # no archive (or weight bytes that merely look like its end record)
        return data
    return data[: min(offsets)] if offsets else data


def write_standard_metadata(flatbuffer, labels, sample_rate, channels=1, **fields):
    """Returns `flatbuffer` with standard TFLite Model Metadata and the label file packed in.

    The `ModelMetadata` (see `build_model_metadata`, which takes `fields`) goes
    into the "TFLITE_METADATA" buffer; `labels.txt` is stored uncompressed (and
    dated 1980-01-01, so exports are reproducible) in a ZIP archive appended to
    the flatbuffer. Metadata already in the file under
    other names (tfaudio's JSON, the converter's runtime version) is kept.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    labels = _check_labels(labels)
    payload = build_model_metadata(labels, sample_rate, channels, **fields)
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(_strip_archive(flatbuffer)))
    num_classes = _output_classes(model)
    if num_classes is not None and num_classes != len(labels):
        raise ValueError(
            f"`labels` must have one name per output class ({num_classes}). Received: {len(labels)} labels"
        )
    _set_metadata_buffer(model, STANDARD_METADATA_NAME, payload)
    out = io.BytesIO(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    out.seek(0, io.SEEK_END)
    # Mode "a" on bytes that are not a ZIP appends an archive whose offsets count from the file's start.
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
        # A fixed date (ZipInfo's 1980-01-01), not the clock's: the same model exports to the same bytes.
        archive.writestr(zipfile.ZipInfo(LABEL_FILE), "\n".join(labels) + "\n")
    return out.getvalue()


def _output_classes(model):
    subgraph = model.subgraphs[0]
    if len(subgraph.outputs) != 1:
        raise ValueError(
            f"Standard audio-classifier metadata needs a single output tensor. Received: {len(subgraph.outputs)}"
        )
    shape = subgraph.tensors[subgraph.outputs[0]].shape
    return int(shape[-1]) if shape is not None and len(shape) else None


def read_standard_metadata(model):
    """`(metadata, {file name: bytes})` of a `.tflite` model (path or bytes), or `(None, {})` without standard metadata.

    `metadata` is the `ModelMetadata` as a dict in `flatc --json` form (see
    `tfaudio.export.metadata_flatbuffer`), e.g.
    `metadata["subgraph_metadata"][0]["input_tensor_metadata"][0]["content"]["content_properties"]["sample_rate"]`.
    The files are those of the ZIP archive appended to the flatbuffer.
    """
    data = model_bytes(model)
    payload = metadata_entries(data).get(STANDARD_METADATA_NAME)
    if payload is None:
        return None, {}
    metadata = metadata_flatbuffer.decode(payload)
    files = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        pass
    return metadata, files
