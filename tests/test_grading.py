"""f2p.grading: stored cases round-trip exactly, and the refused implementations refuse while a
check runs (every alias included) and work again afterwards."""

from __future__ import annotations

import pytest
import torch

from f2p import grading
from f2p.rl import returns
from f2p.rl.returns import gae as imported_alias


def test_cases_round_trip_with_their_dtypes_and_values():
    cases = [
        ([torch.randn(3, dtype=torch.float64), torch.tensor([True, False]), 5, "A"], 0.25),
        ([torch.arange(4)], torch.ones(2, 2)),
    ]
    back = grading.unpack_cases(grading.pack_cases(cases))
    assert back[0][0][0].dtype == torch.float64 and torch.equal(back[0][0][0], cases[0][0][0])
    assert torch.equal(back[0][0][1], cases[0][0][1]) and back[0][0][2:] == [5, "A"]
    assert back[0][1] == 0.25 and torch.equal(back[1][1], torch.ones(2, 2))


def test_refused_functions_refuse_through_every_alias_and_come_back():
    rewards = torch.ones(2, 1)
    before = returns.gae(rewards, rewards, rewards, rewards.bool(), rewards.bool(), 0.9, 0.9)
    with grading.refusing(["f2p.rl.returns.gae", "torch.softmax"]) as originals:
        assert originals[0] is returns.gae
        for call in (
            lambda: imported_alias(rewards, rewards, rewards, rewards.bool(), rewards.bool(), 1, 1),
            lambda: torch.softmax(rewards, 0),
        ):
            with pytest.raises(grading.RefusedImplementation):
                call()
    after = imported_alias(rewards, rewards, rewards, rewards.bool(), rewards.bool(), 0.9, 0.9)
    assert torch.equal(before, after) and torch.softmax(rewards, 0).shape == (2, 1)


def test_run_cases_passes_a_right_answer_and_names_the_failing_case():
    packed = grading.pack_cases([([torch.tensor([1.0, 2.0])], torch.tensor([2.0, 4.0]))] * 2)
    grading.run_cases(lambda x: 2 * x, packed)
    with pytest.raises(AssertionError, match="case 0: wrong values"):
        grading.run_cases(lambda x: 3 * x, packed)
    with pytest.raises(grading.RefusedImplementation):
        grading.run_cases(torch.softmax, packed, refused=["torch.softmax"])
    with pytest.raises(AssertionError, match="expected a function"):
        grading.run_cases("not a function", packed)
