"""Screenshot walks of the signed-in screens, one module per area (see web/screens.py)."""
