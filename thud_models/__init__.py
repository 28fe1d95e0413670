"""Answerers: baselines, model adapters, `thud run` and the audio-path check."""
