"""The TFLite Model Metadata schema (1.3.0) as a table of field slots, and its flatbuffer encoder and decoder.

Standard TFLite Model Metadata is a `ModelMetadata` flatbuffer (file identifier
"M001") defined by `metadata_schema.fbs` (TensorFlow Lite Support, shipped with
MediaPipe). This module writes and reads it with the `flatbuffers` package's
`Builder` and `Table` alone, so neither MediaPipe nor tflite-support is needed.

A metadata tree is a dict in the form `flatc --json` gives (the TFLite metadata
displayer's JSON): the schema's snake_case field names, enums by name, a union
as two keys (`content_properties_type` with the member's name, and
`content_properties` with its fields), and only the fields that are present.
Scalars equal to their default (0 for every scalar of this schema) are not
stored, as flatbuffers writers do, so they read back absent.

Example:

>>> tree = {"name": "m", "subgraph_metadata": [{"input_tensor_metadata": [{"content": {
...     "content_properties_type": "AudioProperties",
...     "content_properties": {"sample_rate": 16000, "channels": 1}}}]}]}
>>> decode(encode(tree)) == tree
True
"""

import flatbuffers
from flatbuffers import encode as fb_encode
from flatbuffers import number_types, packer, util
from flatbuffers.table import Table

FILE_IDENTIFIER = b"M001"
ROOT_TABLE = "ModelMetadata"

# Enums (all `byte`): names in value order, from 0.
ENUMS = {
    "AssociatedFileType": (
        "UNKNOWN",
        "DESCRIPTIONS",
        "TENSOR_AXIS_LABELS",
        "TENSOR_VALUE_LABELS",
        "TENSOR_AXIS_SCORE_CALIBRATION",
        "VOCABULARY",
        "SCANN_INDEX_FILE",
    ),
    "ColorSpaceType": ("UNKNOWN", "RGB", "GRAYSCALE"),
    "BoundingBoxType": ("UNKNOWN", "BOUNDARIES", "UPPER_LEFT", "CENTER"),
    "CoordinateType": ("RATIO", "PIXEL"),
    "ScoreTransformationType": ("IDENTITY", "LOG", "INVERSE_LOGISTIC"),
}

# Unions: member tables in type order, from 1 (0 is NONE).
UNIONS = {
    "ContentProperties": ("FeatureProperties", "ImageProperties", "BoundingBoxProperties", "AudioProperties"),
    "ProcessUnitOptions": (
        "NormalizationOptions",
        "ScoreCalibrationOptions",
        "ScoreThresholdingOptions",
        "BertTokenizerOptions",
        "SentencePieceTokenizerOptions",
        "RegexTokenizerOptions",
    ),
}

# Tables: (field, type) in declaration order, which gives the slots (a union takes two:
# its type, then its value). Types: a table, enum or union name, "string", a scalar
# ("uint", "int", "float", "ubyte"), or "[type]" for a vector.
TABLES = {
    "AssociatedFile": (
        ("name", "string"),
        ("description", "string"),
        ("type", "AssociatedFileType"),
        ("locale", "string"),
        ("version", "string"),
    ),
    "FeatureProperties": (),
    "ImageSize": (("width", "uint"), ("height", "uint")),
    "ImageProperties": (("color_space", "ColorSpaceType"), ("default_size", "ImageSize")),
    "AudioProperties": (("sample_rate", "uint"), ("channels", "uint")),
    "BoundingBoxProperties": (("index", "[uint]"), ("type", "BoundingBoxType"), ("coordinate_type", "CoordinateType")),
    "ValueRange": (("min", "int"), ("max", "int")),
    "Content": (("content_properties", "ContentProperties"), ("range", "ValueRange")),
    "NormalizationOptions": (("mean", "[float]"), ("std", "[float]")),
    "ScoreCalibrationOptions": (("score_transformation", "ScoreTransformationType"), ("default_score", "float")),
    "ScoreThresholdingOptions": (("global_score_threshold", "float"),),
    "BertTokenizerOptions": (("vocab_file", "[AssociatedFile]"),),
    "SentencePieceTokenizerOptions": (("sentencePiece_model", "[AssociatedFile]"), ("vocab_file", "[AssociatedFile]")),
    "RegexTokenizerOptions": (("delim_regex_pattern", "string"), ("vocab_file", "[AssociatedFile]")),
    "ProcessUnit": (("options", "ProcessUnitOptions"),),
    "Stats": (("max", "[float]"), ("min", "[float]")),
    "TensorGroup": (("name", "string"), ("tensor_names", "[string]")),
    "TensorMetadata": (
        ("name", "string"),
        ("description", "string"),
        ("dimension_names", "[string]"),
        ("content", "Content"),
        ("process_units", "[ProcessUnit]"),
        ("stats", "Stats"),
        ("associated_files", "[AssociatedFile]"),
    ),
    "CustomMetadata": (("name", "string"), ("data", "[ubyte]")),
    "SubGraphMetadata": (
        ("name", "string"),
        ("description", "string"),
        ("input_tensor_metadata", "[TensorMetadata]"),
        ("output_tensor_metadata", "[TensorMetadata]"),
        ("associated_files", "[AssociatedFile]"),
        ("input_process_units", "[ProcessUnit]"),
        ("output_process_units", "[ProcessUnit]"),
        ("input_tensor_groups", "[TensorGroup]"),
        ("output_tensor_groups", "[TensorGroup]"),
        ("custom_metadata", "[CustomMetadata]"),
    ),
    "ModelMetadata": (
        ("name", "string"),
        ("description", "string"),
        ("version", "string"),
        ("subgraph_metadata", "[SubGraphMetadata]"),
        ("author", "string"),
        ("license", "string"),
        ("associated_files", "[AssociatedFile]"),
        ("min_parser_version", "string"),
    ),
}

