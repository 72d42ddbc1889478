"""A representative subset of torchvision's classification zoo, twinned from its graph,
at small inputs: logits, input gradient, every parameter gradient and (training mode) the
BatchNorm running statistics after the step. The whole zoo: scripts/zoo.py → docs/zoo.md.
[MB-16, MB-17, MB-18]
"""

from __future__ import annotations

import numpy as np
import pytest
from zoo_cases import measure

from ref_cnn.report.render import zoo_section

eq = pytest.mark.equation

# each brings glue or leaves the others do not: concatenation (squeezenet), channel
# shuffle (view, transpose, chunk: shufflenet), spatial mean (mnasnet), squeeze-excitation
# products and hard activations (mobilenet_v3), stochastic depth and SiLU
# (efficientnet), layer norm, permutes, layer scale (ConvNeXt's classes at 8–64 channels);
# training mode float64 (dropout and stochastic depth with torch's masks), and the float32
# rule in eval mode on one of them. Input 2×3×32×32.
CASES = [
    ("squeezenet1_1", "train", np.float64),
    ("shufflenet_v2_x0_5", "train", np.float64),
    ("mnasnet0_5", "train", np.float64),
    ("mobilenet_v3_small", "train", np.float64),
    ("efficientnet_b0", "train", np.float64),
    ("convnext_mini", "train", np.float64),
    ("mobilenet_v3_small", "eval", np.float32),
]


@pytest.mark.parametrize(
    ("name", "mode", "dtype"), CASES, ids=[f"{n}-{m}-{np.dtype(d).name}" for n, m, d in CASES]
)
@eq("MB-16", "MB-18")
@pytest.mark.torch
@pytest.mark.torchvision
def test_zoo_model_matches_torch(name, mode, dtype, parity):
    measure(name, mode, dtype, side=32, parity=parity)


def test_report_shows_the_zoo_table(tmp_path):
    """The parity report's zoo section: docs/zoo.md's table and summary, or how to make it."""
    assert "python scripts/zoo.py" in zoo_section(tmp_path / "absent.md")[-1]
    zoo = tmp_path / "zoo.md"
    table = ["| model | mode |", "|---|---|", "| alexnet | eval |"]
    zoo.write_text("\n".join(["# t", "", "text", *table, "", "## Summary", "", "1 of 1"]))
    assert zoo_section(zoo)[3:] == [*table, "", "1 of 1"]


@eq("MB-16", "MB-18")
@pytest.mark.torch
@pytest.mark.torchvision
def test_inception_v3_with_its_aux_head_returns_both_outputs(parity):
    """inception_v3(aux_logits=True) in training mode returns (logits, aux logits) as torch's
    InceptionOutputs; the twin's backward takes one upstream gradient per output. The aux head
    needs Mixed_6e's 17×17 map, so the input is 299×299 (about 20 s)."""
    import torch
    import torchvision
    from twins import check_twin

    torch.manual_seed(0)
    model = torchvision.models.inception_v3(
        weights=None, num_classes=10, aux_logits=True, init_weights=False
    ).double()
    check_twin(model, (2, 3, 299, 299), np.float64, parity, "train", torch_spread=True)
