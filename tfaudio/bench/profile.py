"""Per-op profile of a `.tflite` model: time per op and per op type, TF-free (ai_edge_litert + NumPy).

The `ai_edge_litert` Python package exposes no op profiler, so each op of the main subgraph is
cut out into a one-op model (its constant inputs kept, its other inputs fed with the values they
take in the whole model for the same input) and timed on the interpreter with the default
delegates, as `tfaudio bench` times the whole model. The one-op models and the whole model are
timed in interleaved rounds (medians over rounds), so load on a shared machine hits all of them
alike. Each op also says whether the XNNPACK delegate took it: an op that XNNPACK refuses runs
on the reference or optimized builtin kernels, which for int8 is often the slow path.

Times of ops in isolation do not add up exactly to the whole model: the whole model fuses
delegated ops into partitions, and every `invoke` pays a fixed cost, measured on an empty model
and subtracted from each op (`overhead_ms` in the result).
"""

import os
import time

import numpy as np

# Builtin ops that call other subgraphs; they cannot be cut out alone.
_SUBGRAPH_OPS = ("WHILE", "IF", "CALL_ONCE", "STABLEHLO_COMPOSITE", "STABLEHLO_WHILE", "STABLEHLO_CASE")


def _interpreter(content, num_threads, delegates=True, preserve=False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(
        model_content=bytes(content),
        num_threads=num_threads,
        experimental_op_resolver_type=resolver,
        experimental_preserve_all_tensors=preserve,
    )
    return interpreter


def _example_input(details, batch_size, rng):
    """Uniform noise in [-1, 1] (waveform-like) of the input's shape, quantized for integer inputs."""
    shape = [batch_size if d == -1 else int(d) for d in details["shape_signature"]]
    x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    dtype = details["dtype"]
    if np.issubdtype(dtype, np.integer):
        scale, zero_point = details["quantization"]
        info = np.iinfo(dtype)
        x = np.clip(np.round(x / (scale or 1.0) + zero_point), info.min, info.max)
    return x.astype(dtype)


def _tensor_values(content, inputs, batch_size):
    """Every tensor's runtime shape and value in subgraph 0 for `inputs` (no delegates)."""
    interpreter = _interpreter(content, 1, delegates=False, preserve=True)
    for details, x in zip(interpreter.get_input_details(), inputs):
        if tuple(details["shape"]) != x.shape:
            interpreter.resize_tensor_input(details["index"], x.shape)
    interpreter.allocate_tensors()
    for details, x in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(details["index"], x)
    interpreter.invoke()
    values = {}
    for details in interpreter.get_tensor_details():
        try:
            values[details["index"]] = np.array(interpreter.get_tensor(details["index"]))
        except ValueError:  # tensors without data (e.g. unused optional outputs)
            pass
    return values


def _opcode_name(model, opcode_index):
    from ai_edge_litert import schema_py_generated as schema

    code = model.operatorCodes[opcode_index]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode}"
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return names.get(builtin, str(builtin))


def _is_constant(model, tensor):
    buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
    return buffer is not None and buffer.data is not None and len(buffer.data) > 0