# `data:[ubyte] (force_align: 16)`: the vector's bytes start on a 16-byte boundary.
_FORCE_ALIGN = {("CustomMetadata", "data"): 16}

# Scalar type -> (number flags, Builder prepend method name). Enums are `byte`, union types `ubyte`.
_SCALARS = {
    "uint": (number_types.Uint32Flags, "PrependUint32"),
    "int": (number_types.Int32Flags, "PrependInt32"),
    "float": (number_types.Float32Flags, "PrependFloat32"),
    "ubyte": (number_types.Uint8Flags, "PrependUint8"),
    "byte": (number_types.Int8Flags, "PrependInt8"),
}


def _layout(table):
    """`[(slot, key, type)]` of a table; a union `u` gives `(s, "u_type", "type of U")` and `(s + 1, "u", U)`."""
    slots, slot = [], 0
    for key, kind in TABLES[table]:
        if kind in UNIONS:
            slots.append((slot, f"{key}_type", f"type of {kind}"))
            slot += 1
        slots.append((slot, key, kind))
        slot += 1
    return slots


_LAYOUTS = {table: _layout(table) for table in TABLES}


def _is_offset(kind):
    """Whether a field of this type is stored as an offset (built before its table), not inline."""
    return kind == "string" or kind.startswith("[") or kind in TABLES or kind in UNIONS


# ---- encoding ---------------------------------------------------------------------------------------


def encode(tree, file_identifier=FILE_IDENTIFIER):
    """Serialised `ModelMetadata` flatbuffer of a metadata tree (see the module docstring).

    Built as flatbuffers' object API packs (children in field order, then each
    table's fields in slot order), so the bytes equal those of the schema's
    generated `ModelMetadataT.Pack` for the same tree.

    Raises:
        ValueError: a key the schema does not have, an unknown enum or union
            member name, or a value of the wrong type (the message gives its path).
    """
    builder = flatbuffers.Builder(1024)
    builder.Finish(_encode_table(builder, ROOT_TABLE, tree, ROOT_TABLE), file_identifier=file_identifier)
    return bytes(builder.Output())


def _encode_table(builder, table, value, path):
    if not isinstance(value, dict):
        raise ValueError(f"{path} must be a dict of {table} fields. Received: {value!r}")
    layout = _LAYOUTS[table]
    unknown = sorted(set(value) - {key for _, key, _ in layout})
    if unknown:
        raise ValueError(
            f"{path}: {table} has no field(s) {unknown}. Fields: {[key for _, key, _ in layout]}. Received: {value!r}"
        )
    offsets = {}
    for _, key, kind in layout:
        if key in value and _is_offset(kind):
            offsets[key] = _encode_offset(builder, table, key, kind, value, f"{path}.{key}")
    builder.StartObject(len(layout))
    for slot, key, kind in layout:
        if key not in value:
            continue
        if key in offsets:
            builder.PrependUOffsetTRelativeSlot(slot, offsets[key], 0)
        else:
            scalar, number = _scalar(kind, value[key], f"{path}.{key}")
            getattr(builder, _SCALARS[scalar][1] + "Slot")(slot, number, 0)
    return builder.EndObject()


