"""Catalogue entries of the spatial family (see `ref_cnn.equations.ops`).

The random ops (SPA-1 … SPA-3) are written with an explicit keep-mask m: a twin uses the
mask torch drew, or one drawn from a seeded NumPy generator (`ref_cnn.functional.dropout`).
"""

from __future__ import annotations

from ref_cnn.equations.articles import Equation, op_functions

_F = "ref_cnn.functional."
_L = "ref_cnn.literal.spatial."

EQUATIONS: tuple[Equation, ...] = (
    Equation(
        "SPA-1",
        "Dropout (inverted)",
        "y = x ⊙ m/(1 − p), m_i ~ Bernoulli(1 − p); ∂E/∂x = ∂E/∂y ⊙ m/(1 − p); "
        "identity when not training or p = 0, x·0 when p = 1",
        "Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov, Dropout: A Simple Way to "
        "Prevent Neural Networks from Overfitting, JMLR 2014 (scaled at training time as "
        "torch.nn.functional.dropout)",
        (*op_functions("dropout"), _F + "dropout_mask"),
    ),
    Equation(
        "SPA-2",
        "Spatial dropout (whole feature maps)",
        "y[n, c] = x[n, c]·m[n, c]/(1 − p), one draw m[n, c] ~ Bernoulli(1 − p) per map; "
        "∂E/∂x[n, c] = ∂E/∂y[n, c]·m[n, c]/(1 − p)",
        "Tompson, Goroshin, Jain, LeCun, Bregler, Efficient Object Localization Using "
        "Convolutional Networks, CVPR 2015 (torch.nn.functional.dropout2d)",
        (*op_functions("dropout2d"), _F + "dropout2d_mask"),
    ),
    Equation(
        "SPA-3",
        "Stochastic depth",
        "y = x·m/(1 − p), m ~ Bernoulli(1 − p) per sample (row) or per batch (batch); "
        "out = shortcut + y on a residual branch; y = x·0 when p = 1",
        "Huang, Sun, Liu, Sedra, Weinberger, Deep Networks with Stochastic Depth, ECCV 2016 "
        "(torchvision.ops.stochastic_depth, survival rate 1 − p)",
        (*op_functions("stochastic_depth"), _F + "stochastic_depth_mask"),
    ),
    Equation(
        "SPA-4",
        "Power-average (LP) pooling",
        "s = avg_pool(x^p) over k_H×k_W windows (no padding); "
        "y = (sign(s)·relu(|s|)·k_H·k_W)^(1/p), i.e. (Σ_window x^p)^(1/p) for whole windows; "
        "∂E/∂x = p·x^(p−1)·avg_pool_backward((1/p)·v^(1/p−1)·k_H·k_W·[s ≠ 0]·∂E/∂y); "
        "p = ±∞: ±max-pool of ±|x|",
        "torch.nn.functional.lp_pool2d's definition through avg_pool2d (Bruna, Szlam, LeCun, "
        "Signal recovery from pooling representations, ICML 2014)",
        (*op_functions("lp_pool2d"), _L + "lp_pool2d"),
    ),
    Equation(
        "SPA-5",
        "Channel shuffle",
        "x (N, g·c, H, W) → view (N, g, c, H, W) → transpose the group axes → (N, c·g, H, W): "
        "y[:, j·g + i] = x[:, i·c + j]; the backward is the inverse permutation",
        "Zhang, Zhou, Lin, Sun, ShuffleNet: An Extremely Efficient Convolutional Neural "
        "Network for Mobile Devices, CVPR 2018 (torch.nn.functional.channel_shuffle)",
        op_functions("channel_shuffle"),
    ),
    Equation(
        "SPA-6",
        "Pixel shuffle (sub-pixel convolution)",
        "y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]: (N, C·r², H, W) → "
        "(N, C, H·r, W·r); the backward is pixel unshuffle",
        "Shi, Caballero, Huszár, Totz, Aitken, Bishop, Rueckert, Wang, Real-Time Single Image "
        "and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural "
        "Network, CVPR 2016 (torch.nn.functional.pixel_shuffle)",
        op_functions("pixel_shuffle"),
    ),
    Equation(
        "SPA-7",
        "Pixel unshuffle",
        "y[n, c·r² + i·r + j, h, w] = x[n, c, h·r + i, w·r + j]: (N, C, H·r, W·r) → "
        "(N, C·r², H, W), the inverse of SPA-6",
        "Shi et al. 2016, as SPA-6 (torch.nn.functional.pixel_unshuffle)",
        op_functions("pixel_unshuffle"),
    ),
    Equation(
        "SPA-8",
        "Nearest upsampling",
        "y[o] = x[min(⌊o·s⌋, n_in − 1)] along each spatial axis, s = 1/scale_factor when "
        "given (recompute_scale_factor off) else n_in/n_out, s and o·s in float32 as torch; "
        "n_out = ⌊n_in·scale_factor⌋; ∂E/∂x[i] = Σ_{o: src(o) = i} ∂E/∂y[o]",
        "torch.nn.functional.interpolate(mode='nearest') (ATen UpSample.h: "
        "nearest_neighbor_compute_source_index)",
        (*op_functions("interpolate"), _L + "upsample_nearest2d"),
    ),
    Equation(
        "SPA-9",
        "Bilinear upsampling",
        "per axis: src = s·o (align_corners, s = (n_in − 1)/(n_out − 1)) or "
        "max(s·(o + ½) − ½, 0) (s = 1/scale_factor or n_in/n_out); i₀ = min(⌊src⌋, n_in − 1), "
        "i₁ = min(i₀ + 1, n_in − 1), λ = src − i₀; y = Σ (1−λ_h or λ_h)(1−λ_w or λ_w)·x[i_h, i_w]; "
        "∂E/∂x is the same weights' transpose; linear (N, C, L) and trilinear (N, C, D, H, W) "
        "apply the same rule along 1 or 3 axes",
        "torch.nn.functional.interpolate(mode='bilinear') (ATen UpSample.h: "
        "area_pixel_compute_source_index, guard_index_and_lambda)",
        (*op_functions("interpolate"), _L + "upsample_bilinear2d"),
    ),
    Equation(
        "SPA-10",
        "Area interpolation (adaptive average pooling)",
        "per axis: y[o] = mean of x over [⌊o·n_in/n_out⌋, ⌈(o+1)·n_in/n_out⌉); n_out = size or "
        "⌊n_in·scale_factor⌋; ∂E/∂x[i] = Σ_{o: i in window o} ∂E/∂y[o]/|window o|",
        "torch.nn.functional.interpolate(mode='area'), defined as adaptive_avg_pool1d/2d/3d",
        (*op_functions("interpolate"), _F + "adaptive_avg_pool2d"),
    ),
)