def _empty_model(model, dtype):
    """A model with no ops whose output is its input: the fixed cost of one `invoke`."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.buffer, tensor.name = [1], dtype, 0, "x"
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs, subgraph.operators = [tensor], [0], [0], []
    empty = schema.ModelT()
    empty.version, empty.operatorCodes, empty.subgraphs = 3, model.operatorCodes, [subgraph]
    empty.buffers = [schema.BufferT()]
    return flatbuffer_utils.convert_object_to_bytearray(empty)


def _one_op_model(model, op, values):
    """The op alone: its constant inputs as buffers, every other input a model input."""
    import copy

    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    graph = model.subgraphs[0]
    buffers = [schema.BufferT()]
    remap = {}
    tensors, inputs = [], []

    def take(index, is_input):
        if index < 0:
            return index
        if index in remap:
            return remap[index]
        tensor = copy.copy(graph.tensors[index])
        constant = _is_constant(model, tensor)
        if constant:
            buffers.append(model.buffers[tensor.buffer])
            tensor.buffer = len(buffers) - 1
        else:
            tensor.buffer = 0
            if index in values:  # runtime (resized) shape, made static
                tensor.shape = list(values[index].shape)
                tensor.shapeSignature = None
        remap[index] = len(tensors)
        tensors.append(tensor)
        if is_input and not constant and not tensor.isVariable:
            inputs.append((remap[index], index))
        return remap[index]

    new_op = copy.copy(op)
    new_op.inputs = [take(i, True) for i in op.inputs]
    new_op.outputs = [take(i, False) for i in op.outputs]
    if op.intermediates is not None:
        new_op.intermediates = [take(i, False) for i in op.intermediates]
    subgraph = schema.SubGraphT()
    subgraph.tensors = tensors
    subgraph.inputs = [new for new, _ in inputs]
    subgraph.outputs = list(new_op.outputs)
    subgraph.operators = [new_op]
    one = schema.ModelT()
    one.version, one.operatorCodes, one.subgraphs, one.buffers = 3, model.operatorCodes, [subgraph], buffers
    return flatbuffer_utils.convert_object_to_bytearray(one), [old for _, old in inputs]


class _Timed:
    """An interpreter with its inputs set, timed in blocks of `repeat` invokes."""

    def __init__(self, content, num_threads, feeds, clock=time.perf_counter):
        self.clock = clock
        self.interpreter = _interpreter(content, num_threads)
        self.interpreter.allocate_tensors()
        for details, x in zip(self.interpreter.get_input_details(), feeds):
            if tuple(details["shape"]) != x.shape:
                self.interpreter.resize_tensor_input(details["index"], x.shape)
        self.interpreter.allocate_tensors()
        for details, x in zip(self.interpreter.get_input_details(), feeds):
            self.interpreter.set_tensor(details["index"], x)
        self.interpreter.invoke()
        # A delegate replaces the op with a DELEGATE node appended to the node list.
        self.delegated = len(self.interpreter._get_ops_details()) > len(
            [o for o in self.interpreter._get_ops_details() if o["op_name"] != "DELEGATE"]
        )
        self.repeat = 1
        self.samples = []

    def calibrate(self, target_ms):
        """Chooses `repeat` so a block lasts about `target_ms`."""
        start = self.clock()
        self.interpreter.invoke()
        once = (self.clock() - start) * 1000.0
        self.repeat = int(max(1, min(1000, target_ms / max(once, 1e-4))))

    def block(self):
        invoke = self.interpreter.invoke
        start = self.clock()
        for _ in range(self.repeat):
            invoke()
        self.samples.append((self.clock() - start) * 1000.0 / self.repeat)

    def median(self):
        return float(np.median(self.samples))


_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def profile_tflite(path, num_threads=1, rounds=7, block_ms=2.0, warmup=3, batch_size=1, seed=0, clock="wall"):
    """Times each op of a `.tflite` model alone, and the whole model, in interleaved rounds.

    Args:
        path: str. The `.tflite` file.
        num_threads: int. Interpreter threads. Defaults to 1.
        rounds: int. Interleaved timing rounds; times are medians over rounds. Defaults to 7.
        block_ms: float. Each round times every op for about this long. Defaults to 2.0.
        warmup: int. Untimed invocations of each interpreter first. Defaults to 3.
        batch_size: int. Batch for models with a dynamic batch. Defaults to 1.
        seed: int. Seed of the input noise (uniform in [-1, 1]).
        clock: "wall" (elapsed time) or "cpu" (this process's CPU time: with one thread,
            what the model costs even when other jobs share the cores). Defaults to "wall".

    Returns:
        dict with `model_ms` (whole model, median), `ops_total_ms` (sum of the ops),
        `overhead_ms` (an empty invoke, subtracted from every op), `ops` (per op, in graph
        order: `index`, `op`, `ms`, `share`, `xnnpack`, `input_shapes`, `output_shape`,
        `dtype`), `op_types` (per op type: `op`, `count`, `ms`, `share`, `xnnpack_count`,
        slowest first), `num_threads`, `batch_size`, `rounds`, `clock`, `path`.
    """
    from ai_edge_litert.tools import flatbuffer_utils

    if not os.path.isfile(path):
        raise ValueError(f"No TFLite model at this path. Received: path={path!r}")
    if num_threads < 1:
        raise ValueError(f"`num_threads` must be >= 1. Received: num_threads={num_threads}")
    if clock not in _CLOCKS:
        raise ValueError(f"`clock` must be one of {sorted(_CLOCKS)}. Received: clock={clock!r}")
    if rounds < 1 or warmup < 0 or batch_size < 1:
        raise ValueError(
            f"`rounds` and `batch_size` must be >= 1 and `warmup` >= 0. "
            f"Received: rounds={rounds}, batch_size={batch_size}, warmup={warmup}"
        )
    with open(path, "rb") as f:
        content = f.read()
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    graph = model.subgraphs[0]

    whole_inputs = _interpreter(content, num_threads).get_input_details()
    rng = np.random.default_rng(seed)
    feeds = [_example_input(d, batch_size, rng) for d in whole_inputs]
    values = _tensor_values(content, feeds, batch_size)

    tick = _CLOCKS[clock]
    whole = _Timed(content, num_threads, feeds, tick)
    empty = _Timed(_empty_model(model, graph.tensors[graph.inputs[0]].type), num_threads, [feeds[0].reshape(-1)[:1]], tick)
    ops = []
    for index, op in enumerate(graph.operators):
        name = _opcode_name(model, op.opcodeIndex)
        entry = {
            "index": index,
            "op": name,
            "input_shapes": [list(values[i].shape) if i in values else None for i in op.inputs if i >= 0],
            "output_shape": list(values[op.outputs[0]].shape) if op.outputs[0] in values else None,
            "dtype": str(values[op.outputs[0]].dtype) if op.outputs[0] in values else None,
        }
        timed = None
        if name not in _SUBGRAPH_OPS:
            content_one, sources = _one_op_model(model, op, values)
            if all(s in values for s in sources):
                timed = _Timed(content_one, num_threads, [values[s] for s in sources], tick)
        entry["timed"] = timed
        ops.append(entry)

    timers = [whole, empty] + [e["timed"] for e in ops if e["timed"] is not None]
    for timer in timers:
        for _ in range(warmup):
            timer.interpreter.invoke()
        timer.calibrate(block_ms)
    for _ in range(rounds):
        for timer in timers:
            timer.block()

    overhead = empty.median()
    for e in ops:
        timed = e.pop("timed")
        e["ms"] = None if timed is None else max(0.0, timed.median() - overhead)
        e["xnnpack"] = None if timed is None else timed.delegated
    total = sum(e["ms"] for e in ops if e["ms"] is not None)
    for e in ops:
        e["share"] = None if e["ms"] is None else (e["ms"] / total if total else 0.0)
    types = {}
    for e in ops:
        t = types.setdefault(e["op"], {"op": e["op"], "count": 0, "ms": 0.0, "xnnpack_count": 0})
        t["count"] += 1
        t["ms"] += e["ms"] or 0.0
        t["xnnpack_count"] += int(bool(e["xnnpack"]))
    for t in types.values():
        t["share"] = t["ms"] / total if total else 0.0
    return {
        "path": path,
        "num_threads": num_threads,
        "batch_size": batch_size,
        "rounds": rounds,
        "clock": clock,
        "model_ms": whole.median(),
        "ops_total_ms": total,
        "overhead_ms": overhead,
        "ops": ops,
        "op_types": sorted(types.values(), key=lambda t: -t["ms"]),
    }


def format_profile(profile, top=15):
    """Markdown tables of a `profile_tflite` result: op types, then the `top` slowest ops."""
    lines = [
        f"{profile['path']}: {profile['num_threads']} thread(s), batch {profile['batch_size']}, "
        f"{profile.get('clock', 'wall')} time; whole model "
        f"{profile['model_ms']:.3f} ms, ops alone sum to {profile['ops_total_ms']:.3f} ms "
        f"(empty invoke {profile['overhead_ms'] * 1000:.1f} us subtracted per op)",
        "",
        "| op type | count | ms | share | on XNNPACK |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in profile["op_types"]:
        lines.append(f"| {t['op']} | {t['count']} | {t['ms']:.3f} | {t['share']:.1%} | {t['xnnpack_count']}/{t['count']} |")
    lines += ["", "| # | op | ms | share | XNNPACK | dtype | inputs -> output |", "|---:|---|---:|---:|---|---|---|"]
    timed = sorted((e for e in profile["ops"] if e["ms"] is not None), key=lambda e: -e["ms"])
    for e in timed[:top]:
        shapes = " ".join("x".join(map(str, s)) if s else "-" for s in e["input_shapes"])
        out = "x".join(map(str, e["output_shape"])) if e["output_shape"] else "-"
        lines.append(
            f"| {e['index']} | {e['op']} | {e['ms']:.3f} | {e['share']:.1%} | {'yes' if e['xnnpack'] else 'no'} "
            f"| {e['dtype']} | {shapes} -> {out} |"
        )
    untimed = [e for e in profile["ops"] if e["ms"] is None]
    if untimed:
        lines += ["", "Not timed alone (call subgraphs or lack values): " + ", ".join(f"{e['index']} {e['op']}" for e in untimed)]
    return "\n".join(lines)
