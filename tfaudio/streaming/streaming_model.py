"""StreamingModel: a trained windowed classifier rewritten to take one hop of samples per call, with state.

The rewrite walks the Keras functional graph once (nested functional models included) and
gives every layer a streaming rule, from the shapes the layer sees in the non-streaming model:

- frontend (`LogMelSpectrogram`): keeps the last `fft_length - frame_step` samples and computes
  only the new frames of each hop (one DFT convolution over `fft_length + (H - 1) * frame_step`
  samples for H new frames);
- frame-wise layers (batch norm, activations, 1-frame convolutions, Dense on channels, merges of
  tensors with the same frames, ...): applied to the new frames only;
- layers that mix time (convolutions, pooling): a ring buffer of their last input frames; each new
  frame runs the unchanged layer on exactly the frames its newest non-streaming output reads;
- global pooling and Flatten over time: a buffer of the whole window's frames at that depth;
- cropping in time: a delay line.

A layer with time stride `s` makes every later layer read frames `s` times further apart. By
default (`all_phases=True`) the streaming model still computes one output per layer per frame
(every phase of the stride), so its output equals the non-streaming model's on the window ending
at every frame, whatever `frames_per_hop`. With `all_phases=False` (kws_streaming's way) each layer
computes only the frames that the windows ending at each hop read: `frames_per_hop` must then be a
multiple of the model's `time_stride`, and the later layers buffer `s` times fewer frames and run
`s` times less often. Exactness needs each window's computation to depend on that window's frames
only, which rules out (with the reason in the error): zero padding in time ("same"/"causal"
convolutions, ZeroPadding in time, the frontend's `center=True`), per-window statistics
(`PeakNormalization`, `UtteranceNormalization`, the frontend's `top_db` clamp relative to each
window's peak, LayerNormalization or softmax over time), resizing the spectrogram image
(`Resizing`), attention and recurrent layers over the window, and tensors that combine a
per-window value with per-frame values (squeeze-and-excitation over time).

State tensors are `[batch, frames_or_samples, ...]` zeros at the start of a stream. The first
`window_samples` of a stream are warm-up: outputs before then mix in the zero state.
"""

import numpy as np
import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.layers.log_mel_spectrogram import LogMelSpectrogram

# Layers that are the identity at inference (augmentation, dropout, noise).
_INFERENCE_IDENTITY = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "SpecAugment",
    "RandomGain",
    "RandomEqualizer",
    "TimeShift",
    "AdditiveNoise",
    "Identity",
)
# Layers that act on each frame on its own as long as they keep the time axis.
_FRAMEWISE = {
    "Activation",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Rescaling",
    "Identity",
}
_MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"}
_CONVOLUTIONS = {
    "Conv1D",
    "Conv2D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
}
_POOLINGS = {"MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"}
_GLOBAL_POOLINGS = {"GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D"}
# Why a layer cannot stream exactly, by class name.
_CANNOT_STREAM = {
    "PeakNormalization": "it divides each window by that window's own peak, so every frame depends on the whole window",
    "UtteranceNormalization": "it standardises each window by that window's own mean and variance",
    "Resizing": "it resamples the whole spectrogram image, so every output frame mixes frames across the window",
    "MultiHeadAttention": "attention over time makes every frame depend on the whole window",
    "TransformerEncoderBlock": "attention over time makes every frame depend on the whole window",
    "LSTM": "a recurrent layer starts from a zero state at each window's first frame",
    "GRU": "a recurrent layer starts from a zero state at each window's first frame",
    "SimpleRNN": "a recurrent layer starts from a zero state at each window's first frame",
    "Bidirectional": "a recurrent layer starts from a zero state at each window's first frame",
    "Conv2DTranspose": "a transposed convolution spreads each frame over later frames of the window",
    "Conv1DTranspose": "a transposed convolution spreads each frame over later frames of the window",
    "UpSampling1D": "upsampling in time is not defined frame by frame",
    "UpSampling2D": "upsampling in time is not defined frame by frame",
}

