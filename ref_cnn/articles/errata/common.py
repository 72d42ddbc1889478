"""The erratum record and the distances the demonstrations report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Erratum:
    id: str  # e.g. "AV-code-3"
    article: str  # AV, MB or IC
    where: str  # section and the formula or code step, in our words
    wrong: str  # what the article does
    correct: str  # the correct statement (as torch computes it)
    effect: str  # what it changes in practice
    measured: dict = field(default_factory=dict)  # metric → value, from the demonstration
    demo: str = ""  # the function that produced `measured`

    def to_dict(self) -> dict:
        """The erratum as the report's JSON record."""
        return asdict(self)


def cosine(a, b) -> float:
    """Cosine similarity of two arrays flattened (1: same direction)."""
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def relative_error(ours, reference) -> float:
    """‖ours − reference‖ / ‖reference‖."""
    return float(
        np.linalg.norm(np.ravel(ours) - np.ravel(reference)) / np.linalg.norm(np.ravel(reference))
    )
