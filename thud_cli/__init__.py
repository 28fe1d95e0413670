"""The `thud` command line: a thin layer over functions users can also call from Python."""
