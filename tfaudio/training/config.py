"""`TrainConfig`: every option of a training run, validated; saved as the run folder's run_config.json."""

import dataclasses

from tfaudio.training.strategy import MIXED_PRECISION, STRATEGIES


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run; saved as `run_config.json` in the run folder.

    Sizes: `batch_size` is per replica; the dataset is batched with
    `batch_size * replicas` (the global batch).
    """

    model: str
    data: str = None  # data spec "fsdd:PATH", "folder:PATH", "manifest:CSV"
    out: str = "runs/train"
    epochs: int = 10
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"  # adam | adamw | sgd
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | cosine (with warm-up)
    warmup_epochs: float = 0.0
    min_learning_rate: float = 0.0
    early_stopping_patience: int = 0  # 0: off
    monitor: str = "val_loss"
    strategy: str = "auto"
    mixed_precision: str = "none"
    seed: int = 0
    overrides: dict = dataclasses.field(default_factory=dict)
    # Augmentation (all off by default).
    spec_augment: bool = False
    freq_mask_param: int = 10
    num_freq_masks: int = 2
    time_mask_seconds: float = 0.1
    num_time_masks: int = 2
    time_warp_param: int = 0  # SpecAugment W in frames of the frontend's output; 0: off
    mixup: float = 0.0  # Beta(alpha, alpha); 0: off
    noise: bool = False  # white noise (implied by noise_dir)
    noise_dir: str = None
    min_snr_db: float = 5.0
    max_snr_db: float = 40.0
    gain_db: float = 0.0  # random gain in [-gain_db, gain_db]; 0: off
    time_shift_seconds: float = 0.0  # 0: off
    speed_perturbation: float = 0.0  # speed factor in [1 - x, 1 + x]; 0: off
    equalizer_db: float = 0.0  # RandomEqualizer: random smooth response of +-x dB (another microphone); 0: off
    # Background noise as the TensorFlow speech_commands training mixes it (BackgroundNoise): recordings
    # from background_noise_dir, else the data's own (speech_commands: _background_noise_ or training _silence_).
    background_noise: object = False  # True, False, or "auto": only when the data has its own noise
    background_noise_dir: str = None
    background_frequency: float = 0.8
    background_volume: float = 0.1
    label_smoothing: float = 0.0
    augment_probability: float = 1.0
    # Two-stage fine-tuning of models with a `backbone`.
    freeze_backbone: bool = False
    fine_tune_epochs: int = 0
    fine_tune_learning_rate: float = None
    # Run control.
    resume: bool = False
    steps_per_epoch: int = None
    backup_every_steps: int = None  # None: back up at the end of every epoch
    cache: str = "memory"
    precise_bn_batches: int = 0  # re-estimate BatchNorm statistics on this many batches after training; 0: off
    verbose: object = "auto"

    def to_json(self):
        return dataclasses.asdict(self)

    def validate(self):
        if self.epochs < 0:
            raise ValueError(f"`epochs` must be >= 0. Received: epochs={self.epochs!r}")
        if self.batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={self.batch_size!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive. Received: learning_rate={self.learning_rate!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"`schedule` must be 'constant' or 'cosine'. Received: schedule={self.schedule!r}")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"`optimizer` must be adam, adamw or sgd. Received: optimizer={self.optimizer!r}")
        if not 0 <= self.speed_perturbation < 1:
            raise ValueError(f"`speed_perturbation` must be in [0, 1). Received: speed_perturbation={self.speed_perturbation!r}")
        if not self.equalizer_db >= 0:
            raise ValueError(f"`equalizer_db` must be >= 0. Received: equalizer_db={self.equalizer_db!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"`label_smoothing` must be in [0, 1). Received: label_smoothing={self.label_smoothing!r}")
        if self.background_noise not in (True, False, "auto"):
            raise ValueError(
                f"`background_noise` must be True, False or 'auto'. Received: background_noise={self.background_noise!r}"
            )
        if not 0.0 <= self.background_frequency <= 1.0 or self.background_volume < 0:
            raise ValueError(
                "`background_frequency` must be in [0, 1] and `background_volume` >= 0. Received: "
                f"background_frequency={self.background_frequency!r}, background_volume={self.background_volume!r}"
            )
        if not isinstance(self.precise_bn_batches, int) or self.precise_bn_batches < 0:
            raise ValueError(
                f"`precise_bn_batches` must be an int >= 0. Received: precise_bn_batches={self.precise_bn_batches!r}"
            )
        if self.mixup < 0:
            raise ValueError(f"`mixup` must be >= 0. Received: mixup={self.mixup!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={self.strategy!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"`mixed_precision` must be one of {MIXED_PRECISION}. "
                f"Received: mixed_precision={self.mixed_precision!r}"
            )
        if self.time_warp_param and not self.spec_augment:
            raise ValueError(
                "`time_warp_param` is part of SpecAugment; set `spec_augment=True`. "
                f"Received: time_warp_param={self.time_warp_param!r}, spec_augment=False"
            )
        if self.fine_tune_epochs and not self.freeze_backbone:
            raise ValueError(
                "`fine_tune_epochs` continues a run whose backbone was frozen; set `freeze_backbone=True`. "
                f"Received: fine_tune_epochs={self.fine_tune_epochs!r}, freeze_backbone=False"
            )
