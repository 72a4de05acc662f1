"""Reading tfaudio's JSON metadata from a `.tflite` flatbuffer (the schema's `metadata` table).

Runners read it to prepare inputs the way the model was calibrated for: e.g.
`{"input_normalization": {"type": "peak", "floor": 0.001}}` means every input
is divided by its peak before it is quantised (see `PeakNormalization`).
The flatbuffer is parsed with the schema module that ships with `ai-edge-litert`;
the writer side lives in `tfaudio.export.tflite_metadata` (it needs TensorFlow).
"""

import json

METADATA_NAME = "tfaudio"


def model_bytes(model):
    """The flatbuffer of a `.tflite` model given as a path or bytes."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    with open(model, "rb") as f:
        return f.read()


def metadata_entries(model):
    """`{name: bytes}` of every entry in the model's `metadata` table (path or bytes)."""
    from ai_edge_litert import schema_py_generated as schema

    data = model_bytes(model)
    root = schema.Model.GetRootAs(data, 0)
    entries = {}
    for i in range(root.MetadataLength()):
        entry = root.Metadata(i)
        if entry.Name() is None:
            continue
        buffer = root.Buffers(entry.Buffer())
        if buffer.DataLength():
            raw = buffer.DataAsNumpy().tobytes()
        else:  # models over 2 GB keep buffers after the flatbuffer, at `offset`
            raw = data[buffer.Offset() : buffer.Offset() + buffer.Size()]
        entries[entry.Name().decode()] = raw
    return entries


def read_metadata(model):
    """The tfaudio metadata dict of a `.tflite` model (path or bytes); `{}` when it has none."""
    raw = metadata_entries(model).get(METADATA_NAME)
    return {} if raw is None else json.loads(raw.decode("utf-8"))
