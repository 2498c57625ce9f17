"""A check, runnable without a GPU, that code keeps its tensors on the device it was asked for.

On a GPU, an op that reads a CUDA tensor together with a CPU tensor fails ("Expected all tensors
to be on the same device"), ``.numpy()`` of a CUDA tensor fails, and a host tensor that indexes a
device tensor costs a copy and a synchronisation at every step. On a CPU-only machine none of this
shows, because every tensor is on the CPU. :class:`DeviceGuard` makes it show: under it every
tensor is either *on the device* or *on the host*, as it would be on a GPU.

- On the device: what a factory makes with an explicit ``device=``, what ``.to(...)`` or
  ``.cuda()`` returns, a module's parameters and buffers after ``module.to(...)``, and every
  result of an op that read a tensor on the device.
- On the host: everything else (a factory without ``device=`` or with the ``.device`` of a host
  tensor, ``torch.as_tensor`` of a NumPy array, the result of ``.cpu()``).

An op that reads a device tensor and a host tensor of one or more dimensions is recorded with the
line of code that called it (CUDA accepts 0-dimensional host tensors as scalars, so they are
allowed), and so is ``.numpy()`` of a device tensor. The moves themselves (``to``, ``cpu``,
``cuda``, ``copy_``) are allowed. A host move is written ``.cpu()``: under the guard ``.to(d)``
always means "to the device", whatever ``d`` names, since a CPU run asks for ``d = "cpu"``.

    with DeviceGuard() as guard:
        train_classifier(model, train, test, device="cpu")
    guard.check()  # raises WrongDevice, naming each op and line, if any tensor was misplaced

Used by the tests on every trainer of the package (issue 20).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

_TAG = "_f2p_on_device"
_MOVES = {"to", "cuda", "cpu", "copy_", "__set__", "_has_compatible_shallow_copy_type"}
_TORCH_DIR = str(Path(torch.__file__).parent)


class WrongDevice(AssertionError):
    """Tensors were mixed across the host and the device."""


@dataclass(frozen=True)
class Violation:
    """One op that would fail, or copy every step, on a GPU."""

    op: str
    where: str
    """``file:line`` of the first caller outside torch and this module"""
    detail: str
    """what it read"""

    def __str__(self) -> str:
        return f"{self.op} at {self.where}: {self.detail}"


def on_device(tensor: torch.Tensor) -> bool:
    """Whether the guard counts ``tensor`` as on the device."""
    return getattr(tensor, _TAG, False)


def _place(value: Any, device: bool) -> None:
    for leaf in tree_flatten(value)[0]:
        if isinstance(leaf, torch.Tensor):
            setattr(leaf, _TAG, device)


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-3]):
        if not frame.filename.startswith(_TORCH_DIR) and frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "unknown"


class DeviceGuard(TorchFunctionMode):
    """Track, for every tensor made inside the ``with`` block, whether it is on the device or
    on the host, and record each op that mixes them (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.violations: list[Violation] = []
        self._host_devices: dict[int, torch.device] = {}  # the .device of host tensors, by id
        self._patches = ExitStack()

    def __enter__(self) -> DeviceGuard:
        self._patches.enter_context(_parameters_keep_their_place())
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._patches.close()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        if getattr(func, "__self__", None) is torch.Tensor.device:  # reading x.device
            found = func(*args, **kwargs)
            if not on_device(args[0]):
                self._host_devices[id(found)] = found
            return found
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        device_read = any(on_device(t) for t in tensors)
        if name == "numpy" and device_read:
            self._record("numpy", "a device tensor (call .cpu() first)")
        elif name not in _MOVES and device_read:
            host = [tuple(t.shape) for t in tensors if not on_device(t) and t.dim() > 0]
            if host:
                self._record(name, f"device tensors with host tensors of shapes {host}")
        out = func(*args, **kwargs)
        if name in {"to", "cuda", "cpu"} and isinstance(out, torch.Tensor):
            if out is args[0]:  # already there: a new Python object, so the input keeps its place
                out = out.view_as(out)
            target = {"cuda": True, "cpu": False}.get(name, self._target(args[1:], kwargs))
            setattr(out, _TAG, on_device(args[0]) if target is None else target)
        elif name == "__set__" and len(args) == 2 and isinstance(args[1], torch.Tensor):
            setattr(args[0], _TAG, on_device(args[1]))  # module.to: param.data = moved
        else:
            _place(out, device_read or self._names_the_device(kwargs.get("device")))
        return out

    def _names_the_device(self, device: object) -> bool:
        """Whether a ``device=`` argument sends a new tensor to the device: any device named,
        except the ``.device`` read from a host tensor."""
        return device is not None and id(device) not in self._host_devices

    def _target(self, args: tuple, kwargs: dict) -> bool | None:
        """Where ``Tensor.to(*args, **kwargs)`` sends its input: the device when it names one,
        the other tensor's place for ``.to(other)``, unchanged (None) for a dtype alone."""
        if "device" in kwargs:
            return self._names_the_device(kwargs["device"])
        for arg in args:
            if isinstance(arg, torch.Tensor):
                return on_device(arg)
            if isinstance(arg, str | torch.device | int) and not isinstance(arg, bool):
                return self._names_the_device(arg)
        return None

    def _record(self, op: str, detail: str) -> None:
        self.violations.append(Violation(op, _caller(), detail))

    def report(self) -> str:
        """The violations, one per line, each place once."""
        unique = dict.fromkeys(str(v) for v in self.violations)
        return "\n".join(unique)

    def check(self) -> None:
        """Raise :class:`WrongDevice` if any op mixed host and device tensors."""
        if self.violations:
            raise WrongDevice(
                "tensors on the host met tensors on the device (each would fail or copy on a "
                "GPU; create them with device=..., or move them with .to(device)):\n"
                + self.report()
            )


@contextmanager
def _parameters_keep_their_place() -> Iterator[None]:
    """``nn.Parameter(t)`` (and so ``copy.deepcopy`` of a module) is a new Python object made
    outside torch's function overrides: give it the place of ``t`` while the guard is on."""
    original = nn.Parameter.__dict__["__new__"]

    def new(cls, data=None, requires_grad=True):
        parameter = original.__func__(cls, data, requires_grad)
        if data is not None:
            setattr(parameter, _TAG, on_device(data))
        return parameter

    nn.Parameter.__new__ = staticmethod(new)
    try:
        yield
    finally:
        nn.Parameter.__new__ = original
