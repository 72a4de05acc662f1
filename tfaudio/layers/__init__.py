"""tfaudio.layers."""
