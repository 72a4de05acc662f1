"""tfaudio.bench."""
