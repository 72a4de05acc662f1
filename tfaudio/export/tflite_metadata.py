"""Writing tfaudio's JSON metadata into a `.tflite` flatbuffer (the schema's `metadata` table).

`tfaudio.runtime.read_metadata` reads it back without TensorFlow; see there for what it holds.
"""

import json

from tfaudio.runtime.metadata import METADATA_NAME, read_metadata  # noqa: F401  (read_metadata re-exported)


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
