"""Figures as files or as images inside self-contained HTML pages (never windows)."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # plots are files, never windows
from matplotlib import pyplot as plt

__all__ = ["plt", "png_img"]


def png_img(fig: Any, dpi: int = 100) -> str:
    """The figure as an ``<img>`` tag holding a base64 PNG; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="figure" src="data:image/png;base64,{data}">'
