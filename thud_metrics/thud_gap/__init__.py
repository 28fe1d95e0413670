"""The ``thud_gap`` evaluate module (``thud_gap.py``) and its metric card (``README.md``).

Load it with ``evaluate.load(thud_metrics.THUD_GAP)`` or import ``ThudGap`` from
``thud_metrics.thud_gap.thud_gap``; importing this package alone imports no ``evaluate``.
"""
