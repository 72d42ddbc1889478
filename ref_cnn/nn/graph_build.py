"""Building a `GraphTwin`: trace the torch model with torch.fx in both modes, convert each
leaf call site with the registered converters, and bind each glue call to its pair."""

from __future__ import annotations

from ref_cnn.nn.graph import _GLUE, GlueSite, GraphTwin, _describe, _Ref, _Step, where
from ref_cnn.nn.module import Module

_PYTHON_MODULES = ("_operator", "operator", "builtins", "math")


def _template(arg):
    """A node argument with every fx Node replaced by a _Ref to its value."""
    from torch import fx

    if isinstance(arg, fx.Node):
        return _Ref(arg.name)
    if isinstance(arg, tuple | list):
        return type(arg)(_template(a) for a in arg) if not hasattr(arg, "_fields") else arg
    if isinstance(arg, dict):
        return {k: _template(v) for k, v in arg.items()}
    if isinstance(arg, slice):
        return slice(_template(arg.start), _template(arg.stop), _template(arg.step))
    return arg


def is_leaf(module, builders) -> bool:
    """A module the trace keeps whole: one with a converter (but Sequential, traced through
    like the model's own code), or any torch.nn module (converted, or refused by name)."""
    import torch.nn as tnn

    kind = type(module)
    if kind is tnn.Sequential or isinstance(module, tnn.ModuleList | tnn.ModuleDict):
        return False
    return kind in builders or kind.__module__.startswith("torch.nn.")


def _trace(module, builders):
    """{training: fx graph} for both modes (the module's own modes restored after)."""
    from torch import fx

    class Tracer(fx.Tracer):
        def __init__(self):
            super().__init__()
            self.record_stack_traces = True

        def is_leaf_module(self, m, qualname):
            return is_leaf(m, builders)

    modes = {m: m.training for m in module.modules()}
    graphs = {}
    try:
        for mode in (True, False):
            module.train(mode)
            graphs[mode] = Tracer().trace(module)
    except Exception as exc:  # torch.fx's TraceError, or the model's code on a Proxy
        raise TypeError(
            f"from_torch: torch.fx cannot trace {type(module).__name__} "
            f"({type(exc).__name__}: {exc}); its forward must be traceable (no control flow "
            "on tensor values), or register a converter for the module"
        ) from exc
    finally:
        for m, mode in modes.items():
            m.training = mode
    return graphs


def build(module, dtype, builders, convert) -> GraphTwin:
    """The graph twin of `module`; `convert(leaf, path)` converts one leaf module."""
    import torch

    from ref_cnn.nn.convert import _to_numpy

    twin = GraphTwin()
    leaves: dict[tuple[str, str], Module] = {}
    for mode, graph in _trace(module, builders).items():
        steps = []
        for node in graph.nodes:
            step = _Step(
                node.name, node.op, node.target, _template(node.args), _template(node.kwargs)
            )
            step.node = _describe(node)
            if node.op == "call_module":
                step.path = node.target
                key = (node.target, node.name)
                if key not in leaves:
                    leaves[key] = _leaf(twin, module, node, convert)
                step.site = leaves[key]
            elif node.op == "get_attr":
                step.path = node.target
                _attribute(twin, module, node.target, dtype, _to_numpy, torch)
            elif node.op in ("call_function", "call_method"):
                _glue_step(step, node, torch)
            steps.append(step)
        twin._graphs[mode] = steps
    twin.train(module.training)
    return twin


def _leaf(twin: GraphTwin, module, node, convert) -> Module:
    """The twin of one call of a leaf module; a second call of the same module shares the
    first's parameters and buffers (its own gradients and cache)."""
    sub = module.get_submodule(node.target)
    try:
        leaf = convert(sub, node.target)
    except TypeError as exc:
        raise TypeError(f"from_torch: {_describe(node)}: {exc}") from exc
    sites = twin._sites.setdefault(node.target, [])
    if sites:
        leaf._params, leaf._buffers = sites[0]._params, sites[0]._buffers
        for part, first in zip(leaf._all_modules(), sites[0]._all_modules(), strict=True):
            part._params, part._buffers = first._params, first._buffers
    else:
        twin.add(node.target, leaf)
    sites.append(leaf)
    return leaf


def _attribute(twin: GraphTwin, module, path: str, dtype, to_numpy, torch) -> None:
    """A tensor the model's code reads directly (ConvNeXt's layer_scale): a parameter or
    buffer of the twin under its torch name, or a constant."""
    if path in twin._params or path in twin._buffers or path in twin._constants:
        return
    params = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    if path in params:
        twin.register(path, to_numpy(params[path], dtype))
    elif path in buffers:
        twin.register_buffer(path, to_numpy(buffers[path], dtype))
    else:
        value = module
        for part in path.split("."):
            value = getattr(value, part)
        twin._constants[path] = to_numpy(value, dtype) if isinstance(value, torch.Tensor) else value


def _glue_step(step: _Step, node, torch) -> None:
    fn = node.target if node.op == "call_function" else getattr(torch.Tensor, node.target, None)
    glue = _GLUE.get(fn)
    if glue is not None:
        step.site = GlueSite(glue, fn, where(node))
        bound = glue.bind(step.args, step.kwargs).arguments
        step.arrays = tuple(bound.get(name) for name in glue.arrays)
        if glue.backward is None:
            step.arrays = ()
        return
    python = getattr(fn, "__module__", None) in _PYTHON_MODULES
    if python or (isinstance(fn, type) and issubclass(fn, tuple)):
        return  # size arithmetic, or a namedtuple of outputs: evaluated as written
    raise TypeError(
        f"from_torch: unsupported function in the graph: {_describe(node)}; teach it with "
        "ref_cnn.nn.graph.register_glue(fn, forward, backward)"
    )
