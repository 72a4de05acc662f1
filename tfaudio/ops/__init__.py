"""tfaudio.ops."""
