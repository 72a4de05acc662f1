"""Checkpoint converters (Hugging Face / PyTorch safetensors) into tfaudio models."""
