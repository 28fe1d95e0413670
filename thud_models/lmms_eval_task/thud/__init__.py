"""The lmms-eval task folder (``thud.yaml`` + ``utils.py``); lmms-eval loads it by path."""