# Frame-wise unless their `axis` is time: why not, then.
_AXIS_LAYERS = {
    "BatchNormalization": "it normalises each frame position separately (axis is time)",
    "LayerNormalization": "it normalises over time, i.e. over the window",
    "Softmax": "a softmax over time depends on the whole window",
}

_FRAMEWISE_CLASSES = set()


def register_framewise(cls):
    """Declares a custom layer class frame-wise: its output frame t depends on its input frame t only.

    The streaming converter then applies the layer to the new frames alone. Use it as a class
    decorator or call it; returns `cls`.
    """
    _FRAMEWISE_CLASSES.add(cls)
    return cls


class StreamingError(ValueError):
    """A model (or one of its layers) that cannot be turned into an exact streaming model."""


class _Info:
    """How a tensor of the non-streaming model streams.

    domain: "samples" (waveform), "frames" (time on axis 1) or "window" (no time axis).
    length: frames (or samples) of the tensor in the non-streaming model.
    spacing: input frames between two consecutive frames of the tensor (the product of the
        time strides before it).
    """

    def __init__(self, domain, length=None, spacing=1):
        self.domain = domain
        self.length = length
        self.spacing = spacing


def _class_name(op):
    return type(op).__name__


def _time_params(layer, kind):
    """(extent, kernel, stride, dilation, padding) along time (axis 1) of a convolution or pooling."""
    if kind == "conv":
        kernel = layer.kernel_size[0]
        stride = layer.strides[0]
        dilation = layer.dilation_rate[0]
    else:
        kernel = layer.pool_size[0]
        stride = layer.strides[0] if layer.strides is not None else kernel
        dilation = 1
    return (kernel - 1) * dilation + 1, kernel, stride, dilation, layer.padding


