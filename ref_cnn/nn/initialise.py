"""(Re-)initialising layers and models: torch's defaults, AV's uniform [0, 1), He [IC-12].

Each layer with weights declares its own fan-in (`Conv2d.fan_in` = C_in/groups·kH·kW,
`Linear.fan_in` = in_features) and redraws its parameters with `reset_parameters`;
`initialise(model)` asks every layer that has one, so a new layer type needs no change here.
"""

from __future__ import annotations

import numpy as np

from ref_cnn.functional.init import he_normal, uniform01

SCHEMES = ("torch", "uniform01", "he")


def default_init(weight_shape, rng=None, dtype=np.float64, fan_in: int | None = None):
    """torch's default for Conv2d and Linear: weight and bias ~ U(−1/√fan_in, 1/√fan_in).

    (kaiming_uniform_ with a = √5 gives the bound gain·√(3/fan_in) = 1/√fan_in.) The weight
    shape is torch's: (C_out, C_in/groups, kH, kW) or (out_features, in_features); fan_in
    defaults to what torch computes from it (C_in/groups·kH·kW, or in_features).
    """
    rng = rng if rng is not None else np.random.default_rng()
    fan_in = int(np.prod(weight_shape[1:])) if fan_in is None else fan_in
    bound = 1 / np.sqrt(fan_in)
    weight = rng.uniform(-bound, bound, size=weight_shape).astype(dtype)
    bias = rng.uniform(-bound, bound, size=weight_shape[0]).astype(dtype)
    return weight, bias


def _check_scheme(scheme) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def redraw(weight, bias, fan_in: int, scheme="torch", rng=None, zero_bias=True) -> None:
    """Redraw `weight` (and `bias`, if not None) in place by `scheme`, for a layer whose
    output units each see `fan_in` inputs. See `initialise` for the schemes."""
    _check_scheme(scheme)
    rng = rng if rng is not None else np.random.default_rng()
    if scheme == "torch":
        new_w, new_b = default_init(weight.shape, rng, weight.dtype, fan_in)
        if bias is not None and bias.shape == new_b.shape:  # an untied bias keeps its values
            bias[...] = new_b
    else:
        draw = uniform01 if scheme == "uniform01" else he_normal
        new_w = draw(weight.shape, rng, weight.dtype, fan_in=fan_in)
        if bias is not None and zero_bias:
            bias[...] = 0
    weight[...] = new_w


class Redrawable:
    """Mixin for a layer with parameters "weight" (and maybe "bias") and a `fan_in`
    property: `reset_parameters` redraws them by a scheme of `initialise`."""

    @property
    def fan_in(self) -> int:
        """Inputs feeding one output unit, as torch computes it: the weight's dimensions after
        the first (Conv2d C_in/groups·kH·kW [IC-12], ConvTranspose2d C_out/groups·kH·kW,
        Linear in_features)."""
        return int(np.prod(self._params["weight"].shape[1:]))

    def reset_parameters(self, scheme="torch", rng=None, zero_bias=True) -> None:
        """Redraw weight and bias in place: "torch", "uniform01" or "he" (`nn.initialise`)."""
        w, b = self._params["weight"], self._params.get("bias")
        redraw(w, b, self.fan_in, scheme, rng, zero_bias)


def initialise(
    model, scheme: str = "torch", rng: np.random.Generator | None = None, zero_bias: bool = True
):
    """Re-draw the weights of every layer of `model` that has `reset_parameters` (Conv2d,
    Linear), in place; returns the model.

    scheme: "torch" (torch's default, weight and bias U(−1/√fan_in, 1/√fan_in)),
    "uniform01" (AV's np.random.uniform: every weight U[0, 1)) or "he" (IC-12:
    N(0, 2/fan_in), fan_in = C_in·k·k). For the last two the biases are set to zero
    (as IC's code does) unless zero_bias=False, which leaves them as they are.

    Example:
        >>> import numpy as np
        >>> from ref_cnn.nn import Conv2d, Flatten, Linear, Sequential, initialise
        >>> model = Sequential(Conv2d(1, 4, 3), Flatten(), Linear(4 * 26 * 26, 10))
        >>> _ = initialise(model, "he", np.random.default_rng(0))
        >>> model[2].fan_in, bool(model[2].params()["bias"].any())
        (2704, False)
    """
    _check_scheme(scheme)
    rng = rng if rng is not None else np.random.default_rng()
    for layer in model._all_modules():
        reset = getattr(layer, "reset_parameters", None)
        if reset is not None:
            reset(scheme, rng, zero_bias)
    return model
