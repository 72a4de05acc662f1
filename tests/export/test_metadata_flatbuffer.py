"""tfaudio's TFLite Model Metadata encoder/decoder against the schema code MediaPipe ships.

The reference is MediaPipe's `metadata_schema_py_generated.py` (flatc's Python for
metadata_schema.fbs 1.3.0): its object API (`ModelMetadataT.Pack`, `InitFromPackedBuf`).
Both sides drive the same `flatbuffers.Builder`, creating objects in the same order
(children in field order, then the table's fields in slot order), so the comparison is
byte for byte: any wrong slot, type width, enum value or union index changes the bytes.
"""

import numpy as np
import pytest

from tests.export._mediapipe import metadata_schema
from tfaudio.export import metadata_flatbuffer as mf
from tfaudio.export.tflite_metadata import LABEL_FILE, MIN_PARSER_VERSION, build_model_metadata

SCHEMA = metadata_schema()
pytestmark = pytest.mark.skipif(SCHEMA is None, reason="the reference schema module comes with mediapipe")


def _camel(key):
    """flatc's Python object-API attribute name of a schema field (`sample_rate` -> `sampleRate`)."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _generated_enum(name):
    """`{member: value}` of one of the generated enum/union classes (NONE left out)."""
    return {k: v for k, v in vars(getattr(SCHEMA, name)).items() if not k.startswith("_") and k != "NONE"}


def _to_object_api(table, tree):
    """The generated `<table>T` object of a metadata tree; enum and union values by the generated classes."""
    obj = getattr(SCHEMA, f"{table}T")()
    for key, kind in mf.TABLES[table]:
        if key not in tree:
            continue
        value = tree[key]
        assert hasattr(obj, _camel(key)), (table, key)
        if kind in mf.UNIONS:
            member = tree[f"{key}_type"]
            setattr(obj, _camel(f"{key}_type"), _generated_enum(kind)[member])
            value = _to_object_api(member, value)
        elif kind in mf.ENUMS:
            value = _generated_enum(kind)[value]
        elif kind in mf.TABLES:
            value = _to_object_api(kind, value)
        elif kind.startswith("[") and kind[1:-1] in mf.TABLES:
            value = [_to_object_api(kind[1:-1], item) for item in value]
        elif kind == "[ubyte]":
            value = list(value)
        setattr(obj, _camel(key), value)
    return obj


def _from_object_api(table, obj):
    """The metadata tree of a generated `<table>T` object: set fields only, as the decoder gives them."""
    tree = {}
    for key, kind in mf.TABLES[table]:
        value = getattr(obj, _camel(key))
        if value is None or (np.isscalar(value) and value == 0 and not isinstance(value, (str, bytes))):
            continue  # absent (flatbuffers writes no scalar equal to its default, 0 throughout this schema)
        if kind in mf.UNIONS:
            names = {v: k for k, v in _generated_enum(kind).items()}
            member = names[getattr(obj, _camel(f"{key}_type"))]
            tree[f"{key}_type"] = member
            value = _from_object_api(member, value)
        elif kind in mf.ENUMS:
            value = {v: k for k, v in _generated_enum(kind).items()}[value]
        elif kind in mf.TABLES:
            value = _from_object_api(kind, value)
        elif kind == "string":
            value = value.decode()
        elif kind == "[string]":
            value = [item.decode() for item in value]
        elif kind.startswith("[") and kind[1:-1] in mf.TABLES:
            value = [_from_object_api(kind[1:-1], item) for item in value]
        elif kind == "[ubyte]":
            value = bytes(np.asarray(value, np.uint8))
        else:  # scalar vectors come back as NumPy arrays
            value = np.asarray(value).tolist()
        tree[key] = value
    return tree


def _pack(tree):
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(_to_object_api("ModelMetadata", tree).Pack(builder), file_identifier=b"M001")
    return bytes(builder.Output())


def _file(name, kind="TENSOR_AXIS_LABELS", **more):
    return {"name": name, "description": f"{name} file", "type": kind, **more}


def _tensor(name, member, properties, **more):
    return {"name": name, "content": {"content_properties_type": member, "content_properties": properties}, **more}


# Every table and field of the schema at least once (checked below), each union member and
# non-default enum member at least once, non-default scalars (0 is not stored, so it would test nothing) and floats
# exact in float32 (the decoder returns float32 values).
EVERY_FIELD = {
    "name": "every field",
    "description": "ünïcode too",
    "version": "7",
    "author": "tfaudio tests",
    "license": "Apache-2.0",
    "min_parser_version": "1.3.0",
    "associated_files": [_file("model.txt", "DESCRIPTIONS", locale="en", version="2")],
    "subgraph_metadata": [
        {
            "name": "main",
            "description": "one subgraph",
            "input_tensor_metadata": [
                {
                    "name": "image",
                    "description": "an image",
                    "dimension_names": ["batch", "height", "width", "channels"],
                    "content": {
                        "content_properties_type": "ImageProperties",
                        "content_properties": {"color_space": "GRAYSCALE", "default_size": {"width": 96, "height": 64}},
                        "range": {"min": -3, "max": 4},
                    },
                    "process_units": [
                        {
                            "options_type": "NormalizationOptions",
                            "options": {"mean": [127.5, 0.25], "std": [2.0, 0.5]},
                        },
                        {
                            "options_type": "BertTokenizerOptions",
                            "options": {"vocab_file": [_file("vocab.txt", "VOCABULARY")]},
                        },
                        {
                            "options_type": "SentencePieceTokenizerOptions",
                            "options": {
                                "sentencePiece_model": [_file("sp.model", "DESCRIPTIONS")],
                                "vocab_file": [_file("sp_vocab.txt", "VOCABULARY")],
                            },
                        },
                        {
                            "options_type": "RegexTokenizerOptions",
                            "options": {"delim_regex_pattern": r"[\s]+", "vocab_file": [_file("re.txt", "VOCABULARY")]},
                        },
                    ],
                    "stats": {"max": [255.0], "min": [-1.5]},
                },
                {
                    "name": "audio",
                    "content": {
                        "content_properties_type": "AudioProperties",
                        "content_properties": {"sample_rate": 44100, "channels": 2},
                    },
                },
            ],
            "output_tensor_metadata": [
                {
                    "name": "boxes",
                    "content": {
                        "content_properties_type": "BoundingBoxProperties",
                        "content_properties": {"index": [1, 0, 3, 2], "type": "BOUNDARIES", "coordinate_type": "PIXEL"},
                    },
                },
                {
                    "name": "scores",
                    "content": {"content_properties_type": "FeatureProperties", "content_properties": {}},
                    "process_units": [
                        {
                            "options_type": "ScoreCalibrationOptions",
                            "options": {"score_transformation": "INVERSE_LOGISTIC", "default_score": 0.125},
                        },
                        {"options_type": "ScoreThresholdingOptions", "options": {"global_score_threshold": 0.5}},
                    ],
                    "associated_files": [
                        _file("labels.txt"),
                        _file("values.txt", "TENSOR_VALUE_LABELS"),
                        _file("calibration.txt", "TENSOR_AXIS_SCORE_CALIBRATION"),
                        _file("index.scann", "SCANN_INDEX_FILE"),
                    ],
                },
                _tensor("center boxes", "BoundingBoxProperties", {"type": "CENTER"}),
                _tensor("corner boxes", "BoundingBoxProperties", {"type": "UPPER_LEFT"}),
                _tensor(
                    "rgb scores",
                    "ImageProperties",
                    {"color_space": "RGB"},
                    process_units=[{"options_type": "ScoreCalibrationOptions", "options": {"score_transformation": "LOG"}}],
                ),
            ],
            "associated_files": [_file("subgraph.txt", "DESCRIPTIONS")],
            "input_process_units": [{"options_type": "ScoreThresholdingOptions", "options": {"global_score_threshold": 0.25}}],
            "output_process_units": [{"options_type": "NormalizationOptions", "options": {"mean": [1.0]}}],
            "input_tensor_groups": [{"name": "in", "tensor_names": ["image", "audio"]}],
            "output_tensor_groups": [{"name": "out", "tensor_names": ["boxes", "scores"]}],
            "custom_metadata": [{"name": "blob", "data": bytes(range(1, 40))}],
        }
    ],
}


def _without_custom_metadata(tree):
    tree = dict(tree, subgraph_metadata=[dict(s) for s in tree["subgraph_metadata"]])
    tree["subgraph_metadata"][0].pop("custom_metadata")
    return tree


def _visited(table, tree, seen):
    for key, kind in mf.TABLES[table]:
        if key in tree:
            seen.add((table, key))
            element = kind.strip("[]")
            member = tree.get(f"{key}_type", element)
            items = tree[key] if kind.startswith("[") else [tree[key]]
            if member in mf.TABLES:
                for item in items:
                    _visited(member, item, seen)
            if kind in mf.ENUMS:
                seen.add((kind, tree[key]))
            if kind in mf.UNIONS:
                seen.add((kind, member))
    return seen


def test_schema_tables_enums_and_unions_match_the_generated_module():
    """Field lists, enum values and union indices are those of flatc's generated Python."""
    for table, fields in mf.TABLES.items():
        expected = set(vars(getattr(SCHEMA, f"{table}T")()))
        keys = {_camel(key) for key, _ in fields} | {_camel(f"{k}_type") for k, kind in fields if kind in mf.UNIONS}
        assert keys == expected, table
    for name, members in {**mf.ENUMS, **mf.UNIONS}.items():
        values = _generated_enum(name)
        first = 1 if name in mf.UNIONS else 0
        assert values == {member: first + i for i, member in enumerate(members)}, name
    generated_tables = {name[:-1] for name in vars(SCHEMA) if name.endswith("T") and hasattr(getattr(SCHEMA, name), "Pack")}
    assert generated_tables == set(mf.TABLES)


