"""Per-channel standardisation fitted on training windows, serialisable as JSON."""

from __future__ import annotations

import numpy as np

__all__ = ["ChannelNormalizer"]


class ChannelNormalizer:
    """Per-channel ``(x - mean) / std`` with statistics from training data.

    Parameters
    ----------
    std_floor : float
        Lower bound on the std, so constant channels do not blow up.

    Attributes
    ----------
    mean_, std_ : ndarray or None
        float64 ``(C,)`` after :meth:`fit`.
    """

    def __init__(self, std_floor: float = 1e-6) -> None:
        if not std_floor > 0:
            raise ValueError(f"std_floor must be > 0, got {std_floor}")
        self.std_floor = float(std_floor)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.n_floored_: int = 0

    def fit(self, X: np.ndarray) -> ChannelNormalizer:
        """Fit on ``(n, C, T)`` data, ignoring NaN.

        Raises
        ------
        ValueError
            ``X`` not 3-D, empty, or a channel with no finite value.
        """
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"ChannelNormalizer.fit expects (n, C, T), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[2] == 0:
            raise ValueError(f"ChannelNormalizer.fit got an empty array of shape {X.shape}")
        c = X.shape[1]
        mean = np.empty(c)
        std = np.empty(c)
        for j in range(c):
            v = X[:, j, :].astype(np.float64)
            finite = np.isfinite(v)
            if not finite.any():
                raise ValueError(f"ChannelNormalizer.fit: channel {j} has no finite values")
            vals = v[finite]
            mean[j] = vals.mean()
            std[j] = vals.std()
        self.n_floored_ = int((std < self.std_floor).sum())
        self.mean_ = mean
        self.std_ = np.maximum(std, self.std_floor)
        return self

    def _check(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError("ChannelNormalizer is not fitted; call fit() or from_state_dict()")
        X = np.asarray(X)
        if X.ndim not in (2, 3) or X.shape[-2] != len(self.mean_):
            raise ValueError(
                f"expected (n, {len(self.mean_)}, T) or ({len(self.mean_)}, T), got shape {X.shape}"
            )
        return X

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``(n, C, T)`` or ``(C, T)``; returns float32, NaN stays NaN."""
        X = self._check(X)
        out = (X - self.mean_[:, None]) / self.std_[:, None]
        return out.astype(np.float32)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`; returns float32."""
        X = self._check(X)
        return (X * self.std_[:, None] + self.mean_[:, None]).astype(np.float32)

    def state_dict(self) -> dict:
        """Plain-Python state (lists and floats) for JSON storage."""
        if self.mean_ is None:
            raise ValueError("ChannelNormalizer is not fitted; nothing to save")
        return {
            "mean": [float(m) for m in self.mean_],
            "std": [float(s) for s in self.std_],
            "std_floor": self.std_floor,
        }

    @classmethod
    def from_state_dict(cls, state: dict) -> ChannelNormalizer:
        """Rebuild from :meth:`state_dict` output.

        Raises
        ------
        ValueError
            Missing keys, mismatched lengths, or non-positive std.
        """
        missing = [k for k in ("mean", "std", "std_floor") if k not in state]
        if missing:
            raise ValueError(f"ChannelNormalizer state is missing keys {missing}")
        mean = np.asarray(state["mean"], dtype=np.float64)
        std = np.asarray(state["std"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(
                f"ChannelNormalizer state: mean {mean.shape} and std {std.shape} must be equal 1-D"
            )
        if not (np.all(np.isfinite(mean)) and np.all(std > 0)):
            raise ValueError("ChannelNormalizer state: mean must be finite and std > 0")
        obj = cls(std_floor=float(state["std_floor"]))
        obj.mean_, obj.std_ = mean, std
        return obj
