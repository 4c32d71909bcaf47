"""`daybreak config check CONFIG --sample EXPORT`: a mapping that does not fit its export is found at once, reported
as ingest would report it, and nothing is written."""

from __future__ import annotations

from jobs.cli import main
from tests.conftest import PROJECT_ROOT

BAD_EXPORTS = PROJECT_ROOT / "tests/data/bad_exports"


def test_a_sample_reports_each_quarantined_row_with_its_line_rule_and_detail(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAYBREAK_HOME", str(tmp_path / "home"))
    code = main(
        [
            "config",
            "check",
            "synthetic",
            "--sample",
            str(BAD_EXPORTS / "wrong_types.csv"),
            "--date",
            "2024-03-05",
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "OK synthetic: synthetic"
    assert out[1].endswith(
        "(business date 2024-03-05): 11 row(s) checked, 2 would load, 9 would be quarantined"
    )
    assert "  line 4: quantity_not_numeric: quantity 'two' is no number" in out
    assert "  line 12: unit_price_below_min: unit_price '-2.5' is below the minimum 0" in out
    assert not (tmp_path / "home").exists(), "nothing written"


def test_a_column_the_mapping_names_wrongly_is_one_line_and_exit_2(capsys):
    assert main(["config", "check", "synthetic", "--sample", str(BAD_EXPORTS / "missing_column.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing required column(s) ['country'] (dataset 'synthetic' reads" in err[0]


def test_a_column_of_the_wrong_type_loads_nothing_and_exits_2(tmp_path, capsys):
    wrong = tmp_path / "qty_is_text.yml"
    text = (PROJECT_ROOT / "include/daybreak/datasets/synthetic.yml").read_text()
    assert "quantity: qty" in text
    wrong.write_text(
        text.replace("name: synthetic", "name: qty_is_text", 1).replace(
            "quantity: qty", "quantity: description"
        )
    )
    assert main(["config", "check", str(wrong), "--sample", str(BAD_EXPORTS / "good.csv")]) == 2
    out = capsys.readouterr().out
    assert "row(s) checked, 0 would load" in out
    assert "quantity_not_numeric: quantity 'Mug' is no number" in out


def test_a_history_in_one_file_is_checked_line_by_line_against_each_line_s_own_day(capsys):
    own = BAD_EXPORTS / "own_format.yml"
    assert main(["config", "check", str(own), "--sample", str(BAD_EXPORTS / "own_format.txt")]) == 0
    out = capsys.readouterr().out
    assert (
        "(business date each line's own day): 7 row(s) checked, 3 would load, 4 would be quarantined" in out
    )
    assert "ordered_at_not_on_business_date" not in out
    assert "  line 5: ordered_at_unparseable: ordered_at '20240230' is not a timestamp" in out
