"""tfaudio.layers."""

from tfaudio.layers.transformer_encoder import TransformerEncoderBlock  # noqa: E402,F401
from tfaudio.layers.log_mel_spectrogram import LogMelSpectrogram  # noqa: E402,F401
from tfaudio.layers.additive_noise import AdditiveNoise  # noqa: E402,F401
from tfaudio.layers.peak_normalization import PeakNormalization  # noqa: E402,F401
from tfaudio.layers.random_gain import RandomGain  # noqa: E402,F401
from tfaudio.layers.spec_augment import SpecAugment  # noqa: E402,F401
from tfaudio.layers.speed_perturbation import SpeedPerturbation  # noqa: E402,F401
from tfaudio.layers.random_equalizer import RandomEqualizer  # noqa: E402,F401
from tfaudio.layers.time_shift import TimeShift  # noqa: E402,F401
from tfaudio.layers.sinc_conv1d import SincConv1D  # noqa: E402,F401
from tfaudio.layers.utterance_normalization import UtteranceNormalization  # noqa: E402,F401
