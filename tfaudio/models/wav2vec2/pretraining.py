"""wav2vec 2.0 self-supervised pretraining: masked contrastive task over quantized targets, for `model.fit`."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.models.task import Task, stores_arguments
from tfaudio.models.wav2vec2.classifier import backbone_clip_seconds
from tfaudio.models.wav2vec2.quantizer import GumbelVectorQuantizer


def sample_negative_indices(mask_time_indices, num_negatives):
    """Draws distractor frames for every frame, uniformly among the *masked* frames of the same example.

    The TF counterpart of transformers' `_sample_negative_indices`: a frame never
    draws itself; indices are flat over `batch * frames` (row offset included).

    Args:
        mask_time_indices: bool `[batch, frames]`.
        num_negatives: int. K.

    Returns:
        int32 `[batch, frames, K]`.
    """
    mask = tf.cast(mask_time_indices, tf.bool)
    shape = tf.shape(mask)
    batch, frames = shape[0], shape[1]
    positions = tf.range(frames)
    # Masked positions first, in order: row b's first `count[b]` entries are its masked frames.
    order = tf.argsort(tf.where(mask, positions[None, :], positions[None, :] + frames), axis=1, stable=True)
    count = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    own_rank = tf.cumsum(tf.cast(mask, tf.int32), axis=1) - 1  # rank of a masked frame among masked frames
    high = tf.maximum(count - 1, 1)[:, None, None]
    uniform = tf.random.uniform(tf.stack([batch, frames, num_negatives]))
    draw = tf.minimum(tf.cast(uniform * tf.cast(high, tf.float32), tf.int32), high - 1)
    draw = tf.where(draw >= own_rank[:, :, None], draw + 1, draw)  # skip the frame itself
    draw = tf.minimum(draw, tf.maximum(count - 1, 0)[:, None, None])
    sampled = tf.gather(order, draw, batch_dims=1)
    return sampled + (tf.range(batch) * frames)[:, None, None]


def contrastive_logits(predicted, targets, temperature):
    """Cosine similarity of `predicted [B, T, D]` with `targets [K + 1, B, T, D]`, over `temperature`."""
    dot = tf.reduce_sum(predicted[None] * targets, axis=-1)
    norms = tf.maximum(tf.norm(predicted, axis=-1)[None], 1e-8) * tf.maximum(tf.norm(targets, axis=-1), 1e-8)
    return dot / norms / temperature


class GumbelTemperatureDecay(keras.callbacks.Callback):
    """Anneals the quantizer's Gumbel-softmax temperature per step: `max(start * decay**step, end)`.

    The schedule of the wav2vec 2.0 paper (2 -> 0.5, factor 0.999995 per update) as used by
    transformers' pretraining example.

    Args:
        start: float. Defaults to 2.0.
        end: float. Defaults to 0.5.
        decay: float. Per-step factor. Defaults to 0.999995.
    """

    def __init__(self, start=2.0, end=0.5, decay=0.999995):
        super().__init__()
        if not 0 < end <= start:
            raise ValueError(f"Need 0 < end <= start. Received: start={start}, end={end}")
        self.start = start
        self.end = end
        self.decay = decay
        self._step = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.model.quantizer.set_temperature(max(self.start * self.decay**self._step, self.end))
        self._step += 1


@register_serializable
class Wav2Vec2PreTrainer(Task):
    """wav2vec 2.0 pretraining model, like transformers' `Wav2Vec2ForPreTraining`, trainable with `fit`.

    A subclassed `Task` (its own `call`: masks and distractors are drawn per batch), so its
    config, backbone (de)serialization and `sample_rate` / `clip_seconds` are `Task`'s.

    Masks spans of the projected features, encodes them with the transformer, and learns
    to pick each masked frame's quantized latent among `num_negatives` distractors from
    the same utterance (contrastive loss, summed over masked frames), plus the codebook
    diversity loss `(G*V - perplexity) / (G*V) * num_masked` (arXiv 2006.11477, eq. 2-4).

    Args:
        backbone: `Wav2Vec2Backbone`. Its masking settings draw the time masks.
        num_codevector_groups: int. G. Defaults to 2.
        num_codevectors_per_group: int. V. Defaults to 320.
        codevector_dim: int. Quantized vector width. Defaults to 256.
        proj_codevector_dim: int. Width of the contrastive space. Defaults to 256.
        num_negatives: int. Distractors per masked frame. Defaults to 100.
        contrastive_logits_temperature: float. kappa. Defaults to 0.1.
        diversity_loss_weight: float. alpha. Defaults to 0.1.
        feature_quantizer_dropout: float. Dropout on the features before quantization.
            Defaults to 0.0.
        gumbel_temperature: float. Initial Gumbel-softmax temperature. Defaults to 2.0.
        sample_rate: int. Sample rate of the audio, in Hz. Defaults to 16000.
        clip_seconds: float or None. As `Wav2Vec2Classifier`'s: None derives it
            from the backbone's `num_samples`. Defaults to None.

    Call arguments:
        inputs: waveform `[batch, samples]`, or a dict with `"waveform"` and optionally
            `"padding_mask"` `[batch, samples]`, `"mask_time_indices"` bool `[batch, frames]`
            and `"sampled_negative_indices"` int `[batch, frames, K]` (flat, as transformers).
            Missing masks/negatives are drawn at random.
        training: bool.

    Returns:
        dict with `loss`, `contrastive_loss`, `diversity_loss`, `codevector_perplexity`,
        `projected_states`, `projected_quantized_states`, `mask_time_indices`.

    Example:
    >>> pretrainer = Wav2Vec2PreTrainer(backbone, num_negatives=10)
    >>> pretrainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    >>> pretrainer.fit(unlabeled_waveforms_dataset, epochs=1)
    """

    @stores_arguments
    def __init__(
        self,
        backbone,
        num_codevector_groups=2,
        num_codevectors_per_group=320,
        codevector_dim=256,
        proj_codevector_dim=256,
        num_negatives=100,
        contrastive_logits_temperature=0.1,
        diversity_loss_weight=0.1,
        feature_quantizer_dropout=0.0,
        gumbel_temperature=2.0,
        sample_rate=16000,
        clip_seconds=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_negatives < 1:
            raise ValueError(f"`num_negatives` must be positive. Received: num_negatives={num_negatives!r}")
        # The other arguments are stored by `stores_arguments` once this returns.
        self.sample_rate = sample_rate
        self.clip_seconds = backbone_clip_seconds(backbone, sample_rate, clip_seconds)
        self.backbone = backbone

        self.dropout_features = keras.layers.Dropout(feature_quantizer_dropout, name="dropout_features")
        self.quantizer = GumbelVectorQuantizer(
            num_codevector_groups, num_codevectors_per_group, codevector_dim, gumbel_temperature, name="quantizer"
        )
        self.project_hid = keras.layers.Dense(proj_codevector_dim, name="project_hid")
        self.project_q = keras.layers.Dense(proj_codevector_dim, name="project_q")
        self.quantizer.build((None, None, backbone.conv_dims[-1]))
        self.project_hid.build((None, None, backbone.hidden_dim))
        self.project_q.build((None, None, codevector_dim))

        self.contrastive_loss_tracker = keras.metrics.Mean(name="contrastive_loss")
        self.diversity_loss_tracker = keras.metrics.Mean(name="diversity_loss")
        self.perplexity_tracker = keras.metrics.Mean(name="codevector_perplexity")

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict):
            inputs = {"waveform": inputs}
        backbone = self.backbone
        features = backbone.feature_encoder(inputs["waveform"])
        hidden, extract_features = backbone.feature_projection(features, training=training)
        frame_mask = None
        if inputs.get("padding_mask") is not None:
            frame_mask = backbone.frame_padding_mask(inputs["padding_mask"], features)
        mask_time = inputs.get("mask_time_indices")
        if mask_time is None:
            mask_time = backbone.masking.random_time_mask(hidden, frame_mask)
        mask_time = tf.cast(mask_time, tf.bool)
        hidden = backbone.masking(hidden, mask_time_indices=mask_time, padding_mask=frame_mask, training=training)
        sequence = backbone.encoder(hidden, padding_mask=frame_mask, training=training)

        # 1. Contextual features and 2. quantized targets, both in the contrastive space.
        transformer_features = self.project_hid(sequence)
        extract_features = self.dropout_features(extract_features, training=training)
        quantized, perplexity = self.quantizer(extract_features, frame_mask=mask_time, training=training)
        quantized = self.project_q(quantized)

        # 3. Distractors: other masked frames of the same utterance.
        negative_indices = inputs.get("sampled_negative_indices")
        if negative_indices is None:
            negative_indices = sample_negative_indices(mask_time, self.num_negatives)
        shape = tf.shape(quantized)
        batch, frames, width = shape[0], shape[1], shape[2]
        flat = tf.reshape(quantized, [-1, width])
        negatives = tf.gather(flat, tf.reshape(tf.cast(negative_indices, tf.int32), [-1]))
        negatives = tf.transpose(tf.reshape(negatives, [batch, frames, -1, width]), [2, 0, 1, 3])

        # 4. Cosine-similarity logits, positive first; distractors equal to the positive are excluded.
        targets = tf.concat([quantized[None], negatives], axis=0)
        logits = contrastive_logits(transformer_features, targets, self.contrastive_logits_temperature)
        neg_is_pos = tf.reduce_all(tf.equal(quantized[None], negatives), axis=-1)
        neg_is_pos = tf.concat([tf.zeros_like(neg_is_pos[:1]), neg_is_pos], axis=0)
        logits = tf.where(neg_is_pos, tf.constant(float("-inf"), logits.dtype), logits)

        # 5. Cross entropy with the positive as target, summed over masked frames.
        log_probs = tf.nn.log_softmax(logits, axis=0)[0]  # [batch, frames]
        mask_float = tf.cast(mask_time, log_probs.dtype)
        contrastive_loss = -tf.reduce_sum(tf.where(mask_time, log_probs, tf.zeros_like(log_probs)))
        num_codevectors = float(self.num_codevector_groups * self.num_codevectors_per_group)
        diversity_loss = (num_codevectors - perplexity) / num_codevectors * tf.reduce_sum(mask_float)
        loss = contrastive_loss + self.diversity_loss_weight * diversity_loss
        return {
            "loss": loss,
            "contrastive_loss": contrastive_loss,
            "diversity_loss": diversity_loss,
            "codevector_perplexity": perplexity,
            "projected_states": transformer_features,
            "projected_quantized_states": quantized,
            "mask_time_indices": mask_time,
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        self.contrastive_loss_tracker.update_state(y_pred["contrastive_loss"])
        self.diversity_loss_tracker.update_state(y_pred["diversity_loss"])
        self.perplexity_tracker.update_state(y_pred["codevector_perplexity"])
        return y_pred["loss"]