def _encode_offset(builder, table, key, kind, value, path):
    item = value[key]
    if kind == "string":
        return builder.CreateString(_string(item, path))
    if kind in TABLES:
        return _encode_table(builder, kind, item, path)
    if kind in UNIONS:
        member = value.get(f"{key}_type")
        if member not in UNIONS[kind]:
            raise ValueError(
                f"{path} needs `{key}_type` naming one of {list(UNIONS[kind])}. Received: {key}_type={member!r}"
            )
        return _encode_table(builder, member, item, path)
    element = kind[1:-1]
    if not isinstance(item, (list, tuple, bytes) if element == "ubyte" else (list, tuple)):
        raise ValueError(f"{path} must be a list of {element}. Received: {item!r}")
    if element == "string":
        children = [builder.CreateString(_string(x, f"{path}[{i}]")) for i, x in enumerate(item)]
    elif element in TABLES:
        children = [_encode_table(builder, element, x, f"{path}[{i}]") for i, x in enumerate(item)]
    else:  # scalars, written in place
        flags, prepend = _SCALARS[element]
        numbers = [_scalar(element, x, f"{path}[{i}]")[1] for i, x in enumerate(item)]
        builder.StartVector(flags.bytewidth, len(numbers), _FORCE_ALIGN.get((table, key), flags.bytewidth))
        for number in reversed(numbers):
            getattr(builder, prepend)(number)
        return builder.EndVector()
    builder.StartVector(4, len(children), 4)
    for child in reversed(children):
        builder.PrependUOffsetTRelative(child)
    return builder.EndVector()


def _string(value, path):
    if not isinstance(value, str):
        raise ValueError(f"{path} must be a str. Received: {value!r}")
    return value


def _scalar(kind, value, path):
    """`(scalar type, number)` of an inline field, validated."""
    if kind.startswith("type of "):  # a union's type: its member's name
        members = UNIONS[kind[len("type of ") :]]
        if value not in members:
            raise ValueError(f"{path} must be one of {list(members)}. Received: {value!r}")
        return "ubyte", members.index(value) + 1
    if kind in ENUMS:
        if value not in ENUMS[kind]:
            raise ValueError(f"{path} must be a {kind}, one of {list(ENUMS[kind])}. Received: {value!r}")
        return "byte", ENUMS[kind].index(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{path} must be a number. Received: {value!r}")
        return kind, float(value)
    bits, signed = {"uint": (32, False), "int": (32, True), "ubyte": (8, False)}[kind]
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{path} must be an int in [{low}, {high}]. Received: {value!r}")
    return kind, value


# ---- decoding ---------------------------------------------------------------------------------------


def decode(data):
    """The metadata tree of a serialised `ModelMetadata` flatbuffer (bytes).

    Fields of newer schemas are ignored; an enum or union type value this schema
    does not name is returned as its int (and that union's value is skipped).

    Raises:
        ValueError: the bytes do not carry the "M001" file identifier.
    """
    data = bytes(data)
    if len(data) < 8 or not util.BufferHasIdentifier(data, 0, FILE_IDENTIFIER):
        raise ValueError(
            f"Not a TFLite ModelMetadata flatbuffer (file identifier {FILE_IDENTIFIER!r}). Received: {data[:8]!r}"
        )
    root = fb_encode.Get(packer.uoffset, data, 0)
    return _decode_table(Table(data, root), ROOT_TABLE)


def _decode_table(tab, table):
    tree = {}
    for slot, key, kind in _LAYOUTS[table]:
        offset = tab.Offset(4 + 2 * slot)  # vtable entries follow the vtable's two uint16 sizes
        if not offset:
            continue
        if kind in UNIONS:
            member = tree.get(f"{key}_type")
            if isinstance(member, str):
                value = Table(bytearray(), 0)
                tab.Union(value, offset)
                tree[key] = _decode_table(value, member)
        elif kind.startswith("["):
            tree[key] = _decode_vector(tab, kind[1:-1], offset)
        else:
            tree[key] = _decode_value(tab, kind, tab.Pos + offset)
    return tree


def _decode_value(tab, kind, position):
    """The field or vector element of type `kind` at `position` in the buffer."""
    if kind == "string":
        return tab.String(position).decode("utf-8")
    if kind in TABLES:
        return _decode_table(Table(tab.Bytes, tab.Indirect(position)), kind)
    if kind.startswith("type of "):
        members = UNIONS[kind[len("type of ") :]]
        number = tab.Get(number_types.Uint8Flags, position)
        return members[number - 1] if 1 <= number <= len(members) else number
    if kind in ENUMS:
        number = tab.Get(number_types.Int8Flags, position)
        return ENUMS[kind][number] if 0 <= number < len(ENUMS[kind]) else number
    return tab.Get(_SCALARS[kind][0], position)


def _decode_vector(tab, element, offset):
    start, length = tab.Vector(offset), tab.VectorLen(offset)
    if element == "ubyte":
        return bytes(tab.Bytes[start : start + length])
    width = 4  # offsets (strings, tables) and this schema's 4-byte scalars
    return [_decode_value(tab, element, start + i * width) for i in range(length)]
