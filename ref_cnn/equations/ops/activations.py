"""Catalogue entries of the activations family (see `ref_cnn.equations.ops`).

Each statement gives the forward and its derivative, with torch's side at every kink
(the derivative torch's autograd takes there); `reference` names the paper the op comes
from and the torch definition the parity tests hold it to.
"""

from __future__ import annotations

from ref_cnn.equations.articles import Equation, op_functions

EQUATIONS: tuple[Equation, ...] = (
    Equation(
        "ACT-1",
        "ReLU6",
        "ReLU6(x) = min(max(x, 0), 6); ∂/∂x = 1 for 0 < x < 6, else 0 (0 at x = 0 and x = 6)",
        "Krizhevsky 2010, Convolutional Deep Belief Networks on CIFAR-10; Howard et al. 2017 "
        "(MobileNets); torch.nn.functional.relu6 (Hardtanh on [0, 6])",
        op_functions("relu6"),
    ),
    Equation(
        "ACT-2",
        "Hardtanh",
        "Hardtanh(x) = min(max(x, min_val), max_val); ∂/∂x = 1 for min_val < x < max_val, "
        "else 0 (0 at both bounds)",
        "Collobert 2004 (PhD thesis, Large Scale Machine Learning); torch.nn.functional.hardtanh",
        op_functions("hardtanh"),
    ),
    Equation(
        "ACT-3",
        "Hard sigmoid",
        "Hardsigmoid(x) = min(max(x + 3, 0), 6)/6; ∂/∂x = 1/6 for −3 < x < 3, else 0 (0 at x = ±3)",
        "Howard et al. 2019, Searching for MobileNetV3 (h-sigmoid = ReLU6(x + 3)/6); "
        "torch.nn.functional.hardsigmoid",
        op_functions("hardsigmoid"),
    ),
    Equation(
        "ACT-4",
        "Hard swish",
        "Hardswish(x) = x·min(max(x + 3, 0), 6)/6; ∂/∂x = 0 for x ≤ −3, (2x + 3)/6 for "
        "−3 < x < 3, 1 for x ≥ 3",
        "Howard et al. 2019, Searching for MobileNetV3 (h-swish); torch.nn.functional.hardswish",
        op_functions("hardswish"),
    ),
    Equation(
        "ACT-5",
        "SiLU (swish)",
        "SiLU(x) = x·σ(x); ∂/∂x = σ(x)·(1 + x·(1 − σ(x)))",
        "Hendrycks & Gimpel 2016; Elfwing, Uchibe & Doya 2018, Sigmoid-Weighted Linear Units; "
        "Ramachandran, Zoph & Le 2017, Searching for Activation Functions (swish); "
        "torch.nn.functional.silu",
        op_functions("silu"),
    ),
    Equation(
        "ACT-6",
        "GELU",
        "GELU(x) = x·Φ(x) = x/2·(1 + erf(x/√2)); ∂/∂x = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)",
        "Hendrycks & Gimpel 2016, Gaussian Error Linear Units (GELUs); "
        'torch.nn.functional.gelu(approximate="none")',
        op_functions("gelu"),
    ),
    Equation(
        "ACT-7",
        "GELU, tanh approximation",
        "GELU(x) ≈ x/2·(1 + t), t = tanh(√(2/π)·(x + 0.044715·x³)); "
        "∂/∂x = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)",
        "Hendrycks & Gimpel 2016, Gaussian Error Linear Units (GELUs), the tanh form; "
        'torch.nn.functional.gelu(approximate="tanh")',
        op_functions("gelu"),
    ),
    Equation(
        "ACT-8",
        "ELU",
        "ELU(x) = x for x > 0, α·(eˣ − 1) for x ≤ 0; ∂/∂x = 1 for x > 0, α·eˣ for x ≤ 0 "
        "(α at x = 0)",
        "Clevert, Unterthiner & Hochreiter 2015, Fast and Accurate Deep Network Learning by "
        "Exponential Linear Units (ELUs); torch.nn.functional.elu",
        op_functions("elu"),
    ),
    Equation(
        "ACT-9",
        "SELU",
        "SELU(x) = λ·x for x > 0, λ·α·(eˣ − 1) for x ≤ 0, α = 1.6732632423543772, "
        "λ = 1.0507009873554805; ∂/∂x = λ for x > 0, λ·α·eˣ for x ≤ 0",
        "Klambauer, Unterthiner, Mayr & Hochreiter 2017, Self-Normalizing Neural Networks; "
        "torch.nn.functional.selu",
        op_functions("selu"),
    ),
    Equation(
        "ACT-10",
        "CELU",
        "CELU(x) = max(0, x) + min(0, α·(e^(x/α) − 1)); ∂/∂x = 1 for x > 0, e^(x/α) for x ≤ 0",
        "Barron 2017, Continuously Differentiable Exponential Linear Units; "
        "torch.nn.functional.celu",
        op_functions("celu"),
    ),
    Equation(
        "ACT-11",
        "Softplus",
        "Softplus(x) = (1/β)·log(1 + e^(βx)), x where βx > threshold; "
        "∂/∂x = σ(βx), 1 where βx > threshold",
        "Dugas, Bengio, Bélisle, Nadeau & Garcia 2001, Incorporating Second-Order Functional "
        "Knowledge for Better Option Pricing; torch.nn.functional.softplus (β, threshold)",
        op_functions("softplus"),
    ),
    Equation(
        "ACT-12",
        "Mish",
        "Mish(x) = x·tanh(softplus(x)), softplus(x) = log(1 + eˣ); "
        "∂/∂x = tanh(softplus(x)) + x·σ(x)·(1 − tanh²(softplus(x)))",
        "Misra 2019, Mish: A Self Regularized Non-Monotonic Activation Function; "
        "torch.nn.functional.mish",
        op_functions("mish"),
    ),
    Equation(
        "ACT-13",
        "PReLU",
        "PReLU(x) = x for x > 0, a_c·x for x ≤ 0, one slope a_c per channel (dim 1) or one "
        "for all; ∂/∂x = 1 or a_c (a_c at x = 0); ∂E/∂a_c = Σ_{x ≤ 0 in channel c} x·∂E/∂y",
        "He, Zhang, Ren & Sun 2015, Delving Deep into Rectifiers; torch.nn.functional.prelu",
        op_functions("prelu"),
    ),
    Equation(
        "ACT-14",
        "LogSigmoid",
        "LogSigmoid(x) = log σ(x) = min(x, 0) − log(1 + e^(−|x|)); ∂/∂x = 1 − σ(x) = σ(−x)",
        "torch.nn.functional.logsigmoid (log(1/(1 + e^(−x))))",
        op_functions("logsigmoid"),
    ),
    Equation(
        "ACT-15",
        "Softsign",
        "Softsign(x) = x/(1 + |x|); ∂/∂x = 1/(1 + |x|)² (the quotient rule, NaN at ±∞ as torch)",
        "Turian, Bergstra & Bengio 2009, Quadratic Features and Deep Architectures for "
        "Chunking; torch.nn.functional.softsign",
        op_functions("softsign"),
    ),
    Equation(
        "ACT-16",
        "GLU",
        "GLU(x) = a ⊗ σ(b), [a, b] = x split in halves along dim; "
        "∂E/∂a = ∂E/∂y ⊗ σ(b), ∂E/∂b = ∂E/∂y ⊗ a ⊗ σ(b)(1 − σ(b))",
        "Dauphin, Fan, Auli & Grangier 2017, Language Modeling with Gated Convolutional "
        "Networks; torch.nn.functional.glu",
        op_functions("glu"),
    ),
)
