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

The standard entry is built with the schema module MediaPipe ships
(`mediapipe/tasks/metadata/metadata_schema_py_generated.py`, flatbuffers code
generated from `metadata_schema.fbs`). It is loaded from its file, without
importing the `mediapipe` package: 0.2 s and 27 MB instead of the 6.5 s and
690 MB that `import mediapipe.tasks.metadata...` costs (it loads MediaPipe's
task runtime first). So writing needs `mediapipe` installed (the [mediapipe]
extra). `tfaudio.runtime.read_metadata` reads tfaudio's entry without TensorFlow.
"""

import importlib.util
import io
import json
import os
import sys
import zipfile

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
_FILE_IDENTIFIER = b"M001"


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


def metadata_schema():
    """MediaPipe's generated `metadata_schema_py_generated` module, loaded from its file.

    Raises:
        ImportError: `mediapipe` is not installed (the message says what to install).
    """
    name = "tfaudio._mediapipe_metadata_schema"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("mediapipe")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(
            list(spec.submodule_search_locations)[0], "tasks", "metadata", "metadata_schema_py_generated.py"
        )
    if path is None or not os.path.isfile(path):
        raise ImportError(
            "Writing standard TFLite Model Metadata (what MediaPipe's AudioClassifier needs) uses the metadata "
            "schema MediaPipe ships: pip install 'tfaudio[mediapipe]' (or mediapipe). Received: no "
            "mediapipe/tasks/metadata/metadata_schema_py_generated.py"
        )
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


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
    import flatbuffers

    schema = metadata_schema()
    labels = _check_labels(labels)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"`sample_rate` must be a positive int (Hz). Received: sample_rate={sample_rate!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"`channels` must be a positive int. Received: channels={channels!r}")

    audio = schema.AudioPropertiesT()
    audio.sampleRate = sample_rate
    audio.channels = channels
    input_meta = schema.TensorMetadataT()
    input_meta.name = "audio_clip"
    input_meta.description = (
        f"Float32 waveform in [-1, 1]: {channels} channel(s) at {sample_rate} Hz, any level "
        "(the graph normalises what the model needs)."
    )
    input_meta.content = schema.ContentT()
    input_meta.content.contentPropertiesType = schema.ContentProperties.AudioProperties
    input_meta.content.contentProperties = audio

    label_file = schema.AssociatedFileT()
    label_file.name = LABEL_FILE
    label_file.description = "Class names, one per line, in output order."
    label_file.type = schema.AssociatedFileType.TENSOR_AXIS_LABELS
    output_meta = schema.TensorMetadataT()
    output_meta.name = "probability"
    output_meta.description = f"Probabilities of the {len(labels)} classes (softmax; they sum to 1)."
    output_meta.content = schema.ContentT()
    output_meta.content.contentPropertiesType = schema.ContentProperties.FeatureProperties
    output_meta.content.contentProperties = schema.FeaturePropertiesT()
    output_meta.stats = schema.StatsT()
    output_meta.stats.max = [1.0]
    output_meta.stats.min = [0.0]
    output_meta.associatedFiles = [label_file]

    subgraph = schema.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [input_meta]
    subgraph.outputTensorMetadata = [output_meta]
    metadata = schema.ModelMetadataT()
    metadata.name = name
    metadata.description = description
    metadata.version = str(version)
    metadata.author = author
    metadata.subgraphMetadata = [subgraph]
    metadata.minParserVersion = MIN_PARSER_VERSION

    builder = flatbuffers.Builder(1024)
    builder.Finish(metadata.Pack(builder), file_identifier=_FILE_IDENTIFIER)
    return bytes(builder.Output())


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
    into the "TFLITE_METADATA" buffer; `labels.txt` is stored uncompressed in a
    ZIP archive appended to the flatbuffer. Metadata already in the file under
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
        archive.writestr(LABEL_FILE, "\n".join(labels) + "\n")
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
    """`(ModelMetadataT, {file name: bytes})` of a `.tflite` model, or `(None, {})` without standard metadata.

    Parsing uses the same schema module as writing (so it needs `mediapipe`).
    """
    data = model_bytes(model)
    payload = metadata_entries(data).get(STANDARD_METADATA_NAME)
    if payload is None:
        return None, {}
    schema = metadata_schema()
    metadata = schema.ModelMetadataT.InitFromPackedBuf(payload, 0)
    files = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        pass
    return metadata, files
