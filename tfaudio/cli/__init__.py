"""tfaudio.cli."""
