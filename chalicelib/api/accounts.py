"""Blueprint placeholder: routes arrive with their feature (see the issue tracker)."""
from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