class StreamingModel:
    """A windowed Keras classifier run one hop at a time, with its state passed in and out.

    Args:
        model: keras.Model. A functional model taking float32 waveforms
            `[batch, samples]` into a `LogMelSpectrogram` frontend (e.g. a `tfaudio`
            `ds_cnn` or `bc_resnet` built for exact streaming), returning
            `[batch, classes]` logits.
        frames_per_hop: int. Frontend frames computed per call; a hop is
            `frames_per_hop * frame_step` samples. Defaults to 1.
        all_phases: bool. True: after a layer with time stride `s`, the
            later layers compute all `s` phases, so the output is exact at
            every hop for any `frames_per_hop`. False: they compute only the
            frames each hop's window reads (`s` times fewer, with `s` times
            smaller buffers); `frames_per_hop` must be a multiple of
            `time_stride`. Defaults to True.

    Attributes:
        hop_samples: int. Samples per call.
        window_samples: int. Samples of the non-streaming model's input.
        lookahead_samples: int. Trailing samples of a window that no frame reads:
            after the hop ending at sample `t` the output equals the non-streaming
            model's on `audio[t + lookahead - window : t + lookahead]`.
        sample_rate: int.
        state_specs: list of `(name, shape)`, `shape` without the batch axis.
        time_stride: int. Frontend frames between two consecutive frames of the
            model's most strided tensor (the product of its time strides).
        exact: bool. True when the output equals the non-streaming model's on the
            window ending at every hop. False for models padded causally in time
            (`causal_layers`): their ring buffers hold the real past where the
            non-streaming model pads zeros at each window's start, so only the
            first window after a reset (with `initial_states(prime=...)`) matches
            exactly, as in kws_streaming.

    Raises:
        StreamingError: a layer that cannot stream exactly; the message names it
            and says why.

    Example:
    >>> stream = StreamingModel(model)
    >>> states = stream.initial_states()
    >>> for hop in hops:  # float32 [1, stream.hop_samples]
    ...     logits, states = stream.step(hop, states)
    """

    def __init__(self, model, frames_per_hop=1, all_phases=True):
        if _functional(model) is None:
            raise StreamingError(f"Only functional Keras models can stream. Received: model={model!r}")
        if not isinstance(frames_per_hop, (int, np.integer)) or frames_per_hop < 1:
            raise ValueError(f"`frames_per_hop` must be a positive integer. Received: frames_per_hop={frames_per_hop!r}")
        if len(model.inputs) != 1 or len(model.inputs[0].shape) != 2 or model.inputs[0].shape[1] is None:
            raise StreamingError(
                f"The model must take one waveform input [batch, samples] of fixed length. "
                f"Received: inputs={[tuple(i.shape) for i in model.inputs]}"
            )
        if len(model.outputs) != 1:
            raise StreamingError(f"The model must have one output. Received: {len(model.outputs)} outputs")
        if not isinstance(all_phases, bool):
            raise ValueError(f"`all_phases` must be True or False. Received: all_phases={all_phases!r}")
        self.model = model
        self._graph = _functional(model)
        self.frames_per_hop = int(frames_per_hop)
        self.all_phases = all_phases
        self.window_samples = int(model.inputs[0].shape[1])
        self.num_classes = int(model.outputs[0].shape[-1])
        self._frontend = None
        self._infos = {}
        self._rules = {}  # id(node) -> how the node runs in a step
        self.causal_layers = []
        self._states = []  # (name, shape) in the order of first use
        self._analyse(self._graph, [_Info("samples", self.window_samples)])
        if self._frontend is None:
            raise StreamingError("The model has no LogMelSpectrogram frontend to stream from.")
        out = self._infos[id(self._graph.outputs[0])]
        if out.domain == "samples":
            raise StreamingError("The model's output does not come from the frontend's frames.")
        frontend = self._frontend
        self.sample_rate = int(frontend.sample_rate)
        self.frame_step = int(frontend.frame_step)
        self.hop_samples = self.frames_per_hop * self.frame_step
        frames = 1 + (self.window_samples - frontend.fft_length) // self.frame_step
        self.lookahead_samples = self.window_samples - (frontend.fft_length + (frames - 1) * self.frame_step)
        self.state_specs = list(self._states)
        self.time_stride = max(i.spacing for i in self._infos.values() if i.domain == "frames")
        self.exact = not self.causal_layers
        self._step_fn = None

    # --- analysis: infos of every tensor and the states -------------------------------------

    def _analyse(self, model, input_infos):
        for tensor, info in zip(model.inputs, input_infos):
            self._infos[id(tensor)] = info
        for depth in sorted(model._nodes_by_depth, reverse=True):
            for node in model._nodes_by_depth[depth]:
                if node.operation is None or node.is_input:
                    continue
                op = node.operation
                ins = [self._infos[id(t)] for t in node.input_tensors]
                inner = _functional(op)
                if inner is not None:
                    self._analyse(inner, ins)
                    outs = [self._infos[id(t)] for t in inner.outputs]
                else:
                    outs = self._rule(op, node, ins)
                for tensor, info in zip(node.outputs, outs):
                    self._infos[id(tensor)] = info

    def _fail(self, op, reason):
        raise StreamingError(f"Layer {op.name!r} ({_class_name(op)}) cannot stream exactly: {reason}.")

    def _state(self, op, shape):
        name = op.name
        names = [n for n, _ in self._states]
        while name in names:
            name += "_"
        self._states.append((name, tuple(int(s) for s in shape)))
        return name

    def _rule(self, op, node, ins):
        """Output infos of `node`; records a step rule in `op` for the step function."""
        name = _class_name(op)
        out_shapes = [tuple(t.shape) for t in node.outputs]
        in_shapes = [tuple(t.shape) for t in node.input_tensors]
        rules = self._rules

        if name in _INFERENCE_IDENTITY:
            rules[id(node)] = ("identity",)
            return [ins[0]]
        if name in _CANNOT_STREAM:
            self._fail(op, _CANNOT_STREAM[name])

        if isinstance(op, LogMelSpectrogram):
            if ins[0].domain != "samples":
                self._fail(op, "the frontend must read the waveform")
            if self._frontend is not None:
                self._fail(op, "the model has more than one frontend")
            if op.center:
                self._fail(op, "center=True zero-pads each window at both ends; build the frontend with center=False")
            if op.log is not None and op.top_db is not None:
                self._fail(
                    op,
                    "top_db clamps each frame relative to the window's peak; build the frontend with top_db=None "
                    "(the amin floor bounds the range instead)",
                )
            self._frontend = op
            keep = op.fft_length - op.frame_step
            state = self._state(op, (keep,)) if keep > 0 else None
            self._frontend_state = state
            rules[id(node)] = ("frontend", state)
            return [_Info("frames", out_shapes[0][1], 1)]

        info = ins[0]
        if any(i.domain == "samples" for i in ins):
            self._fail(op, "only the frontend (and inference-time identities) may read the waveform")

        if name in _MERGES or (len(ins) > 1):
            if name not in _MERGES:
                self._fail(op, "layers with several inputs are streamed only for Add/Multiply/Concatenate-style merges")
            framed = [i for i in ins if i.domain == "frames"]
            if framed and len(framed) != len(ins):
                self._fail(op, "it combines a per-window value with per-frame values")
            if framed:
                lengths = {i.length for i in framed}
                if 1 in lengths and len(lengths) > 1:
                    self._fail(op, "it combines a per-window value (time length 1) with per-frame values")
                if len({(i.length, i.spacing) for i in framed}) != 1:
                    self._fail(op, "its inputs have different frames in time (crop the longer one in time)")
                if any(s[1] != in_shapes[0][1] for s in in_shapes) or (
                    name == "Concatenate" and op.axis in (1, 1 - len(in_shapes[0]))
                ):
                    self._fail(op, "its inputs do not line up frame by frame")
            rules[id(node)] = ("apply",)
            return [ins[0] if not framed else framed[0]]

        if info.domain == "window":
            rules[id(node)] = ("apply",)
            return [_Info("window")]

        # info.domain == "frames": time is axis 1 of the input.
        length, spacing = info.length, info.spacing
        out_len = out_shapes[0][1] if len(out_shapes[0]) > 1 else None

        if name in _CONVOLUTIONS or name in _POOLINGS:
            kind = "conv" if name in _CONVOLUTIONS else "pool"
            extent, kernel, stride, dilation, padding = _time_params(op, kind)
            valid_len = (length - extent) // stride + 1
            if padding != "valid" and not (padding == "same" and extent == 1 and stride == 1):
                if padding == "same" and out_len == valid_len and (length - 1) // stride * stride + extent == length:
                    pass  # "same" that pads nothing in time
                else:
                    self._fail(
                        op,
                        f"padding={padding!r} adds zeros in time at the window's edges; use padding='valid' in time "
                        "(an explicit ZeroPadding2D(((0, 0), (p, p))) keeps 'same' in frequency)",
                    )
            if out_len != valid_len:
                self._fail(op, f"its output has {out_len} frames where valid padding in time gives {valid_len}")
            dropped = (length - extent) % stride
            if not self.all_phases:
                return [self._one_phase_rule(op, node, info, in_shapes[0], extent, stride, dropped, out_len)]
            span = (dropped + extent - 1) * spacing + _gather_pad(extent, spacing)  # buffered input frames
            state = self._state(op, (span,) + in_shapes[0][2:]) if span else None
            rules[id(node)] = ("window_op", state, extent, spacing, False)
            return [_Info("frames", out_len, spacing * stride)]

        if name in _GLOBAL_POOLINGS or name == "Flatten":
            if name == "Flatten" and len(in_shapes[0]) == 2:
                rules[id(node)] = ("identity",)
                return [info]
            keeps_time = len(out_shapes[0]) == len(in_shapes[0])
            out = _Info("frames", 1, spacing) if keeps_time else _Info("window")
            if not self.all_phases:  # the newest window's `length` frames
                span = max(0, length - self._rate(info))
                state = self._state(op, (span,) + in_shapes[0][2:]) if span else None
                rules[id(node)] = ("newest_window_op", state, length)
                return [out]
            span = (length - 1) * spacing + _gather_pad(length, spacing)
            state = self._state(op, (span,) + in_shapes[0][2:]) if span else None
            rules[id(node)] = ("window_op", state, length, spacing, not keeps_time)
            return [out]

        if name in ("Cropping1D", "Cropping2D"):
            (before, after) = op.cropping[0]
            delay = after * (spacing if self.all_phases else 1)  # buffer entries between two frames
            state = self._state(op, (delay,) + in_shapes[0][2:]) if delay else None
            rules[id(node)] = ("delay", state, delay)
            return [_Info("frames", out_len, spacing)]

        if name in ("ZeroPadding1D", "ZeroPadding2D"):
            before, after = (op.padding[0], op.padding[0]) if isinstance(op.padding[0], int) else tuple(op.padding[0])
            if after:
                self._fail(op, "zero padding at the end of the window in time needs future frames")
            if before:
                # Causal padding: the next layer's ring buffer holds the past instead of these zeros.
                self.causal_layers.append(op.name)
            rules[id(node)] = ("apply_rest",) if len(in_shapes[0]) == 4 else ("identity",)
            return [_Info("frames", out_len, spacing)]

        if name == "Reshape":
            if out_len == length and len(out_shapes[0]) > 2:
                rules[id(node)] = ("reshape", out_shapes[0][2:])
                return [info]
            self._fail(op, "it folds the time axis into other axes (use Flatten or global pooling at the end)")

        if name in _AXIS_LAYERS:
            axes = [op.axis] if isinstance(op.axis, int) else list(op.axis)
            if any(a in (1, 1 - len(in_shapes[0])) for a in axes):
                self._fail(op, _AXIS_LAYERS[name])
            rules[id(node)] = ("apply",)
            return [info]

        if name == "Dense" or name == "EinsumDense":
            if len(in_shapes[0]) < 3 or name == "EinsumDense":
                self._fail(op, "it mixes the time axis")
            rules[id(node)] = ("apply",)
            return [info]

        if name in _FRAMEWISE or type(op) in _FRAMEWISE_CLASSES or any(
            isinstance(op, cls) for cls in _FRAMEWISE_CLASSES
        ):
            if out_len != length:
                self._fail(op, "it is declared frame-wise but changes the number of frames")
            rules[id(node)] = ("apply",)
            return [info]

        self._fail(
            op,
            "the streaming converter does not know whether it mixes frames; if its output frame t depends only "
            "on input frame t, declare it with tfaudio.streaming.register_framewise",
        )

    def _rate(self, info):
        """New frames of a tensor per hop: all of them with every phase, else one per `spacing` input frames."""
        return self.frames_per_hop if self.all_phases else self.frames_per_hop // info.spacing

    def _one_phase_rule(self, op, node, info, in_shape, extent, stride, dropped, out_len):
        """Rule of a convolution or pooling when only the phase each hop's window reads is computed."""
        rate = self._rate(info)
        if rate % stride:
            self._fail(
                op,
                f"with all_phases=False its time stride {stride} needs a multiple of {stride} new frames per hop, and "
                f"{rate} arrive; `frames_per_hop` must be a multiple of {info.spacing * stride} "
                f"(Received: frames_per_hop={self.frames_per_hop})",
            )
        # The newest of the hop's `rate / stride` outputs reads the `extent` frames ending `dropped` before the
        # newest input frame; the oldest starts `rate - stride` frames earlier.
        span = max(0, dropped + extent - stride)
        state = self._state(op, (span,) + in_shape[2:]) if span else None
        self._rules[id(node)] = ("strided_op", state, extent, stride, dropped)
        return _Info("frames", out_len, info.spacing * stride)

    # --- the step --------------------------------------------------------------------------

    @property
    def prime_samples(self):
        """Samples the frontend keeps between hops (`fft_length - frame_step`, or 0)."""
        return max(0, self._frontend.fft_length - self.frame_step)

    def initial_states(self, batch_size=1, prime=None):
        """States at the start of a stream, float32, in `state_specs` order.

        Zeros, or with `prime` (float32 `[batch_size, prime_samples]`, a window's first
        samples) in the frontend's buffer: streaming the rest of that window hop by hop
        then reproduces the non-streaming frames from the window's first one, and a
        causally padded model's zero padding (see `exact`).
        """
        states = [np.zeros((batch_size,) + shape, np.float32) for _, shape in self.state_specs]
        if prime is not None:
            prime = np.asarray(prime, np.float32).reshape(batch_size, -1)
            if prime.shape[1] != self.prime_samples:
                raise ValueError(f"`prime` must have {self.prime_samples} samples. Received: shape={prime.shape}")
            index = [n for n, _ in self.state_specs].index(self._frontend_state)
            states[index] = prime
        return states

    def step_function(self, hop, states):
        """TF ops of one hop: `(logits [batch, classes], new_states)` from `hop` `[batch, hop_samples]`.

        `states` is a list in `state_specs` order. Traceable inside any `tf.function`.
        """
        current = {name: s for (name, _), s in zip(self.state_specs, states)}
        updated = {}
        out = self._run(self._graph, [tf.cast(hop, tf.float32)], current, updated)[0]
        if self._infos[id(self._graph.outputs[0])].domain == "frames":
            out = out[:, -1]
        new_states = [updated.get(name, current[name]) for name, _ in self.state_specs]
        return tf.cast(out, tf.float32), new_states

    def step(self, hop, states):
        """Runs one hop eagerly-fast (a traced `tf.function`): `(logits np.ndarray, new_states list)`."""
        if self._step_fn is None:
            self._step_fn = tf.function(self.step_function, reduce_retracing=True)
        hop = np.asarray(hop, np.float32)
        if hop.ndim != 2 or hop.shape[1] != self.hop_samples:
            raise ValueError(f"A hop must be [batch, {self.hop_samples}] samples. Received: shape={hop.shape}")
        logits, new = self._step_fn(tf.constant(hop), [tf.constant(s) for s in states])
        return logits.numpy(), [s.numpy() for s in new]

    def _run(self, model, inputs, current, updated):
        values = {id(t): v for t, v in zip(model.inputs, inputs)}
        for depth in sorted(model._nodes_by_depth, reverse=True):
            for node in model._nodes_by_depth[depth]:
                if node.operation is None or node.is_input:
                    continue
                op = node.operation
                inner = _functional(op)
                if inner is not None:
                    args = [values[id(t)] for t in node.input_tensors]
                    outs = self._run(inner, args, current, updated)
                else:
                    outs = self._apply(op, node, values, current, updated)
                for tensor, value in zip(node.outputs, outs):
                    values[id(tensor)] = value
        return [values[id(t)] for t in model.outputs]

    def _apply(self, op, node, values, current, updated):
        rule = self._rules[id(node)]
        kind = rule[0]
        x = values[id(node.input_tensors[0])]
        if kind == "identity":
            return [x]
        if kind == "apply":
            args, kwargs = node.arguments.fill_in(values)
            kwargs = dict(kwargs)
            if _takes_training(op):
                kwargs["training"] = False
            return [op(*args, **kwargs)]
        if kind == "apply_rest":  # ZeroPadding2D: the frequency part only
            (left, right) = op.padding[1] if not isinstance(op.padding[1], int) else (op.padding[1], op.padding[1])
            return [tf.pad(x, [[0, 0], [0, 0], [left, right], [0, 0]]) if (left or right) else x]
        if kind == "reshape":
            return [tf.reshape(x, [-1, tf.shape(x)[1], *rule[1]])]
        if kind == "frontend":
            state = rule[1]
            if state is None:
                need = op.fft_length + (self.frames_per_hop - 1) * op.frame_step
                buffer = x[:, -need:]
            else:
                buffer = tf.concat([current[state], x], axis=1)
                updated[state] = buffer[:, -(op.fft_length - op.frame_step) :]
            return [op(buffer, training=False)]
        if kind == "delay":
            _, state, delay = rule
            if state is None:
                return [self._crop_rest(op, x)]
            joined = tf.concat([current[state], x], axis=1)
            new = tf.shape(x)[1]
            updated[state] = joined[:, new:]
            return [self._crop_rest(op, joined[:, :new])]
        if kind == "window_op":
            _, state, extent, spacing, newest_only = rule
            pad = _gather_pad(extent, spacing)
            joined = x if state is None else tf.concat([current[state], x], axis=1)
            count = self.frames_per_hop if x.shape[1] is None else int(x.shape[1])
            if state is not None:
                updated[state] = joined[:, count:]
            if count == 1 or newest_only:  # global pooling / flatten: the newest frame's value
                return [_infer(op, _taps(joined, count - 1 + pad, extent, spacing))]
            # Every new frame's taps as one batch through one call of the layer: in int8 its outputs then share
            # one quantisation (separate calls joined by a CONCATENATION requantise each part).
            taps = tf.concat([_taps(joined, h + pad, extent, spacing) for h in range(count)], axis=0)
            out = _infer(op, taps)  # [count * batch, 1, ...]
            rest = [int(d) for d in out.shape[2:]]
            out = tf.reshape(out, [count, -1] + rest)
            return [tf.transpose(out, [1, 0] + list(range(2, 2 + len(rest))))]
        if kind == "strided_op":
            _, state, extent, stride, dropped = rule
            joined = x if state is None else tf.concat([current[state], x], axis=1)
            count = int(x.shape[1])
            outputs = count // stride
            end = int(joined.shape[1]) - dropped
            taps = _slice_time(joined, end - (outputs - 1) * stride - extent, (outputs - 1) * stride + extent)
            if state is not None:
                updated[state] = joined[:, count:]
            return [_infer(op, taps)]
        if kind == "newest_window_op":
            _, state, length = rule
            joined = x if state is None else tf.concat([current[state], x], axis=1)
            if state is not None:
                updated[state] = joined[:, -int(current[state].shape[1]) :]
            taps = _slice_time(joined, int(joined.shape[1]) - length, length)
            return [_infer(op, taps)]
        raise AssertionError(kind)

    @staticmethod
    def _crop_rest(op, x):
        """`x` with the layer's non-time cropping applied."""
        if _class_name(op) == "Cropping1D":
            return x
        (top, bottom), (left, right) = op.cropping
        end = -right if right else None
        return x[:, :, left:end]


