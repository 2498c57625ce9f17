"""Graded checks for the course's assignments (``make assignments``; otter-grader's tests call
:func:`run_cases`).

Unlike :mod:`f2p.checks`, which compares a reader's function with the package's reference on
fresh random inputs (a learning aid), a graded check compares it with *stored* outputs on fixed
inputs that the student does not see (:func:`pack_cases` writes them into the autograder when the
assignments are built), and while it runs, the package functions that already solve the
exercise refuse to run (:func:`refusing`), so handing in ``f2p.rl.returns.gae`` or a wrapper
around it scores nothing.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest import mock

import torch

from f2p.checks import _clone, compare

Case = tuple[list[Any], Any]  # (positional arguments, expected output)


class RefusedImplementation(AssertionError):
    """A graded function called (or is) an implementation the exercise asks the student to write."""


def pack_cases(cases: Sequence[Case]) -> str:
    """``cases`` as one base64 string (``torch.save``: tensors keep their dtype and values)."""
    buffer = io.BytesIO()
    torch.save([(list(args), want) for args, want in cases], buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack_cases(packed: str) -> list[Case]:
    """The inverse of :func:`pack_cases` (tensors, numbers, strings and lists only)."""
    return torch.load(io.BytesIO(base64.b64decode(packed)), weights_only=True)


def resolve(dotted_name: str) -> tuple[object, str, Any]:
    """(owner, attribute, value) of ``dotted_name``: its longest importable module prefix, then
    attributes (``"torch.Tensor.softmax"`` -> (torch.Tensor, "softmax", the method))."""
    parts = dotted_name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:-1]:
            owner = getattr(owner, attribute)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"cannot resolve {dotted_name!r}: expected 'module.name'")


@contextlib.contextmanager
def refusing(dotted_names: Sequence[str]) -> Iterator[list[Any]]:
    """Inside the block, each named function raises :class:`RefusedImplementation` when called.

    A Python function gets a raising ``__code__``, so every alias of it refuses too (a student's
    ``from f2p.rl.returns import gae`` included); a built-in (``torch.softmax``) is replaced on
    its owner. Yields the original objects, for identity checks."""
    originals, restore = [], []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        # runs with the refused function's globals: reach this module through a builtin
        grading = __import__("f2p.grading", fromlist=["RefusedImplementation"])
        raise grading.RefusedImplementation("this exercise asks for your own implementation")

    try:
        for name in dotted_names:
            owner, attribute, value = resolve(name)
            originals.append(value)
            if hasattr(value, "__code__") and not value.__code__.co_freevars:
                restore.append((value, value.__code__))
                value.__code__ = refuse.__code__.replace(co_name=value.__code__.co_name)
            else:
                patch = mock.patch.object(owner, attribute, refuse)
                patch.start()
                restore.append((patch, None))
        yield originals
    finally:
        for target, code in reversed(restore):
            if code is None:
                target.stop()
            else:
                target.__code__ = code


def run_cases(
    candidate: Callable[..., Any],
    packed: str,
    refused: Sequence[str] = (),
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Assert that ``candidate`` returns the stored output on every stored input while the
    ``refused`` implementations refuse to run. Raises ``AssertionError`` saying which case
    failed and how (no inputs shown: they are the hidden test)."""
    if not callable(candidate):
        raise AssertionError(f"expected a function, got {type(candidate).__name__}")
    with refusing(refused) as originals:
        if any(candidate is original for original in originals):
            raise RefusedImplementation("this is the package's implementation, not yours")
        for number, (args, want) in enumerate(unpack_cases(packed)):
            got = candidate(*_clone(args))
            problem = compare(got, want, rtol=rtol, atol=atol)
            if problem:
                raise AssertionError(f"case {number}: {problem}")
