"""The project's own catalogue of the 46 equations of the three articles.

Each entry: ID, article, what it is, the statement in its correct form (where an article
errs, `ref_cnn.articles.errata` says how), the functions that implement it, and, for
equations that belong to later work, why they are not yet verified. Tests cite the IDs with `@pytest.mark.equation`; the
parity report and `docs/equations.md` are generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

ARTICLES = {
    "AV": "Demystifying the Mathematics Behind Convolutional Neural Networks (CNNs), A. Singh, Analytics Vidhya, 2020",
    "MB": "Convolutional Neural Networks' mathematics, I. Mebsout, Towards Data Science, 2020",
    "IC": "Convolutional Neural Network (CNN) + Mathematical Intuition (after The Independent Code's CNN from scratch)",
}


@dataclass(frozen=True)
class Equation:
    id: str
    what: str
    statement: str
    reference: str
    functions: tuple[str, ...]
    pending: str | None = None  # "not yet verified": the later issue that owns it

    @property
    def article(self) -> str:
        """The article prefix of the ID: "AV", "MB" or "IC"."""
        return self.id.split("-")[0]


def op_functions(*names: str) -> tuple[str, ...]:
    """`ref_cnn.functional.<name>` and `<name>_backward` for each op: an entry's functions."""
    return tuple(f"ref_cnn.functional.{n}" for name in names for n in (name, f"{name}_backward"))