def _gather_pad(extent, spacing):
    """Older frames a buffer keeps beyond the taps, so `_taps` gathers them with a reshape, not a strided slice."""
    return spacing - 1 if spacing > 1 and extent > 1 else 0


def _slice_time(x, start, size):
    """`x[:, start : start + size]`, skipped when it is all of `x` (XNNPACK refuses no-op slices)."""
    if start == 0 and size == x.shape[1]:
        return x
    return x[:, start : start + size]


def _taps(joined, start, extent, spacing):
    """Frames `start, start + spacing, ..., start + (extent - 1) * spacing` of `joined` (time on axis 1).

    With `spacing > 1` a strided slice in time would fall back from XNNPACK to TFLite's element-by-element
    kernel (measured 78 % of a DS-CNN hop, 4x slower than this); instead the `extent * spacing` frames ending at the last tap
    are reshaped to `[extent, spacing * rest]` and the last `rest` values of each row kept (contiguous
    slices and reshapes only). Needs `start >= spacing - 1` (`_gather_pad`).
    """
    if spacing == 1 or extent == 1:
        return _slice_time(joined, start, (extent - 1) * spacing + 1)
    rest = [int(d) for d in joined.shape[2:]]
    size = int(np.prod(rest, dtype=np.int64))
    block = _slice_time(joined, start - (spacing - 1), extent * spacing)
    rows = tf.reshape(block, [-1, extent, spacing * size])
    return tf.reshape(rows[:, :, (spacing - 1) * size :], [-1, extent] + rest)


def _functional(op):
    """The functional graph of a functional model or a built Sequential, else None."""
    if not isinstance(op, keras.Model):
        return None
    inner = getattr(op, "_functional", None)
    if inner is not None:
        return inner
    return op if hasattr(op, "_nodes_by_depth") else None


def _infer(op, x):
    """`op(x)` at inference (`training=False` where the layer takes it)."""
    return op(x, training=False) if _takes_training(op) else op(x)


def _takes_training(op):
    import inspect

    try:
        return "training" in inspect.signature(op.call).parameters
    except (TypeError, ValueError):
        return False


def _register_tfaudio_layers():
    from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization

    # Inference: a per-(frequency, channel) scale and offset.
    register_framewise(SubSpectralNormalization)


_register_tfaudio_layers()
