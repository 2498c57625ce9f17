"""f2p.results: benchmark files are validated, written atomically and rendered as one table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from f2p import results

ROOT = Path(__file__).resolve().parents[1]


def good(**overrides):
    result = {
        "chapter": "07",
        "benchmark": "NADE",
        "command": "python benchmarks/ch07_nade.py",
        "profile": "full",
        "device": "cpu",
        "rows": [
            {
                "quantity": "test NLL (nats)",
                "ours": 88.9,
                "reference": 88.86,
                "reference_source": "t2",
            }
        ],
    }
    result.update(overrides)
    return result


def test_write_then_load_round_trip(tmp_path):
    results.write(tmp_path / "b.json", good(chapter="09", benchmark="DDPG"))
    results.write(tmp_path / "a.json", good())
    loaded = results.load(tmp_path)
    assert [r["chapter"] for r in loaded] == ["07", "09"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]  # no temp files left


def test_missing_folder_means_no_results(tmp_path):
    assert results.load(tmp_path / "none") == []
    assert "No benchmark results yet" in results.to_markdown([])


@pytest.mark.parametrize(
    "bad, message",
    [
        (good(rows=[]), "'rows' is empty"),
        ({k: v for k, v in good().items() if k != "command"}, "missing field 'command'"),
        (good(rows=[{"quantity": "x"}]), "row 0 lacks 'ours'"),
        (good(rows=[{"quantity": "x", "ours": "fast"}]), "wrong type"),
        (good(rows=[{"quantity": "x", "ours": 1, "note": "?"}]), "unknown fields"),
        (good(chapter=7), "'chapter' should be a str"),
    ],
)
def test_bad_results_are_rejected_and_nothing_is_written(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        results.write(tmp_path / "r.json", bad)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_file_names_the_file(tmp_path):
    (tmp_path / "broken.json").write_text('{"chapter": "07", ')
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        results.load(tmp_path)


def test_markdown_has_a_table_per_benchmark_with_reference_columns_only_when_given():
    with_paper = good(
        rows=[{"quantity": "a", "ours": 1}, {"quantity": "b", "ours": 2.5, "reference": 3.0}]
    )
    without = good(chapter="09", benchmark="DDPG", rows=[{"quantity": "return", "ours": -150.0}])
    blocks = results.to_markdown([with_paper, without]).split("\n\n")
    assert blocks[0].startswith("**Chapter 07 · NADE** (full profile, cpu;")
    assert blocks[1].splitlines()[0] == "| quantity | ours | reference | source |"
    assert blocks[1].splitlines()[2:] == ["| a | 1 | – | – |", "| b | 2.5 | 3 | – |"]
    assert blocks[3].splitlines()[0] == "| quantity | ours |"
    assert blocks[3].splitlines()[2] == "| return | -150 |"
    json.dumps(with_paper)  # the schema is plain JSON


def test_write_benchmark_adds_the_standard_header(tmp_path, capsys):
    rows = [{"quantity": "clips/s", "ours": 12.5}]
    results.write_benchmark(tmp_path / "b.json", "03", "a test", "ch03_x.py", rows)
    (loaded,) = results.load(tmp_path)
    assert loaded["command"] == "python benchmarks/ch03_x.py" and loaded["rows"] == rows
    assert (loaded["chapter"], loaded["profile"]) == ("03", "full")
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(ValueError):
        results.write_benchmark(tmp_path / "c.json", "03", "bad", "x.py", [{"ours": 1}])
    assert not (tmp_path / "c.json").exists()


def test_expected_benchmarks_show_as_not_run_until_their_file_exists():
    pending = results.Expected.parse("07 | NADE | python benchmarks/ch07_nade.py")
    other = results.Expected("09", "DDPG", "python benchmarks/ch09.py")
    page = results.to_markdown([good()], [pending, other])
    assert page.count("not run yet") == 1  # NADE has its file; DDPG has none
    assert "**Chapter 09 · DDPG**: *not run yet*. Run `python benchmarks/ch09.py`" in page
    assert "not run yet" in results.to_markdown([], [other])
    with pytest.raises(ValueError, match="chapter \\| benchmark \\| command"):
        results.Expected.parse("07 | NADE")


def test_the_results_page_lists_runnable_pending_benchmarks():
    page = (ROOT / "book" / "results.md").read_text()
    body = page.split("```{f2p-results}\n", 1)[1].split("```", 1)[0]
    expected = [results.Expected.parse(line) for line in body.splitlines() if line.strip()]
    assert expected, "the page names the benchmarks that have not run yet"
    for e in expected:
        script = next(word for word in e.command.split() if word.endswith(".py"))
        assert (ROOT / script).is_file(), e


def test_censored_figures_render_as_lower_bounds_and_are_validated():
    row = {"quantity": "steps to target", "ours": 100000, "reference": 5.0, "censored": ["ours"]}
    page = results.to_markdown([good(rows=[row])])
    assert "| steps to target | > 100000 | 5 | – |" in page
    for bad in (["theirs"], ["reference", "median"]):
        with pytest.raises(ValueError, match="censored"):
            results.validate(good(rows=[{**row, "censored": bad}]))
    with pytest.raises(ValueError, match="censored"):  # no reference figure to censor
        results.validate(good(rows=[{"quantity": "x", "ours": 1.0, "censored": ["reference"]}]))


def test_load_filters_by_chapter(tmp_path):
    results.write(tmp_path / "a.json", good(chapter="03", benchmark="A"))
    results.write(tmp_path / "b.json", good(chapter="09", benchmark="B"))
    assert [r["benchmark"] for r in results.load(tmp_path, chapter="09")] == ["B"]
    assert results.load(tmp_path, chapter="11") == []


def test_the_package_ships_its_results_and_reads_them_by_default():
    packaged = sorted(results.RESULTS_DIR.glob("*.json"))
    assert results.RESULTS_DIR.parent.parent == Path(results.__file__).resolve().parent
    assert len(packaged) >= 9, packaged
    assert len(results.load()) == len(packaged)
    for chapter in ("03", "04", "05", "06"):  # the chapters that read their table this way
        assert len(results.load(chapter=chapter)) == 1, chapter
