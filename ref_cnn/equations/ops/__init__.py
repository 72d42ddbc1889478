"""The second catalogue: the ops modern CNNs are built of, beyond the three articles.

Each entry is an `Equation` as in `ref_cnn.equations.articles`, with an ID of its own family
(ACT-n activations, NRM-n normalisation, SPA-n spatial and stochastic ops) and, in
`reference`, the source it follows: the paper that defines it or torch's documented
definition. Tests cite these IDs with `@pytest.mark.equation` as they cite the articles'.
"""

from __future__ import annotations

from ref_cnn.equations.articles import Equation
from ref_cnn.equations.ops.activations import EQUATIONS as _ACTIVATIONS
from ref_cnn.equations.ops.normalization import EQUATIONS as _NORMALIZATION
from ref_cnn.equations.ops.spatial import EQUATIONS as _SPATIAL

FAMILIES = {
    "ACT": "Activations",
    "NRM": "Normalisation",
    "SPA": "Spatial and stochastic ops",
}

EQUATIONS: tuple[Equation, ...] = _ACTIVATIONS + _NORMALIZATION + _SPATIAL
BY_ID = {e.id: e for e in EQUATIONS}
