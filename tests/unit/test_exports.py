"""Reading export files as text: delimiters, quoting, encodings, formats, malformed rows, and fsspec URLs."""

from __future__ import annotations

import gzip
import uuid

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from daybreak.ingest.exports.decoding import decode
from daybreak.ingest.exports.listing import list_exports
from daybreak.ingest.exports.reader import read_export
from daybreak.ingest.exports.rows import ExportReadError, MalformedRow

HEADER = ["invoice_no", "sku", "description", "qty"]


@pytest.fixture
def memory():
    """A private folder on fsspec's in-memory filesystem, as `memory://<folder>`."""
    fs = fsspec.filesystem("memory")
    root = f"/exports-{uuid.uuid4().hex}"
    fs.mkdir(root)
    yield fs, root
    fs.rm(root, recursive=True)


def put(memory, name: str, data: bytes | str) -> str:
    fs, root = memory
    fs.pipe(f"{root}/{name}", data.encode("utf-8") if isinstance(data, str) else data)
    return f"memory://{root}/{name}"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(memory, delimiter):
    text = "\n".join(delimiter.join(r) for r in [HEADER, ["1", "S1", "Mug", "2"], ["2", "S2", "Bowl", "-1"]])
    export = read_export(put(memory, "a.csv", text + "\n"), "csv")
    assert export.delimiter == delimiter
    assert export.rows.to_dict("records")[1] == {
        "invoice_no": "2",
        "sku": "S2",
        "description": "Bowl",
        "qty": "-1",
    }


def test_csv_values_are_strings_exactly_as_they_arrived(memory):
    text = 'invoice_no,sku,description,qty\n007,S1,"Plate, large\nsecond line",2.50\n008,S2,,\n'
    export = read_export(put(memory, "a.csv", text), "csv")
    assert export.rows.to_dict("records") == [
        {"invoice_no": "007", "sku": "S1", "description": "Plate, large\nsecond line", "qty": "2.50"},
        {"invoice_no": "008", "sku": "S2", "description": "", "qty": ""},
    ]
    assert export.rows.index.tolist() == [1, 2]
    assert (export.malformed, export.encoding) == ([], "utf-8")


def test_csv_falls_back_to_latin1_and_records_it(memory):
    text = "invoice_no,description\n1,Café\n"
    assert read_export(put(memory, "u.csv", text.encode("utf-8")), "csv").encoding == "utf-8"
    export = read_export(put(memory, "l.csv", text.encode("latin-1")), "csv")
    assert (export.encoding, export.rows["description"].tolist()) == ("cp1252", ["Café"])


def test_a_file_mixing_utf8_and_cp1252_lines_is_read_line_by_line_and_records_it(memory):
    # given UTF-8 lines beside cp1252 ones, and JSON lines written the same way
    data = (
        b"invoice_no,description\n"
        + "1,Café\n".encode()
        + "2,Crème brûlée\n".encode("cp1252")
        + "3,Ærø\n".encode()
        + "4,Señor\n".encode("cp1252")
    )
    export = read_export(put(memory, "m.csv", data), "csv")
    assert export.rows["description"].tolist() == ["Café", "Crème brûlée", "Ærø", "Señor"]
    assert export.encoding == "utf-8, cp1252 on line(s) 3, 5"
    jsonl = '{"d": "Café"}\n'.encode() + '{"d": "Crème"}\n'.encode("cp1252")
    export = read_export(put(memory, "m.jsonl", jsonl), "jsonl")
    assert (export.rows["d"].tolist(), export.encoding) == (["Café", "Crème"], "utf-8, cp1252 on line(s) 2")
    # and text in one encoding is still read as that encoding, and written back by what decode says
    assert decode("Crème\n".encode("cp1252")) == ("Crème\n", "cp1252")
    assert decode(data)[0].encode(decode(data)[1]).decode("utf-8").splitlines()[2] == "2,Crème brûlée"


