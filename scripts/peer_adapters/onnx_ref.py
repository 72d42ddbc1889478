"""ONNX's NumPy reference runtime (`onnx.reference.ReferenceEvaluator`, the `onnx/reference/ops`
kernels): each call builds a one-node model with torch's options as the node's attributes and
runs it. Forward only (the runtime has no gradients): the kit checks y."""

from __future__ import annotations

import numpy as np

from peer_adapters.common import adapter, only, pair


def _run(op_type: str, inputs: dict, **attributes):
    """One node `op_type` on the named NumPy inputs (in order), its first output back."""
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    def info(name, a):
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape)
        )

    names = list(inputs)
    dtype = inputs[names[0]].dtype
    node = helper.make_node(op_type, names, ["y"], **attributes)
    out = helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(dtype), None)
    graph = helper.make_graph([node], op_type, [info(n, a) for n, a in inputs.items()], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    return ReferenceEvaluator(model).run(None, inputs)[0]


def _pads(padding, kernel, dilation) -> list[int]:
    """torch's padding as ONNX's [top, left, bottom, right]; "same" puts the odd one at the end."""
    if padding == "valid":
        return [0, 0, 0, 0]
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    p = pair(padding)
    return [*p, *p]


@adapter
def onnx_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dilation = pair(dilation)
    inputs = {"x": x, "w": w, **({} if b is None else {"b": b})}
    return _run(
        "Conv",
        inputs,
        kernel_shape=list(w.shape[2:]),
        strides=list(pair(stride)),
        pads=_pads(padding, w.shape[2:], dilation),
        dilations=list(dilation),
        group=groups,
    )


@adapter
def onnx_conv_transpose2d(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    inputs = {"x": x, "w": w, **({} if b is None else {"b": b})}
    p = pair(padding)
    return _run(
        "ConvTranspose",
        inputs,
        kernel_shape=list(w.shape[2:]),
        strides=list(pair(stride)),
        pads=[*p, *p],
        dilations=list(pair(dilation)),
        output_padding=list(pair(output_padding)),
        group=groups,
    )


def _window(kernel_size, stride, padding):
    k = pair(kernel_size)
    s = k if stride is None else pair(stride)
    p = pair(padding)
    return {"kernel_shape": list(k), "strides": list(s), "pads": [*p, *p]}


@adapter
def onnx_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    window = _window(kernel_size, stride, padding)
    return _run(
        "MaxPool", {"x": x}, **window, dilations=list(pair(dilation)), ceil_mode=int(ceil_mode)
    )


@adapter
def onnx_avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
):
    window = _window(kernel_size, stride, padding)
    return _run(
        "AveragePool",
        {"x": x},
        **window,
        ceil_mode=int(ceil_mode),
        count_include_pad=int(count_include_pad),
    )


def onnx_linear(x, w, b=None):
    """Gemm: Y = A·B + C with A = x (N, m), B = w (m, n) as in the article, C = b."""
    inputs = {"x": x, "w": w, **({} if b is None else {"b": b})}
    return _run("Gemm", inputs)


@adapter
def onnx_pad(x, pad, mode="constant", value=None):
    """Pad: torch's flat (before_last, after_last, …) widths as ONNX's [begins…, ends…] over
    every axis; torch's reflect / replicate / circular are ONNX's reflect / edge / wrap."""
    begins, ends = [0] * x.ndim, [0] * x.ndim
    for k in range(len(pad) // 2):
        begins[x.ndim - 1 - k], ends[x.ndim - 1 - k] = pad[2 * k], pad[2 * k + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}
    onnx_mode["circular"] = "wrap"
    only(f"mode {mode!r}", mode in onnx_mode)
    inputs = {"x": x, "pads": np.array(begins + ends, np.int64)}
    if mode == "constant":
        inputs["value"] = np.array(0.0 if value is None else value, x.dtype)
    return _run("Pad", inputs, mode=onnx_mode[mode])