def test_every_field_tree_covers_the_schema():
    seen = _visited("ModelMetadata", EVERY_FIELD, set())
    fields = {(table, key) for table, layout in mf.TABLES.items() for key, _ in layout}
    # Enum members of value 0 are the default: not stored, so they have nothing to compare.
    fields |= {(name, member) for name, members in mf.ENUMS.items() for member in members[1:]}
    fields |= {(name, member) for name, members in mf.UNIONS.items() for member in members}
    assert fields - seen == set()


def test_encode_matches_generated_pack_byte_for_byte():
    # The generated Python ignores `force_align: 16` on CustomMetadata.data (flatc's C++ honours it,
    # and so does tfaudio), so that one field is compared field by field below instead.
    tree = _without_custom_metadata(EVERY_FIELD)
    assert mf.encode(tree) == _pack(tree)


def test_generated_reader_reads_what_encode_writes_field_for_field():
    data = mf.encode(EVERY_FIELD)
    assert _from_object_api("ModelMetadata", SCHEMA.ModelMetadataT.InitFromPackedBuf(data, 0)) == EVERY_FIELD
    custom = SCHEMA.ModelMetadata.GetRootAs(data, 0).SubgraphMetadata(0).CustomMetadata(0)
    # The data vector's bytes start 16-aligned in the buffer (the schema's force_align).
    assert custom._tab.Vector(custom._tab.Offset(6)) % 16 == 0


