"""Catalogue entries of the activations family (see `ref_cnn.ops_catalogue`)."""

from __future__ import annotations

from ref_cnn.catalogue import Equation

EQUATIONS: tuple[Equation, ...] = ()