EQUATIONS: tuple[Equation, ...] = (
    Equation(
        "AV-1",
        'Image-filter "convolution" (cross-correlation)',
        "Z[i,j] = Σ_m Σ_n X[i+m, j+n]·f[m,n]; worked example X=[[1,7,2],[11,1,23],[2,2,2]], f=[[1,1],[0,1]] gives [[9,32],[14,26]]",
        "torch conv2d; scipy.signal.correlate2d; the article's numbers",
        (
            "ref_cnn.functional.correlate2d",
            "ref_cnn.functional.conv2d",
            "ref_cnn.literal.correlate2d",
        ),
    ),
    Equation(
        "AV-2",
        "Output size, valid",
        "(n−f+1) × (n−f+1)",
        "shapes of torch conv2d",
        ("ref_cnn.functional.valid_output_size", "ref_cnn.functional.conv_output_size"),
    ),
    Equation(
        "AV-3",
        "Patch view (im2col)",
        "an n×n image is (n−f+1)² patches of f×f (28, 5 → 576 patches); the map is each patch times the filter, summed",
        "torch `unfold`",
        ("ref_cnn.functional.im2col",),
    ),
    Equation(
        "AV-4",
        "Flatten size",
        "(n−f+1)·(n−f+1)·num_filters inputs to the dense layer (28, 5, 3 filters → 1728)",
        "torch flatten",
        ("ref_cnn.functional.flatten",),
    ),
    Equation(
        "AV-5",
        "Linear transformation",
        "Z = Wᵀ·X + b, W of shape (m inputs, n neurons)",
        "torch Linear with weight = Wᵀ",
        (
            "ref_cnn.functional.linear",
            "ref_cnn.functional.linear_backward",
        ),
    ),
    Equation(
        "AV-6",
        "Sigmoid and its derivative",
        "σ(x) = 1/(1+e^(−x)); σ′(x) = σ(x)(1−σ(x)), written on the output as A(1−A)",
        "torch.sigmoid and autograd",
        ("ref_cnn.functional.sigmoid", "ref_cnn.functional.sigmoid_backward"),
    ),
    Equation(
        "AV-7",
        "Forward summary",
        "Z1 = X ⋆ f; A1 = σ(Z1); Z2 = Wᵀ·A1 + b; O = σ(Z2)",
        "the same torch module chain",
        ("ref_cnn.articles.av_network.av_forward",),
    ),
    Equation(
        "AV-8",
        "Error and its derivative",
        "E = (y′−O)²/2; ∂E/∂O = −(y′−O)",
        "torch: 0.5·sum((y−O)²) and autograd",
        ("ref_cnn.functional.half_squared_error", "ref_cnn.functional.half_squared_error_backward"),
    ),
    Equation(
        "AV-9",
        "Output w.r.t. pre-activation",
        "∂O/∂Z2 = O(1−O)",
        "autograd",
        ("ref_cnn.functional.sigmoid_backward", "ref_cnn.articles.av_network.av_backward"),
    ),
    Equation(
        "AV-10",
        "Dense weight gradient",
        "∂E/∂W = ∂E/∂O · ∂O/∂Z2 · ∂Z2/∂W with ∂Z2/∂W = A1; shape of W",
        "autograd",
        ("ref_cnn.functional.linear_backward", "ref_cnn.articles.av_network.av_backward"),
    ),
    Equation(
        "AV-11",
        "Dense bias gradient (left to the reader in the article)",
        "∂E/∂b = Σ over samples of ∂E/∂O · ∂O/∂Z2",
        "autograd",
        ("ref_cnn.functional.linear_backward", "ref_cnn.articles.av_network.av_backward"),
    ),
    Equation(
        "AV-12",
        "Gradient-descent update",
        "new = old − lr · gradient, for W, b and f",
        "torch.optim.SGD, one step",
        ("ref_cnn.training.optim.SGD",),
    ),
    Equation(
        "AV-13",
        "Back through dense and sigmoid",
        "∂Z2/∂A1 = Wᵀ; ∂A1/∂Z1 = A1(1−A1)",
        "autograd",
        (
            "ref_cnn.functional.linear_backward",
            "ref_cnn.functional.sigmoid_backward",
            "ref_cnn.articles.av_network.av_backward",
        ),
    ),
    Equation(
        "AV-14",
        "Filter gradient",
        "∂E/∂f = X ⋆ δ1, the valid cross-correlation of the input with δ1 = ∂E/∂Z1, summed over images",
        "torch.nn.grad.conv2d_weight; autograd",
        (
            "ref_cnn.functional.conv2d_backward",
            "ref_cnn.functional.conv2d_backward_readable",
            "ref_cnn.articles.av_network.av_backward",
            "ref_cnn.literal.av14_filter_gradient",
        ),
    ),
    Equation(
        "AV-15",
        "The article's experiment",
        "MNIST 28×28 in [0,1], label 1 if digit > 4 else 0, 3 filters 5×5 drawn uniform [0,1), no conv bias, conv → σ → flatten (1728) → dense (1) → σ → half squared error, gradient descent",
        "the same model built in torch, trained side by side",
        ("ref_cnn.articles.av_experiment.train_numpy", "ref_cnn.training.data.av_binary"),
    ),
    Equation(
        "MB-1",
        "Edge filters",
        "VEF = [[1,0,−1],[1,0,−1],[1,0,−1]], HEF = VEFᵀ; on a 6×6 image with a vertical step edge, VEF responds only in the columns at the edge",
        "torch conv2d",
        (
            "ref_cnn.functional.init.VEF",
            "ref_cnn.functional.init.HEF",
            "ref_cnn.functional.correlate2d",
        ),
    ),
    Equation(
        "MB-2",
        "Filtering as correlation",
        "y_ij = Σ_{m,n} X_{i+m, j+n}·w_mn",
        "torch conv2d",
        ("ref_cnn.functional.correlate2d", "ref_cnn.functional.conv2d"),
    ),
    Equation(
        "MB-3",
        "Zero padding",
        "p rows/columns of zeros on each of the four sides",
        "torch padding / F.pad",
        (
            "ref_cnn.functional.conv2d",
            "ref_cnn.functional.pad",
            "ref_cnn.functional.pad_backward",
            "ref_cnn.functional.conv2d_readable",
        ),
    ),
    Equation(
        "MB-4",
        "Stride",
        "the window moves s pixels at a time",
        "torch stride",
        (
            "ref_cnn.functional.conv2d",
            "ref_cnn.functional.conv2d_readable",
        ),
    ),
    Equation(
        "MB-5",
        "Convolution product on a volume",
        "conv(I,K)_{x,y} = Σ_{i=1..f} Σ_{j=1..f} Σ_{k=1..n_C} K_{i,j,k}·I_{x+i−1, y+j−1, k}",
        "torch conv2d, C_in > 1",
        (
            "ref_cnn.functional.conv2d",
            "ref_cnn.functional.conv2d_readable",
            "ref_cnn.literal.conv2d",
        ),
    ),
    Equation(
        "MB-6",
        "Output size with padding and stride",
        "⌊(n + 2p − f)/s⌋ + 1 for each spatial dimension",
        "torch conv2d shapes, many n, f, p, s",
        ("ref_cnn.functional.conv_output_size", "ref_cnn.functional.conv2d"),
    ),
    Equation(
        "MB-7",
        "Valid, same and 1×1 convolutions",
        "valid: p = 0; same: output = input size, p = (f−1)/2 for odd f and s = 1; 1×1: f = 1 mixes channels only",
        "torch conv2d, padding='same'",
        ("ref_cnn.functional.same_padding", "ref_cnn.functional.conv2d"),
    ),
    Equation(
        "MB-8",
        "Pooling",
        "max or average over f×f windows, stride s, padding p, per channel, no parameters; output ⌊(n+2p−f)/s⌋+1, n_C unchanged",
        "torch max_pool2d, avg_pool2d",
        (
            "ref_cnn.functional.max_pool2d",
            "ref_cnn.functional.avg_pool2d",
            "ref_cnn.functional.pool_output_size",
            "ref_cnn.functional.adaptive_avg_pool2d",
            "ref_cnn.functional.adaptive_max_pool2d",
            "ref_cnn.functional.max_unpool2d",
            "ref_cnn.functional.max_pool2d_readable",
            "ref_cnn.functional.avg_pool2d_readable",
        ),
    ),
    Equation(
        "MB-9",
        "Convolutional layer",
        "a^[l] = [ψ(conv(a^[l−1], K^(n)) + b_n)] for n = 1..n_C^[l]; shape (n_H^[l], n_W^[l], n_C^[l])",
        "torch Conv2d + activation",
        (
            "ref_cnn.functional.conv2d",
            "ref_cnn.functional.relu",
            "ref_cnn.functional.sigmoid",
            "ref_cnn.functional.tanh",
            "ref_cnn.functional.leaky_relu",
        ),
    ),
    Equation(
        "MB-10",
        "Parameter count",
        "(f·f·n_C^[l−1])·n_C^[l] filter weights + n_C^[l] biases",
        "sum of numel of torch Conv2d parameters",
        ("ref_cnn.functional.conv_param_count",),
    ),
    Equation(
        "MB-11",
        "Fully connected layer",
        "z_j = Σ_l w_{j,l}·a_l + b_j; a_j = ψ(z_j); a volume is flattened to n_H·n_W·n_C first",
        "torch Flatten + Linear",
        (
            "ref_cnn.functional.flatten",
            "ref_cnn.functional.linear",
            "ref_cnn.functional.linear_backward",
        ),
    ),
    Equation(
        "MB-12",
        "CNN stack",
        "[CONV → ψ] repeated, POOL, repeated; then FC layers; n_H, n_W shrink while n_C grows",
        "the same torch nn.Sequential",
        ("ref_cnn.nn.Sequential", "ref_cnn.from_torch"),
    ),
    Equation(
        "MB-13",
        "Cost and learning algorithm",
        "J(θ) = (1/m)·Σ_i L(ŷ_i, y_i); for each epoch: forward, backpropagation, θ := G(θ) with a descent method",
        "torch loss with reduction='mean', torch.optim",
        (
            "ref_cnn.functional.cross_entropy",
            "ref_cnn.functional.mse_loss",
            "ref_cnn.functional.binary_cross_entropy",
            "ref_cnn.training.optim.SGD",
        ),
    ),
    Equation(
        "MB-14",
        "Data augmentation",
        "cropping, rotation, flipping, noise injection, color space transformation",
        "torchvision.transforms.v2 functional ops",
        (
            "ref_cnn.augment.rotate",
            "ref_cnn.augment.random_crop",
            "ref_cnn.augment.gaussian_noise",
            "ref_cnn.augment.adjust_hue",
        ),
    ),
    Equation(
        "MB-15",
        "Data split",
        "train set, dev set, test set",
        "sizes, disjointness, reproducibility by seed",
        ("ref_cnn.training.data.split",),
    ),
    Equation(
        "MB-16",
        "Residual block, identity shortcut",
        "a^[i] = ψ(z^[i] + a^[i−2]); with w = 0, b = 0 the block passes a^[i−2] through (state exactly when this holds)",
        "torchvision ResNet BasicBlock",
        ("ref_cnn.nn.containers.Residual", "ref_cnn.from_torch"),
    ),
    Equation(
        "MB-17",
        "Residual block, projection shortcut",
        "a^[i] = ψ(z^[i] + W_s·a^[i−2]) when shapes differ",
        "torchvision BasicBlock / Bottleneck with downsample",
        ("ref_cnn.nn.containers.Residual", "ref_cnn.nn.norms.BatchNorm2d"),
    ),
    Equation(
        "MB-18",
        "Inception module",
        "parallel branches (1×1, 3×3, 5×5 'same' convolutions and a pooling branch) concatenated along channels",
        "torchvision GoogLeNet Inception block",
        ("ref_cnn.nn.containers.Concat", "ref_cnn.from_torch"),
    ),
    Equation(
        "IC-1",
        "Valid cross-correlation",
        "Y = X ⋆ K, size n − k + 1",
        "scipy.signal.correlate2d(mode='valid')",
        ("ref_cnn.functional.correlate2d",),
    ),
    Equation(
        "IC-2",
        "Convolution",
        "X * K = X ⋆ rot180(K)",
        "scipy.signal.convolve2d",
        ("ref_cnn.functional.convolve2d",),
    ),
    Equation(
        "IC-3",
        "Full correlation / convolution",
        "the output starts as soon as kernel and input overlap; size n + k − 1",
        "scipy.signal.correlate2d / convolve2d(mode='full')",
        (
            "ref_cnn.functional.correlate2d",
            "ref_cnn.functional.convolve2d",
            "ref_cnn.functional.full_output_size",
            "ref_cnn.functional.conv_transpose2d",
            "ref_cnn.literal.conv_transpose2d",
        ),
    ),
    Equation(
        "IC-4",
        "Convolutional layer forward",
        "Y_i = B_i + Σ_{j=1..n} X_j ⋆ K_ij, i = 1..d; B_i may be untied (one bias per output position, as in the post's code) or tied (one per channel)",
        "torch conv2d (+ an explicit bias tensor for the untied case)",
        (
            "ref_cnn.functional.conv2d",
            "ref_cnn.functional.conv2d_readable",
            "ref_cnn.functional.conv2d_untied",
            "ref_cnn.literal.conv2d",
        ),
    ),
    Equation(
        "IC-5",
        "Kernel gradient",
        "∂E/∂K_ij = X_j ⋆ ∂E/∂Y_i",
        "autograd; torch.nn.grad.conv2d_weight",
        (
            "ref_cnn.functional.conv2d_backward",
            "ref_cnn.functional.conv2d_backward_readable",
            "ref_cnn.literal.conv2d_backward",
            "ref_cnn.literal.ic5_kernel_gradient",
            "ref_cnn.functional.conv_transpose2d_backward",
        ),
    ),
    Equation(
        "IC-6",
        "Bias gradient",
        "∂E/∂B_i = ∂E/∂Y_i (untied); summed over positions when tied",
        "autograd",
        (
            "ref_cnn.functional.conv2d_backward",
            "ref_cnn.functional.conv2d_untied_backward",
            "ref_cnn.functional.conv_transpose2d_backward",
            "ref_cnn.functional.conv2d_backward_readable",
        ),
    ),
    Equation(
        "IC-7",
        "Input gradient",
        "∂E/∂X_j = Σ_i ∂E/∂Y_i *_full K_ij",
        "autograd; torch.nn.grad.conv2d_input",
        (
            "ref_cnn.functional.conv2d_backward",
            "ref_cnn.functional.conv2d_backward_readable",
            "ref_cnn.literal.conv2d_backward",
            "ref_cnn.literal.ic7_input_gradient",
            "ref_cnn.functional.conv_transpose2d",
            "ref_cnn.functional.conv_transpose2d_backward",
            "ref_cnn.literal.conv_transpose2d",
            "ref_cnn.nn.ConvTranspose2d",
        ),
    ),
    Equation(
        "IC-8",
        "Max pooling",
        "forward: window maximum; backward: the gradient goes to the position of the maximum; among tied maxima, to the first in the window (row-major order), as torch",
        "torch max_pool2d and autograd",
        (
            "ref_cnn.functional.max_pool2d",
            "ref_cnn.functional.max_pool2d_backward",
            "ref_cnn.functional.max_pool2d_readable",
            "ref_cnn.functional.max_pool2d_backward_readable",
            "ref_cnn.literal.max_pool2d",
            "ref_cnn.functional.adaptive_max_pool2d",
            "ref_cnn.functional.adaptive_max_pool2d_backward",
            "ref_cnn.functional.max_unpool2d",
            "ref_cnn.functional.max_unpool2d_backward",
            "ref_cnn.nn.AdaptiveMaxPool2d",
            "ref_cnn.nn.MaxUnpool2d",
        ),
    ),
    Equation(
        "IC-9",
        "Average pooling",
        "forward: window mean; backward: the gradient is shared equally over the window",
        "torch avg_pool2d and autograd",
        (
            "ref_cnn.functional.avg_pool2d",
            "ref_cnn.functional.avg_pool2d_backward",
            "ref_cnn.functional.avg_pool2d_readable",
            "ref_cnn.functional.avg_pool2d_backward_readable",
            "ref_cnn.literal.avg_pool2d",
            "ref_cnn.functional.adaptive_avg_pool2d",
            "ref_cnn.functional.adaptive_avg_pool2d_backward",
        ),
    ),
    Equation(
        "IC-10",
        "Stride in conv and pooling",
        "output ⌊(n − k)/s⌋ + 1; the backward pass with stride s > 1",
        "torch, stride > 1, forward and backward",
        (
            "ref_cnn.functional.conv2d_backward",
            "ref_cnn.functional.max_pool2d_backward",
            "ref_cnn.functional.avg_pool2d_backward",
            "ref_cnn.functional.conv2d_backward_readable",
            "ref_cnn.literal.ic7_input_gradient",
        ),
    ),
    Equation(
        "IC-11",
        "Padding in conv",
        "output n + 2P − k + 1; the input gradient is the full convolution cropped by P on each side",
        "torch, padding > 0, forward and backward",
        (
            "ref_cnn.functional.conv2d",
            "ref_cnn.functional.conv2d_backward",
            "ref_cnn.functional.conv_transpose2d",
            "ref_cnn.functional.pad_backward",
            "ref_cnn.functional.conv2d_backward_readable",
            "ref_cnn.literal.ic7_input_gradient",
        ),
    ),
    Equation(
        "IC-12",
        "He initialisation",
        "K ~ N(0, 2/fan_in), fan_in = C_in·k·k",
        "statistics of many draws; torch.nn.init.kaiming_normal_",
        ("ref_cnn.functional.he_normal",),
    ),
    Equation(
        "IC-13",
        "Update of kernels and biases",
        "K ← K − lr·∂E/∂K; B ← B − lr·∂E/∂B",
        "torch.optim.SGD, one step",
        ("ref_cnn.training.optim.SGD",),
    ),
)

BY_ID = {e.id: e for e in EQUATIONS}
