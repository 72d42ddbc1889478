"""The rows of `scripts/bench.py`: each is one computation written for ref_cnn and for torch.

A row's `flops` (conv rows only) counts the multiply-adds of its products, 2 per
multiply-add: 2·N·C_out·H_out·W_out·(C_in/G)·kH·kW for the forward, as much again for each
of dx and dw.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as tf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ref_cnn import functional as F  # noqa: E402
from ref_cnn import literal  # noqa: E402


@dataclass
class Row:
    name: str
    ours: Callable
    theirs: Callable | None
    col_bytes: int | None = None  # the im2col matrix of a conv row
    flops: float | None = None  # of one call (conv rows)
    scale: float = 1.0  # the ours time is multiplied by this (rows timed on a subset)
    slow: bool = False  # one repetition per block
    first_sweep_only: bool = False  # single-threaded references: timed at the first count only


CONV_LAYERS = {
    "(a) AV x(200,1,28,28) w(3,1,5,5)": ((200, 1, 28, 28), (3, 1, 5, 5), {}),
    "(b) x(64,1,28,28) w(32,1,5,5)": ((64, 1, 28, 28), (32, 1, 5, 5), {}),
    "(c) x(64,32,14,14) w(64,32,3,3) p1": ((64, 32, 14, 14), (64, 32, 3, 3), {"padding": 1}),
    "(d) x(32,64,32,32) w(64,64,3,3) p1": ((32, 64, 32, 32), (64, 64, 3, 3), {"padding": 1}),
    "(e) x(8,3,224,224) w(64,3,7,7) s2 p3": (
        (8, 3, 224, 224),
        (64, 3, 7, 7),
        {"stride": 2, "padding": 3},
    ),
}


def conv_rows(dtype):
    rng = np.random.default_rng(0)
    for name, (xs, ws, kw) in CONV_LAYERS.items():
        yield from _conv_layer(
            name, rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype), kw
        )


def _conv_layer(name, x, w, kw):
    b = np.random.default_rng(1).standard_normal(w.shape[0]).astype(x.dtype)
    dy = np.random.default_rng(2).standard_normal(F.conv2d(x, w, b, **kw).shape).astype(x.dtype)
    xt, wt, bt, dyt = (torch.tensor(a) for a in (x, w, b, dy))
    outputs = int(np.prod(dy.shape)) // w.shape[0]  # N·H_out·W_out
    col_bytes = outputs * int(np.prod(w.shape[1:])) * x.itemsize  # the im2col matrix
    forward_flops = 2.0 * outputs * w.size  # 2·N·H_o·W_o·C_out·(C_in/G)·kH·kW

    def torch_fb(need_dx):
        xg = xt.clone().requires_grad_(need_dx)
        wg, bg = wt.clone().requires_grad_(), bt.clone().requires_grad_()
        tf.conv2d(xg, wg, bg, **kw).backward(dyt)

    def ours_fb(need_dx):
        F.conv2d(x, w, b, **kw)
        F.conv2d_backward(dy, x, w, need_dx=need_dx, **kw)

    return [
        Row(
            f"conv2d forward {name}",
            lambda: F.conv2d(x, w, b, **kw),
            lambda: tf.conv2d(xt, wt, bt, **kw),
            col_bytes,
            forward_flops,
        ),
        Row(
            f"conv2d fwd+bwd (dx, dw, db) {name}",
            lambda: ours_fb(True),
            lambda: torch_fb(True),
            col_bytes,
            3 * forward_flops,
        ),
        Row(
            f"conv2d fwd+bwd (dw, db only) {name}",
            lambda: ours_fb(False),
            lambda: torch_fb(False),
            col_bytes,
            2 * forward_flops,
        ),
    ]


def pool_rows(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32, 28, 28)).astype(dtype)
    xt = torch.tensor(x)
    for name, fn, tfn, kw in (
        ("max_pool2d 2x2", F.max_pool2d, tf.max_pool2d, {"kernel_size": 2}),
        (
            "max_pool2d 3x3 s2 p1",
            F.max_pool2d,
            tf.max_pool2d,
            {"kernel_size": 3, "stride": 2, "padding": 1},
        ),
        ("avg_pool2d 2x2", F.avg_pool2d, tf.avg_pool2d, {"kernel_size": 2}),
    ):
        back = F.max_pool2d_backward if fn is F.max_pool2d else F.avg_pool2d_backward
        dy = rng.standard_normal(fn(x, **kw).shape).astype(dtype)
        dyt = torch.tensor(dy)

        def torch_fb(tfn=tfn, kw=kw, dyt=dyt):
            xg = xt.clone().requires_grad_()
            tfn(xg, **kw).backward(dyt)

        yield Row(
            f"{name} forward x(64,32,28,28)",
            lambda fn=fn, kw=kw: fn(x, **kw),
            lambda tfn=tfn, kw=kw: tfn(xt, **kw),
        )
        yield Row(
            f"{name} fwd+bwd x(64,32,28,28)",
            lambda fn=fn, back=back, kw=kw, dy=dy: (fn(x, **kw), back(dy, x, **kw)),
            torch_fb,
        )


def linear_rows(dtype):
    rng = np.random.default_rng(2)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((256, 1728), (1728, 120), (120,)))
    dy = rng.standard_normal((256, 120)).astype(dtype)
    xt, wt, bt, dyt = (torch.tensor(a) for a in (x, w.T.copy(), b, dy))

    def torch_fb():
        xg, wg, bg = (a.clone().requires_grad_() for a in (xt, wt, bt))
        tf.linear(xg, wg, bg).backward(dyt)

    yield Row(
        "linear fwd+bwd x(256,1728) -> 120",
        lambda: (F.linear(x, w, b), F.linear_backward(dy, x, w)),
        torch_fb,
    )


def _av_step(x, y, f, w):
    """One full-batch step of AV's network: forward, backward, update (ref_cnn)."""
    from ref_cnn.articles.av_network import av_backward, av_forward

    f, w = f.copy(), w.copy()

    def step():
        fwd = av_forward(x, f, w, None, standardized=True)
        df, dw, _ = av_backward(fwd, y, f, w)
        f.__isub__(0.5 * df)
        w.__isub__(0.5 * dw)

    return step


