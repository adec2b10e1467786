"""swav_ts: SwAV self-supervised learning for sensor time series.

Data layout at every public boundary: ``(n_cases, n_channels, n_timepoints)``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["TimeSeriesSwAV", "TimeSeriesSwAVClassifier", "__version__"]


def __getattr__(name: str):
    # Deferred import: `import swav_ts` stays light (no sklearn / encoders until needed).
    if name == "TimeSeriesSwAV":
        from swav_ts.estimator import TimeSeriesSwAV

        return TimeSeriesSwAV
    if name == "TimeSeriesSwAVClassifier":
        from swav_ts.classifier import TimeSeriesSwAVClassifier

        return TimeSeriesSwAVClassifier
    raise AttributeError(f"module 'swav_ts' has no attribute {name!r}")