def test_utf8_byte_order_mark_is_not_part_of_the_first_column(memory):
    export = read_export(put(memory, "b.csv", "\ufeffinvoice_no,qty\n1,2\n".encode()), "csv")
    assert list(export.rows.columns) == ["invoice_no", "qty"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_read_by_their_byte_order_mark(memory, encoding):
    # Excel's "Unicode text" export: UTF-16 with a mark, tab-separated
    text = "invoice_no\tdescription\tqty\n1\tCafé\t2\n"
    data = text.encode(encoding)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = "\ufeff".encode(encoding) + data  # the -be codecs write no mark of their own
    export = read_export(put(memory, "w.csv", data), "csv")
    assert export.encoding == encoding[:6]
    assert export.rows.to_dict("records") == [{"invoice_no": "1", "description": "Café", "qty": "2"}]


def test_gzip_compressed_csv_and_jsonl_are_read_whatever_their_name(memory):
    text = "invoice_no,qty\n1,2\n2,oops,3\n"
    csv_export = read_export(put(memory, "day.csv", gzip.compress(text.encode())), "csv")
    assert csv_export.rows.to_dict("records") == [{"invoice_no": "1", "qty": "2"}]
    assert csv_export.malformed == [MalformedRow(2, 3, "2,oops,3")]
    jsonl = read_export(put(memory, "day.jsonl.gz", gzip.compress(b'{"qty": 1}\n')), "jsonl")
    assert jsonl.rows.to_dict("records") == [{"qty": "1"}]
    with pytest.raises(ExportReadError, match=r"cut\.csv\.gz: a gzip file that cannot be decompressed"):
        read_export(put(memory, "cut.csv.gz", gzip.compress(text.encode())[:-9]), "csv")


def test_padded_header_names_are_trimmed_by_both_readers(memory):
    text = "invoice_no, qty , sku\n1, 2, S1\n"
    for name, data in (("fast.csv", text), ("careful.csv", text + '2,"open\n')):
        export = read_export(put(memory, name, data), "csv")
        assert list(export.rows.columns) == ["invoice_no", "qty", "sku"], name


def test_a_preamble_before_the_header_is_skipped_and_line_numbers_still_count_from_the_top(memory):
    text = 'Daily sales report\nrun 2024-03-06,,\n\ninvoice_no,sku,qty\n1,S1,2\n2,"open,3\n3,S3,4\n'
    export = read_export(put(memory, "p.csv", text), "csv", header_columns=["invoice_no", "qty"])
    assert (export.preamble_lines, list(export.rows.columns)) == (3, ["invoice_no", "sku", "qty"])
    assert export.rows.to_dict("records") == [
        {"invoice_no": "1", "sku": "S1", "qty": "2"},
        {"invoice_no": "3", "sku": "S3", "qty": "4"},
    ]
    assert export.malformed == [MalformedRow(2, 6, '2,"open,3')]  # line 6 of the file as it arrived
    # no line holds the columns: read from the top, for the ingest to name what is missing
    unmatched = read_export(put(memory, "q.csv", text), "csv", header_columns=["invoice_no", "price"])
    assert (unmatched.preamble_lines, list(unmatched.rows.columns)) == (0, ["Daily sales report"])


def test_excels_sep_line_names_the_delimiter_and_is_not_the_header(memory):
    text = "sep=;\ninvoice_no;description\n1;Plate, large\n"
    export = read_export(put(memory, "s.csv", text), "csv")
    assert (export.delimiter, export.preamble_lines) == (";", 1)
    assert export.rows.to_dict("records") == [{"invoice_no": "1", "description": "Plate, large"}]
    utf16 = read_export(put(memory, "u.csv", text.encode("utf-16")), "csv", header_columns=["invoice_no"])
    assert (utf16.encoding, utf16.rows.to_dict("records")) == ("utf-16", export.rows.to_dict("records"))


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\xd0\xcf\x11\xe0", "an old Excel .xls"),
        (b"PAR1", "a Parquet file"),
    ],
)
def test_a_workbook_or_parquet_file_where_text_was_expected_is_named_for_what_it_is(memory, start, said):
    url = put(memory, "sales.csv", start + b"\x00" * 64)
    with pytest.raises(ExportReadError, match=rf"sales\.csv: {said}.*, not csv text"):
        read_export(url, "csv")


def test_truncated_last_csv_line_is_set_aside_and_the_rest_loads(memory):
    text = "invoice_no,sku,qty\n1,S1,2\n\n2,S2,3\n3,S"
    export = read_export(put(memory, "t.csv", text), "csv")
    assert export.rows.index.tolist() == [1, 2], "a blank line is not a row"
    assert export.malformed == [MalformedRow(3, 5, "3,S", "malformed_row")]
    assert export.rows_in == 3


def test_unclosed_quote_does_not_swallow_the_rest_of_the_file(memory):
    text = 'invoice_no,sku,qty\n1,"S1,2\n2,S2,3\n3,S3,4\n'
    export = read_export(put(memory, "q.csv", text), "csv")
    assert export.rows["invoice_no"].tolist() == ["2", "3"]
    assert export.malformed == [MalformedRow(1, 2, '1,"S1,2')]


def test_header_only_and_zero_byte_csv_have_no_rows(memory):
    header_only = read_export(put(memory, "h.csv", "invoice_no,qty\n"), "csv")
    assert (list(header_only.rows.columns), header_only.rows_in) == (["invoice_no", "qty"], 0)
    assert read_export(put(memory, "z.csv", b""), "csv").rows_in == 0


def test_jsonl_values_to_text_and_bad_lines_set_aside(memory):
    text = '{"invoice_no": "1", "qty": 2, "price": 3.5, "customer": null}\n[1, 2]\n{"invoice_no": "2", "qty": -1}\n{"in'
    export = read_export(put(memory, "a.jsonl", text), "jsonl")
    assert export.rows.to_dict("index") == {
        1: {"invoice_no": "1", "qty": "2", "price": "3.5", "customer": ""},
        3: {"invoice_no": "2", "qty": "-1", "price": "", "customer": ""},
    }
    assert [(m.source_row, m.line_number, m.raw_text) for m in export.malformed] == [
        (2, 2, "[1, 2]"),
        (4, 4, '{"in'),
    ]