def test_decode_reads_generated_pack_field_for_field():
    tree = _without_custom_metadata(EVERY_FIELD)
    assert mf.decode(_pack(tree)) == tree
    assert mf.decode(mf.encode(EVERY_FIELD)) == EVERY_FIELD


def _audio_classifier_reference(labels, sample_rate, channels, name, description, version, author):
    """The ModelMetadataT that tfaudio built with MediaPipe's object API before it had its own encoder."""
    audio = SCHEMA.AudioPropertiesT()
    audio.sampleRate, audio.channels = sample_rate, channels
    audio_input = SCHEMA.TensorMetadataT()
    audio_input.name = "audio_clip"
    audio_input.description = (
        f"Float32 waveform in [-1, 1]: {channels} channel(s) at {sample_rate} Hz, any level "
        "(the graph normalises what the model needs)."
    )
    audio_input.content = SCHEMA.ContentT()
    audio_input.content.contentPropertiesType = SCHEMA.ContentProperties.AudioProperties
    audio_input.content.contentProperties = audio
    label_file = SCHEMA.AssociatedFileT()
    label_file.name = LABEL_FILE
    label_file.description = "Class names, one per line, in output order."
    label_file.type = SCHEMA.AssociatedFileType.TENSOR_AXIS_LABELS
    output = SCHEMA.TensorMetadataT()
    output.name = "probability"
    output.description = f"Probabilities of the {len(labels)} classes (softmax; they sum to 1)."
    output.content = SCHEMA.ContentT()
    output.content.contentPropertiesType = SCHEMA.ContentProperties.FeatureProperties
    output.content.contentProperties = SCHEMA.FeaturePropertiesT()
    output.stats = SCHEMA.StatsT()
    output.stats.max, output.stats.min = [1.0], [0.0]
    output.associatedFiles = [label_file]
    subgraph = SCHEMA.SubGraphMetadataT()
    subgraph.inputTensorMetadata, subgraph.outputTensorMetadata = [audio_input], [output]
    metadata = SCHEMA.ModelMetadataT()
    metadata.name, metadata.description, metadata.version, metadata.author = name, description, version, author
    metadata.subgraphMetadata = [subgraph]
    metadata.minParserVersion = MIN_PARSER_VERSION
    return metadata


