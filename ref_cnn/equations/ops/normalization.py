"""Catalogue entries of the normalization family (see `ref_cnn.equations.ops`).

Each statement gives the forward and its input gradient (g = γ·∂E/∂y where there is a
weight); `reference` names the paper the op comes from and the torch definition the parity
tests hold it to.
"""

from __future__ import annotations

from ref_cnn.equations.articles import Equation, op_functions

EQUATIONS: tuple[Equation, ...] = (
    Equation(
        "NRM-1",
        "Layer normalisation",
        "y = γ·(x − μ)/√(σ² + ε) + β, μ and σ² (biased) over the trailing normalized_shape "
        "axes of each sample; ∂E/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε), "
        "∂E/∂γ = Σ dy·x̂, ∂E/∂β = Σ dy over the leading axes",
        "Ba, Kiros & Hinton 2016, Layer Normalization (arXiv:1607.06450); "
        "torch.nn.functional.layer_norm",
        op_functions("layer_norm"),
    ),
    Equation(
        "NRM-2",
        "RMS normalisation",
        "y = γ·x/√(mean(x²) + ε) over the trailing normalized_shape axes, ε = None meaning the "
        "machine epsilon of x's dtype; ∂E/∂x = (g − x̂·mean(g·x̂))/√(mean(x²) + ε)",
        "Zhang & Sennrich 2019, Root Mean Square Layer Normalization (NeurIPS); "
        "torch.nn.functional.rms_norm",
        op_functions("rms_norm"),
    ),
    Equation(
        "NRM-3",
        "Group normalisation",
        "the C channels cut into G groups of C/G: y = γ_c·(x − μ)/√(σ² + ε) + β_c, μ and σ² "
        "(biased) over each sample's group (its channels and positions); ∂E/∂x as NRM-1 over "
        "the group, ∂E/∂γ_c = Σ dy·x̂, ∂E/∂β_c = Σ dy over N and the positions",
        "Wu & He 2018, Group Normalization (ECCV); torch.nn.functional.group_norm",
        op_functions("group_norm"),
    ),
    Equation(
        "NRM-4",
        "Instance normalisation",
        "y = γ_c·(x − μ)/√(σ² + ε) + β_c, μ and σ² (biased) over the positions of each "
        "(sample, channel) plane (use_input_stats), else the running statistics; running "
        "statistics r ← (1 − m)·r + m·mean_n(μ_nc) and (1 − m)·r + m·mean_n(σ²_nc·L/(L − 1)), "
        "L positions",
        "Ulyanov, Vedaldi & Lempitsky 2016, Instance Normalization: The Missing Ingredient "
        "for Fast Stylization (arXiv:1607.08022); torch.nn.functional.instance_norm",
        (*op_functions("instance_norm"), "ref_cnn.functional.instance_norm_running"),
    ),
    Equation(
        "NRM-5",
        "Local response normalisation",
        "y_c = x_c/s_c^β, s_c = k + (α/n)·Σ_{c' = c − ⌊n/2⌋}^{c + ⌊(n − 1)/2⌋} x_{c'}² (channels "
        "outside 0…C−1 count 0, the sum always divided by n = size); ∂E/∂x_j = dy_j·s_j^(−β) − "
        "(2αβ/n)·x_j·Σ_{c: j in c's window} dy_c·x_c·s_c^(−β−1)",
        "Krizhevsky, Sutskever & Hinton 2012, ImageNet Classification with Deep Convolutional "
        "Neural Networks (NeurIPS), section 3.3, in torch's form (α divided by n, zero-padded "
        "window): torch.nn.functional.local_response_norm",
        (*op_functions("local_response_norm"), "ref_cnn.literal.normalization.local_response_norm"),
    ),
    Equation(
        "NRM-6",
        "Lp normalisation",
        "y = x/max(‖x‖_p, ε), ‖x‖_p = (Σ_i |x_i|^p)^(1/p) along dim; ∂E/∂x = (dy − "
        "(Σ_i dy_i·y_i)·∂‖x‖/∂x)/‖x‖, ∂‖x‖/∂x_j = sign(x_j)·(|x_j|/‖x‖)^(p−1), where ‖x‖_p ≥ ε; "
        "dy/ε where the norm is clamped",
        "torch.nn.functional.normalize (its documented definition, with "
        "torch.linalg.vector_norm's p = 0 and p = ±∞)",
        op_functions("normalize"),
    ),
)
