"""tfaudio.data."""
