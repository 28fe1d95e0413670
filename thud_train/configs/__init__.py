"""Example configs of the trainer (YAML); ``thud train sft --config tiny_omni`` finds them by name."""
