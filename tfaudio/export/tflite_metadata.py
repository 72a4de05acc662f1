"""tfaudio's JSON metadata inside a `.tflite` flatbuffer (the schema's `metadata` table).

Runners read it to prepare inputs the way the model was calibrated for: e.g.
`{"input_normalization": {"type": "peak", "floor": 0.001}}` means every input
is divided by its peak before it is quantised (see `PeakNormalization`).
"""

import json

METADATA_NAME = "tfaudio"


def _as_bytes(model):
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with open(model, "rb") as f:
        return f.read()


def read_metadata(model):
    """The tfaudio metadata dict of a `.tflite` model (path or bytes); `{}` when it has none."""
    from tensorflow.lite.python import schema_py_generated as schema

    data = _as_bytes(model)
    root = schema.Model.GetRootAsModel(data, 0)
    for i in range(root.MetadataLength()):
        entry = root.Metadata(i)
        if entry.Name() is not None and entry.Name().decode() == METADATA_NAME:
            raw = root.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(raw).decode("utf-8"))
    return {}


def write_metadata(flatbuffer, metadata):
    """Returns `flatbuffer` (bytes) with `metadata` (a JSON-serialisable dict) stored under "tfaudio"."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    payload = json.dumps(metadata, sort_keys=True).encode("utf-8")
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    model.metadata = [m for m in (model.metadata or []) if m.name.decode() != METADATA_NAME]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(payload, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME.encode()
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