@pytest.mark.parametrize(
    "labels, sample_rate, channels",
    [(["yes", "no", "_silence_"], 16000, 1), ([str(d) for d in range(10)], 8000, 2)],
)
def test_audio_classifier_metadata_matches_the_mediapipe_built_bytes(labels, sample_rate, channels):
    import flatbuffers

    fields = dict(name="kws", description="tfaudio kws: 1 s clips", version="3", author="tfaudio")
    builder = flatbuffers.Builder(1024)
    reference = _audio_classifier_reference(labels, sample_rate, channels, **fields)
    builder.Finish(reference.Pack(builder), file_identifier=b"M001")
    assert build_model_metadata(labels, sample_rate, channels, **fields) == bytes(builder.Output())


@pytest.mark.parametrize(
    "tree, match",
    [
        ({"nmae": "typo"}, r"ModelMetadata has no field\(s\) \['nmae'\]"),
        ({"name": b"bytes"}, r"ModelMetadata.name must be a str"),
        ({"associated_files": [{"type": "LABELS"}]}, r"associated_files\[0\].type must be a AssociatedFileType"),
        (
            {"subgraph_metadata": [{"input_tensor_metadata": [{"content": {"content_properties": {}}}]}]},
            r"content_properties needs `content_properties_type`",
        ),
        (
            {"subgraph_metadata": [{"input_tensor_metadata": [_tensor("a", "AudioProperties", {"sample_rate": -1})]}]},
            r"sample_rate must be an int in \[0, 4294967295\]. Received: -1",
        ),
        ({"subgraph_metadata": {"name": "not a list"}}, r"subgraph_metadata must be a list of SubGraphMetadata"),
    ],
)
def test_encode_rejects_what_the_schema_does_not_have(tree, match):
    with pytest.raises(ValueError, match=match):
        mf.encode(tree)


def test_decode_rejects_other_flatbuffers():
    with pytest.raises(ValueError, match="file identifier"):
        mf.decode(mf.encode({"name": "x"}, file_identifier=b"TFL3"))