def test_a_json_array_of_objects_is_read_element_by_element(memory):
    text = '[\n  {"qty": 1, "sku": "S1"},\n  7,\n  {"qty": 2}\n]\n'
    export = read_export(put(memory, "a.jsonl", text), "jsonl")
    assert export.rows.to_dict("records") == [{"qty": "1", "sku": "S1"}, {"qty": "2", "sku": ""}]
    assert export.rows.index.tolist() == [1, 3]
    assert export.malformed == [MalformedRow(2, 3, "7")]
    cut = read_export(put(memory, "b.jsonl", '[{"qty": 1},\n {"qty": 2, "s'), "jsonl")
    assert (cut.rows.to_dict("records"), cut.malformed) == (
        [{"qty": "1"}],
        [MalformedRow(2, 2, '{"qty": 2, "s')],
    )
    assert read_export(put(memory, "c.jsonl", "[]"), "jsonl").rows_in == 0


def test_parquet_values_to_text_nulls_empty(memory, tmp_path):
    table = pa.table(
        {
            "invoice_no": ["1", "2"],
            "ordered_at": pa.array(pd.to_datetime(["2024-03-05 09:15:00", None])),
            "customer": ["C1", None],
            "qty": pa.array([2, None], pa.int64()),
            "price": [3.5, float("nan")],
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")
    fs, root = memory
    fs.pipe(f"{root}/a.parquet", (tmp_path / "a.parquet").read_bytes())
    for location in (
        str(tmp_path / "a.parquet"),
        f"file://{tmp_path / 'a.parquet'}",
        f"memory://{root}/a.parquet",
    ):
        export = read_export(location, "parquet")
        assert export.rows.to_dict("records") == [
            {
                "invoice_no": "1",
                "ordered_at": "2024-03-05 09:15:00",
                "customer": "C1",
                "qty": "2",
                "price": "3.5",
            },
            {"invoice_no": "2", "ordered_at": "", "customer": "", "qty": "", "price": "nan"},
        ]


def test_pandas_index_column_is_not_a_column(tmp_path):
    pd.DataFrame({"qty": ["1"]}, index=pd.Index([5], name=None)).to_parquet(tmp_path / "i.parquet")
    assert list(read_export(str(tmp_path / "i.parquet"), "parquet").rows.columns) == ["qty"]


def test_unreadable_parquet_and_unknown_format_are_errors(memory):
    with pytest.raises(ExportReadError, match="not a readable Parquet file"):
        read_export(put(memory, "x.parquet", "invoice_no\n1\n"), "parquet")
    with pytest.raises(ExportReadError, match="unknown export format 'xml'"):
        read_export(put(memory, "x.xml", "<a/>"), "xml")


def test_list_exports_local_and_object_storage(memory, tmp_path):
    for name in ("b.csv", "a.csv", "notes.txt"):
        (tmp_path / name).write_text("x\n")
        put(memory, name, "x\n")
    (tmp_path / "_truth").mkdir()
    assert list_exports(str(tmp_path), "*.csv") == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    fs, root = memory
    assert list_exports(f"memory://{root}", "*.csv") == [f"memory://{root}/a.csv", f"memory://{root}/b.csv"]
    assert list_exports(str(tmp_path / "missing"), "*.csv") == []
    assert list_exports(f"memory://{root}/missing", "*.csv") == []


def test_blank_and_repeated_header_names_are_named_like_pandas(memory):
    export = read_export(put(memory, "d.csv", "qty,qty,,sku\n1,2,3,S1\n"), "csv")
    assert list(export.rows.columns) == ["qty", "qty.1", "Unnamed: 2", "sku"]


def test_whitespace_separated_fields_split_on_runs_of_blanks_and_keep_quoted_spaces(memory):
    text = (
        "customer  date\tunits  amount\n"
        "00001     20240305      2   19.98\n"
        '"Ann Lee" 20240305      4   "58.00"\n'
        '"a ""q"""  x  ""  1\n'
        '"00006    20240305      1    4.99\n'
        "00007 20240305 1\n"
        "\n"
    )
    export = read_export(put(memory, "w.txt", text), "csv", "whitespace")
    assert export.delimiter == "whitespace"
    assert export.rows.values.tolist() == [
        ["00001", "20240305", "2", "19.98"],
        ["Ann Lee", "20240305", "4", "58.00"],
        ['a "q"', "x", "", "1"],
    ]
    assert export.malformed == [
        MalformedRow(4, 5, '"00006    20240305      1    4.99'),
        MalformedRow(5, 6, "00007 20240305 1"),
    ]


def test_a_configured_delimiter_is_used_instead_of_sniffing(memory):
    # the sniffer would take `,` here (every line has one); the config says `;`
    text = "sku;description\nS1;Plate, large\nS2;Cup, small\n"
    export = read_export(put(memory, "s.csv", text), "csv", ";")
    assert export.delimiter == ";"
    assert export.rows["description"].tolist() == ["Plate, large", "Cup, small"]
