"""tfaudio.training."""
