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
    provenance = {("07", "NADE"): "committed in abc1234 on 2026-12-01"}
    blocks = results.to_markdown([with_paper, without], provenance=provenance).split("\n\n")
    assert blocks[0] == "**Chapter 07 · NADE**"
    assert blocks[1] == (
        "*`python benchmarks/ch07_nade.py`; full profile; cpu, committed in abc1234 on 2026-12-01.*"
    )
    assert blocks[2].splitlines()[0] == "| quantity | ours | reference | source |"
    assert blocks[2].splitlines()[2:] == ["| a | 1 | – | – |", "| b | 2.5 | 3 | – |"]
    assert blocks[5].splitlines()[0] == "| quantity | ours |"
    assert blocks[5].splitlines()[2] == "| return | -150 |"
    json.dumps(with_paper)  # the schema is plain JSON


@pytest.mark.parametrize(
    "value, text",
    [(23669248, "23.7 M"), (10226, "10.2 k"), (7872.88, "7,873"), (0.02346, "0.0235"),
     (120000.0, "120 k"), (5, "5"), (-123.542, "-124"), (0.5, "0.5"), (None, "–")],
)  # fmt: skip
def test_numbers_are_formatted_for_reading(value, text):
    assert results.format_number(value) == text
    digits = [c for c in text if c.isdigit()]
    assert len("".join(digits).lstrip("0")) <= 4


def test_per_method_rows_become_one_row_per_method_with_mean_std_and_the_papers_figure():
    rows = [
        {"quantity": "TSN: accuracy (mean)", "ours": 0.8642},
        {"quantity": "TSN: accuracy (std)", "ours": 0.0551},
        {"quantity": "TSN: parameters", "ours": 10226},
        {"quantity": "TSM: accuracy (mean)", "ours": 1.0},
        {"quantity": "TSM: accuracy (std)", "ours": 0.0},
        {"quantity": "TSM: parameters", "ours": 10226},
        {"quantity": "TSM / TSN speed", "ours": 0.92},
    ]
    page = results.to_markdown([good(chapter="03", benchmark="video", rows=rows)])
    table = [line for line in page.splitlines() if line.startswith("|")]
    assert table[0] == "| method | accuracy | parameters | paper (measure; setting) |"
    assert table[2].startswith("| TSN | 0.864 ± 0.055 | 10.2 k | 19.7 (Something-Something V1")
    assert table[3].startswith("| TSM | 1.00 ± 0.00 | 10.2 k | 45.6 (")
    assert "Also measured: TSM / TSN speed: 0.92." in page


def test_optional_machine_and_date_are_validated_and_shown():
    result = good(machine="a CPU, 2 cores", recorded="2026-12-01")
    assert "cpu, a CPU, 2 cores, 2026-12-01" in results.to_markdown([results.validate(result)])
    with pytest.raises(ValueError, match="'machine' should be a str"):
        results.validate(good(machine=2))
    with pytest.raises(ValueError, match="unknown fields"):
        results.validate(good(when="today"))


def test_write_benchmark_adds_the_standard_header(tmp_path, capsys):
    rows = [{"quantity": "clips/s", "ours": 12.5}]
    results.write_benchmark(tmp_path / "b.json", "03", "a test", "ch03_x.py", rows)
    (loaded,) = results.load(tmp_path)
    assert loaded["command"] == "python benchmarks/ch03_x.py" and loaded["rows"] == rows
    assert (loaded["chapter"], loaded["profile"]) == ("03", "full")
    assert loaded["machine"] and loaded["recorded"]  # where and when it ran
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
    noted = results.Expected.parse("09 | DDPG | python benchmarks/ch09.py | a smaller run, below")
    assert "appears here. Instead: a smaller run, below" in results.to_markdown([], [noted])
    assert "Instead" not in results.to_markdown([], [other])


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
    assert "| steps to target | > 100 k | 5 | – |" in page
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
    for chapter in ("03", "04", "05"):  # the chapters that read their table this way
        assert len(results.load(chapter=chapter)) == 1, chapter
    commands = sorted(r["command"] for r in results.load(chapter="06"))  # 06 picks by command
    assert commands == ["python benchmarks/ch06_idn_tuning.py",
                        "python benchmarks/ch06_online_detection.py"]  # fmt: skip


def suite_run(profile: str, jobs: list[dict]) -> dict:
    return {
        "profile": profile, "device": "cuda" if profile == "full" else "cpu",
        "machine": "test machine", "recorded": "2026-12-01", "command": "python suite.py",
        "jobs_at_a_time": 2, "threads_per_job": 1, "wall_seconds": 600.0, "jobs": jobs,
    }  # fmt: skip


def test_the_suite_table_shows_each_profiles_latest_run_side_by_side(tmp_path):
    job = {"name": "02_tsn", "status": "passed", "seconds": 114.2, "device": "cpu"}
    results.write_json(tmp_path / "fast.json", suite_run("fast", [job]))
    text = results.suite_markdown(tmp_path)
    assert "**fast profile** on test machine (2026-12-01): 1 of 1 jobs passed in 10.0" in text
    assert "**full profile**: *not run yet*" in text and "make gpu" in text
    assert "| 02_tsn | 114 s on cpu | – |" in text
    on_gpu = {**job, "seconds": 31.0, "device": "cuda", "peak_gpu_bytes": 3 * 2**30}
    failed = {"name": "07_autoregressive", "status": "skipped", "error": "needs mnist files"}
    results.write_json(tmp_path / "full.json", suite_run("full", [on_gpu, failed]))
    text = results.suite_markdown(tmp_path)
    assert "| 02_tsn | 114 s on cpu | 31 s on cuda, 3.0 GiB peak |" in text
    assert "| 07_autoregressive | – | skipped: needs mnist files |" in text


def test_the_package_ships_the_fast_profiles_suite_run():
    text = results.suite_markdown()
    assert "**fast profile** on" in text and "| 11_llm_reasoning |" in text