def _av_step_torch(x, y, f, w):
    """The same step in torch: autograd and torch.optim.SGD."""
    xt, yt = torch.tensor(x), torch.tensor(y)
    ft, wt = torch.tensor(f, requires_grad=True), torch.tensor(w, requires_grad=True)
    opt = torch.optim.SGD([ft, wt], lr=0.5)

    def step():
        opt.zero_grad()
        z2 = torch.sigmoid(tf.conv2d(xt, ft)).flatten(1) @ wt
        o = torch.sigmoid((z2 - z2.mean()) / z2.std(unbiased=False))
        (0.5 * torch.sum((yt - o) ** 2)).backward()
        opt.step()

    return step


AV_ROW = "AV training step (200 images, standardised)"


def training_rows(dtype):
    import ref_cnn
    from ref_cnn.articles import av_experiment as ex
    from ref_cnn.training import models, optim
    from ref_cnn.training.data import av_binary, mnist_subset

    x, y = av_binary(200)
    x, y = x.astype(dtype), y.astype(dtype)
    f, w = (a.astype(dtype) for a in ex.initial_params())
    yield Row(AV_ROW, _av_step(x, y, f, w), _av_step_torch(x, y, f, w))

    data = mnist_subset()
    xb, yb = data.x[:64].astype(dtype), data.y[:64]
    model = models.lenet().astype(dtype)
    model[0].need_input_grad = False  # as torch, which computes no gradient for the images
    opt = optim.SGD(model, lr=0.05, momentum=0.9)
    tmodel = models.torch_twin("lenet").to(torch.float32 if dtype == np.float32 else torch.float64)
    ref_cnn.to_torch(model, tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.05, momentum=0.9)
    xbt, ybt = torch.tensor(xb), torch.tensor(yb)

    def ours():
        out = model.forward(xb)
        model.backward(F.cross_entropy_backward(out, yb))
        opt.step()

    def theirs():
        topt.zero_grad()
        tf.cross_entropy(tmodel(xbt), ybt).backward()
        topt.step()

    yield Row("LeNet training step (batch 64)", ours, theirs)


def resnet_rows(dtype, batch):
    import torchvision

    import ref_cnn

    module = (
        torchvision.models.resnet18()
        .to(torch.float32 if dtype == np.float32 else torch.float64)
        .train()
    )
    twin = ref_cnn.from_torch(module, dtype=dtype)
    dict(twin.children())["conv1"].need_input_grad = False  # torch's input needs no gradient
    x = np.random.default_rng(3).standard_normal((batch, 3, 224, 224)).astype(dtype)
    xt = torch.tensor(x)
    dy = np.random.default_rng(4).standard_normal((batch, 1000)).astype(dtype)
    dyt = torch.tensor(dy)

    def theirs_fb():
        module.zero_grad()
        module(xt).backward(dyt)

    yield Row(
        f"ResNet-18 forward batch {batch} 224x224",
        lambda: twin.forward(x),
        lambda: module(xt),
        slow=True,
    )
    yield Row(
        f"ResNet-18 fwd+bwd batch {batch} 224x224",
        lambda: (twin.forward(x), twin.backward(dy)),
        theirs_fb,
        slow=True,
    )


def loop_rows():
    """The literal loops next to the fast path (both ref_cnn, single-threaded references)."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 1, 12, 12)), rng.standard_normal((3, 1, 5, 5))
    dy = rng.standard_normal((2, 3, 8, 8))
    yield Row(
        "literal loops: conv2d fwd+bwd x(2,1,12,12) w(3,1,5,5)",
        lambda: (literal.conv2d(x, w), literal.conv2d_backward(dy, x, w)),
        lambda: (F.conv2d(x, w), F.conv2d_backward(dy, x, w)),
        slow=True,
        first_sweep_only=True,
    )


def all_rows(dtypes, resnet_batch: int):
    """(dtype, Row) for every row, in the order of the table."""
    for dtype in dtypes:
        for rows in (conv_rows, pool_rows, linear_rows, training_rows):
            yield from ((dtype, r) for r in rows(dtype))
    if np.float32 in dtypes:
        yield from ((np.float32, r) for r in resnet_rows(np.float32, resnet_batch))
    yield from ((np.float64, r) for r in loop_rows())
