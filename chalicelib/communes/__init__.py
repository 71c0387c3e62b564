"""Commune-code map (M10): matching the tax authority's commune codes to the statistics commune codes.

Pure capability: normalise.py (comparable forms of commune names), domain.py (rows, results, the confirmed map),
matching.py (the matcher and its bench), tabular.py (CSV/XLSX import and export). No AWS here.
"""
