"""The graph twin: a torch model's traced graph, walked forward and backward in NumPy.

`torch.fx` traces the model with its modules as leaves (every torch.nn module, and any type
with a `register_converter` converter). Each leaf call site becomes its own twin layer (the
existing converters, weights copied); a module torch calls twice gets two twins that share
one parameter store, and their gradients are added. Between the leaves sits the glue: the
functions and tensor methods of the graph (`torch.cat`, `operator.add`, `F.relu`,
`Tensor.view`, …), each a forward/backward pair from `ref_cnn.functional` in one table
(`register_glue`). `forward` walks the nodes in order; `backward` walks them in reverse and
adds the gradients where a value fans out (a residual add, a dense concatenation).

Python control flow (googlenet's aux branches, stochastic depth's `training` argument)
is fixed at trace time, so the model is traced in both modes and `train()`/`eval()`
choose the graph.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ref_cnn.nn.module import Module


@dataclass(frozen=True)
class Glue:
    """A glue function's pair: `forward(*args, **kwargs)`, `backward(dy, *args, **kwargs)`
    returning the gradient of each argument named in `arrays`, in order (the gradient alone
    when there is one). `renames`: torch's keyword → the forward's (None: dropped)."""

    forward: Callable
    backward: Callable | None
    arrays: tuple[str, ...]
    name: str
    renames: dict[str, str | None] = field(default_factory=dict)

    def bind(self, args, kwargs) -> inspect.BoundArguments:
        """The call's arguments by the forward's parameter names."""
        named = {self.renames.get(k, k): v for k, v in kwargs.items()}
        named.pop(None, None)  # torch's arguments the NumPy op has no use for (inplace=, …)
        return inspect.signature(self.forward).bind(*args, **named)


# torch function or Tensor method → Glue; the built-ins load with the converters
_GLUE: dict[object, Glue] = {}


def register_glue(
    torch_fn,
    forward: Callable,
    backward: Callable | None,
    arrays: tuple[str, ...] | None = None,
    name: str | None = None,
    renames: dict[str, str | None] | None = None,
):
    """Teach the graph twin a function that sits between modules in a traced graph.

    `torch_fn`: the torch callable as it appears in the graph (`torch.cat`, `operator.add`,
    `torch.nn.functional.relu`, or a method as `torch.Tensor.view`). `forward` takes the
    same arguments with the same names; `backward(dy, *same arguments)` returns the gradient
    of each argument named in `arrays` (default: the first parameter), in order, the
    gradient alone when `arrays` names one (None for an argument that held no array).
    `backward=None` for a function whose value carries no gradient (`Tensor.size`).
    `name`: how errors and `GlueSite.name` call it (default: the function's __name__).
    `renames`: {torch's argument name: the forward's} where they differ (`{"input": "x"}`);
    None drops an argument the forward has no use for (`{"inplace": None}`). Positional
    arguments pass as they are, so the two must agree in order.
    """
    if arrays is None:
        arrays = (next(iter(inspect.signature(forward).parameters)),)
    name = name or getattr(torch_fn, "__name__", repr(torch_fn))
    _GLUE[torch_fn] = Glue(forward, backward, tuple(arrays), name, dict(renames or {}))


def glue_table() -> dict[object, Glue]:
    """The glue functions known now (built-ins loaded), keyed by their torch callable."""
    from ref_cnn.nn.convert import _builders

    _builders()
    return dict(_GLUE)


class _Ref:
    """A node's value inside a step's arguments."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"%{self.name}"


def _resolve(template, env):
    if isinstance(template, _Ref):
        return env[template.name]
    if isinstance(template, tuple | list):
        return type(template)(_resolve(t, env) for t in template)
    if isinstance(template, dict):
        return {k: _resolve(v, env) for k, v in template.items()}
    if isinstance(template, slice):
        return slice(*(_resolve(v, env) for v in (template.start, template.stop, template.step)))
    return template


def _carries_grad(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc"
    return isinstance(value, tuple | list) and any(_carries_grad(v) for v in value)


def _add_grad(grads: dict, ref_template, g) -> None:
    """Accumulate g into the nodes that `ref_template` (a _Ref or a list of them) names."""
    if g is None:
        return
    if isinstance(ref_template, _Ref):
        old = grads.get(ref_template.name)
        grads[ref_template.name] = g if old is None else _sum(old, g)
    elif isinstance(ref_template, tuple | list):
        for t, gi in zip(ref_template, g, strict=True):
            _add_grad(grads, t, gi)


def _sum(a, b):
    if isinstance(a, tuple | list):  # a tuple-valued node (chunk): element by element
        return tuple(
            y if x is None else x if y is None else x + y for x, y in zip(a, b, strict=True)
        )
    return a + b  # a value that fans out: ∂E/∂v = Σ over its uses


class GlueSite(Module):
    """One call of a glue function in the graph (its own cache: the call's arguments)."""

    def __init__(self, glue: Glue, target, where: str):
        super().__init__()
        self.glue, self.target, self.where = glue, target, where
        self._bound: inspect.BoundArguments | None = None
        self._x = None

    @property
    def options(self) -> dict:
        """The call's arguments other than the first (kernel size, dims, …)."""
        if self._bound is None:
            return {}
        first = next(iter(self._bound.arguments))
        return {k: v for k, v in self._bound.arguments.items() if k != first}

    def call(self, args, kwargs):
        """The function's value; keeps the arguments for `backward`."""
        self._bound = self.glue.bind(args, kwargs)
        self._x = next(iter(self._bound.arguments.values()), None)
        return self.glue.forward(*self._bound.args, **self._bound.kwargs)

    def backward(self, dy):
        """The gradients of the `arrays` arguments (alone when there is one)."""
        self._need_forward(self._bound)
        return self.glue.backward(dy, *self._bound.args, **self._bound.kwargs)

    @property
    def name(self) -> str:
        """The glue function's name ("relu", "cat", "max_pool2d", …)."""
        return self.glue.name

    def extra_repr(self):
        return {"fn": self.glue.name}


@dataclass
class _Step:
    name: str
    op: str
    target: object
    args: tuple
    kwargs: dict
    site: Module | None = None  # leaf twin or GlueSite
    path: str = ""  # call_module: the torch module's path; get_attr: the tensor's name
    arrays: tuple = ()  # GlueSite: the templates of the differentiated arguments
    node: str = ""  # the node described, for errors


def where(node) -> str:
    """The model code a node comes from: 'file:line in function: code' (fx's stack trace)."""
    trace = (node.meta or {}).get("stack_trace") or ""
    import torch

    inside = os.path.dirname(torch.__file__) + os.sep  # torch's own frames (fx, nn.Module)
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\w+)\n\s*(.*)', trace)
    frames = [f for f in frames if not f[0].startswith(inside)]
    if not frames:
        return "unknown location"
    file, line, fn, code = frames[-1]
    return f"{file}:{line} in {fn}: {code.strip()}"


def _describe(node) -> str:
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__qualname__", repr(target))
    module = getattr(target, "__module__", None)
    if module and not isinstance(target, str):
        name = f"{module}.{name}"
    return f"node {node.name!r} ({node.op} {name}) at {where(node)}"


class GraphTwin(Module):
    """A torch model's traced graph in NumPy: see the module docstring. Build it with
    `ref_cnn.from_torch(model)`; parameters and buffers carry torch's names."""

    def __init__(self):
        super().__init__()
        self._graphs: dict[bool, list[_Step]] = {}
        self._sites: dict[str, list[Module]] = {}  # torch module path → its call sites' twins
        self._constants: dict[str, object] = {}
        self._env: dict | None = None
        self._n_inputs = 1

    # ----------------------------------------------------------------- structure
    @property
    def steps(self) -> list[_Step]:
        """The nodes of the graph for the current mode, in forward order."""
        return self._graphs[self.training]

    def sites(self) -> list[Module]:
        """Every leaf twin and glue call of the current graph, in forward order."""
        return [s.site for s in self.steps if s.site is not None]

    def train(self, mode: bool = True):
        self.training = mode
        for twins in self._sites.values():
            for twin in twins:
                twin.train(mode)
        return self

    # ----------------------------------------------------------------- computation
    def forward(self, *inputs):
        """The model's output(s) for its input(s), in torch's structure."""
        env: dict = {}
        fed = iter(inputs)
        for s in self.steps:
            if s.op == "placeholder":
                env[s.name] = next(fed, s.args[0] if s.args else None)
            elif s.op == "get_attr":
                env[s.name] = self._attr(s.path)
            elif s.op == "call_module":
                env[s.name] = s.site.forward(*_resolve(s.args, env), **_resolve(s.kwargs, env))
            elif s.op == "output":
                self._env = env
                return _resolve(s.args[0], env)
            elif s.site is not None:  # a glue function
                env[s.name] = s.site.call(_resolve(s.args, env), _resolve(s.kwargs, env))
            else:  # arithmetic on sizes, a namedtuple of outputs: no gradient to track
                args = _resolve(s.args, env)
                if not (isinstance(s.target, type) and issubclass(s.target, tuple)):
                    if _carries_grad(args):
                        raise TypeError(
                            f"from_torch: {s.node} applies a Python function to an array; "
                            "teach it with ref_cnn.nn.graph.register_glue(fn, forward, backward)"
                        )
                env[s.name] = s.target(*args, **_resolve(s.kwargs, env))
        raise RuntimeError("the graph has no output node")

    def backward(self, *dys):
        """∂E/∂input(s) for one upstream gradient per output (in torch's output structure);
        fills every parameter's gradient, adding those of a module called more than once."""
        self._need_forward(self._env)
        steps = self.steps
        grads: dict = {}
        output = steps[-1]
        _add_grad(grads, _flat_refs(output.args[0]), _flat_values(output.args[0], dys))
        reached = set()
        for s in reversed(steps[:-1]):
            g = grads.pop(s.name, None)
            if s.op == "placeholder":
                grads[s.name] = g
                continue
            if g is None:
                continue
            if s.op == "get_attr":
                if s.path in self._params:
                    self._grads[s.path] = g
                    reached.add(s.path)
                continue
            if s.site is None:  # a namedtuple of outputs: each output's gradient to its node
                if isinstance(s.target, type) and issubclass(s.target, tuple):
                    _add_grad(grads, list(s.args), list(g))
                continue
            reached.add(id(s.site))
            if s.op == "call_module":
                if isinstance(g, tuple):  # (y, indices): the gradient of y
                    g = g[0]
                first = next(a for a in s.args if isinstance(a, _Ref))
                _add_grad(grads, first, s.site.backward(g))
            elif s.arrays:
                out = s.site.backward(g)
                out = (out,) if len(s.arrays) == 1 else out
                for template, gi in zip(s.arrays, out, strict=True):
                    _add_grad(grads, template, gi)
        for p in self._params:  # a tensor attribute that reached no output: torch's None
            if p not in reached:
                self._grads[p] = np.zeros_like(self._params[p])
        self._sum_shared(reached)
        inputs = [grads.get(s.name) for s in steps if s.op == "placeholder"]
        return inputs[0] if len(inputs) == 1 else tuple(inputs)

    def _sum_shared(self, reached: set) -> None:
        """Zero the gradients of twins the backward pass did not reach (torch leaves them
        None), and add those of every call site of one module into the first."""
        for twins in self._sites.values():
            for twin in twins:
                if id(twin) not in reached:
                    for k, v in twin._grads.items():
                        twin._grads[k] = np.zeros_like(v)
            first = twins[0]
            for other in twins[1:]:
                for k in first._grads:
                    first._grads[k] = first._grads[k] + other._grads[k]

    def _attr(self, path: str):
        if path in self._params:
            return self._params[path]
        if path in self._buffers:
            return self._buffers[path]
        return self._constants[path]

    def astype(self, dtype):
        super().astype(dtype)
        for k, v in self._constants.items():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                self._constants[k] = v.astype(dtype)
        return self

    def extra_repr(self):
        return {"nodes": len(self.steps)}


def _flat_refs(template):
    if isinstance(template, _Ref):
        return template
    if isinstance(template, tuple | list):
        return [_flat_refs(t) for t in template]
    if isinstance(template, dict):
        return [_flat_refs(v) for v in template.values()]
    return None


def _flat_values(template, dys):
    """The upstream gradients lined up with the output template: one per output."""
    if isinstance(template, _Ref):
        return dys[0] if len(dys) == 1 else dys
    if len(dys) == 1 and isinstance(dys[0], tuple | list | dict):
        dys = dys[0]
    if isinstance(dys, dict):
        dys = list(dys.values())
    return list(dys)
