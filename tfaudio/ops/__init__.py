"""tfaudio.ops: pure math, no layers (DFT/framing kernels in `stft`, mel filterbanks in `mel`)."""

from tfaudio.ops import mel, stft  # noqa: F401
