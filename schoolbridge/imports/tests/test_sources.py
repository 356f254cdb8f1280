"""Source readers: real bytes, a real SQLite file, a real HTTP server on loopback. No Django database."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schoolbridge.imports.sources import SourceError
from schoolbridge.imports.sources.csv import read_csv
from schoolbridge.imports.sources.excel import read_excel, sheet_names
from schoolbridge.imports.sources.sql import read_sql
from schoolbridge.imports.sources.webapi import check_url, read_api

TEXT = "学号,姓名,班级\nS1,张三,初一(1)班\nS2,李四,初一(2)班\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding):
    table = read_csv(TEXT.encode(encoding))
    assert table.headers == ["学号", "姓名", "班级"]
    assert [(r.number, r.values["姓名"]) for r in table] == [(2, "张三"), (3, "李四")]
    assert (
        table.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gbk", "gb18030": "gbk"}[encoding]
    )


def test_gb18030_beyond_gbk():
    data = "学号,姓名\nS1,𠀀明\n".encode("gb18030")  # a character GBK does not have
    table = read_csv(data)
    assert table.rows[0].values["姓名"] == "𠀀明" and table.encoding == "gb18030"


@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_delimiter_sniffed(delimiter):
    table = read_csv(TEXT.replace(",", delimiter).encode("gbk"))
    assert table.delimiter == delimiter and table.rows[1].values["班级"] == "初一(2)班"


def test_quoted_cells_blank_lines_and_line_numbers():
    data = '学号,姓名,备注\nS1,张三,"第一行\n第二行"\n\n,,\nS2,李四,"a, b"\n'.encode()
    table = read_csv(data)
    assert [r.number for r in table] == [3, 6]  # the row number where each record ends, as an editor shows
    assert table.rows[0].values["备注"] == "第一行\n第二行" and table.rows[1].values["备注"] == "a, b"


def test_wrong_encoding_is_located():
    data = "学号,姓名\nS1,张三\n".encode("gbk") + b"S2,\x81\x20bad\n"
    with pytest.raises(SourceError) as exc:
        read_csv(data)
    assert "encoding" in exc.value.message and "line 3" in exc.value.where


def test_binary_is_refused():
    with pytest.raises(SourceError):
        read_csv(bytes(range(256)) * 4)


def test_duplicate_and_missing_headers():
    with pytest.raises(SourceError) as exc:
        read_csv("姓名,姓名\n1,2\n".encode())
    assert "twice" in exc.value.message
    with pytest.raises(SourceError):
        read_csv(b"\n")
    with pytest.raises(SourceError) as exc:
        read_csv("学号,姓名\nS1,张三,多余\n".encode())
    assert exc.value.where == "line 2"


def _xlsx(sheets):
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_excel_sheet_and_header_row():
    import datetime

    data = _xlsx(
        {
            "说明": [["请勿修改"]],
            "学生": [
                ["2025学年学生名单"],
                [],
                ["学号", "姓名", "出生日期", "电话"],
                ["S1", "张三", datetime.datetime(2013, 3, 8), 13800000001],
                [None, None, None, None],
                ["S2", "李四", 41000, None],
            ],
        }
    )
    assert sheet_names(data) == ["说明", "学生"]
    table = read_excel(data, "学生", header_row=3)
    assert table.headers == ["学号", "姓名", "出生日期", "电话"] and table.sheet == "学生"
    assert [r.number for r in table] == [4, 6]
    assert table.rows[0].values == {
        "学号": "S1",
        "姓名": "张三",
        "出生日期": "2013-03-08",
        "电话": 13800000001,
    }
    assert table.rows[1].values["出生日期"] == 41000  # an Excel serial number left for the date transform
    with pytest.raises(SourceError) as exc:
        read_excel(data, "无此表")
    assert "学生" in exc.value.message
    with pytest.raises(SourceError):
        read_excel(b"PK\x03\x04 not really a zip")


def test_sqlite_file(tmp_path):
    import sqlite3

    path = tmp_path / "sis.db"
    con = sqlite3.connect(path)
    con.execute("create table pupils (xh text, xm text, bj text, csrq date)")
    con.executemany(
        "insert into pupils values (?,?,?,?)",
        [("S1", "张三", "初一(1)班", "2013-03-08"), ("S2", "李四", None, None)],
    )
    con.commit()
    con.close()
    table = read_sql(
        f"sqlite:///{path}", "SELECT xh AS 学号, xm AS 姓名, bj AS 班级, csrq FROM pupils ORDER BY xh"
    )
    assert table.headers == ["学号", "姓名", "班级", "csrq"]
    assert [r.values for r in table] == [
        {"学号": "S1", "姓名": "张三", "班级": "初一(1)班", "csrq": "2013-03-08"},
        {"学号": "S2", "姓名": "李四", "班级": None, "csrq": None},
    ]
    for bad in ("DELETE FROM pupils", "SELECT 1; DROP TABLE pupils", "update pupils set xm='x'", ""):
        with pytest.raises(SourceError):
            read_sql(f"sqlite:///{path}", bad)
    with pytest.raises(SourceError) as exc:
        read_sql(f"sqlite:///{path}", "SELECT * FROM nothing_here")
    assert "nothing_here" in exc.value.message
    with pytest.raises(SourceError):
        read_sql(f"sqlite:///{path}", "SELECT * FROM pupils", max_rows=1)
    with pytest.raises(SourceError):
        read_sql("nosuchdb://x", "SELECT 1")


def test_postgresql():
    """Against the real PostgreSQL server (a table of our own in a scratch schema)."""
    from schoolbridge.testing.services import absent

    try:
        import psycopg

        con = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3, autocommit=True)
    except Exception as exc:  # noqa: BLE001
        absent(f"PostgreSQL at 127.0.0.1:5432/test is not reachable: {exc}", "postgres")
    schema = "imports_src_test"
    try:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.pupils (xh text, xm text, csrq date, score numeric(5,1))")
        con.execute(
            f"INSERT INTO {schema}.pupils VALUES ('S1','张三','2013-03-08', 90.0), ('S2','李四',NULL, 88.5)"
        )
        table = read_sql(
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
            f"SELECT xh AS 学号, xm AS 姓名, csrq AS 出生日期, score FROM {schema}.pupils ORDER BY xh",
        )
        assert [r.values for r in table] == [
            {"学号": "S1", "姓名": "张三", "出生日期": "2013-03-08", "score": 90},
            {"学号": "S2", "姓名": "李四", "出生日期": None, "score": 88.5},
        ]
        with pytest.raises(SourceError):
            read_sql("postgresql+psycopg://postgres@127.0.0.1:5432/test", f"SELECT * FROM {schema}.missing")
        # A SELECT can still write (a sequence, a function with side effects): the server refuses it.
        con.execute(f"CREATE SEQUENCE {schema}.seq")
        with pytest.raises(SourceError) as refused:
            read_sql(
                "postgresql+psycopg://postgres@127.0.0.1:5432/test", f"SELECT nextval('{schema}.seq') AS n"
            )
        assert "read-only" in refused.value.message
    finally:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.close()


class _Api(BaseHTTPRequestHandler):
    RECORDS = [{"id": f"S{i}", "name": f"学生{i}", "class": {"name": "初一(1)班"}} for i in range(1, 6)]
    seen_auth: list = []

    def do_GET(self):  # noqa: N802
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        self.seen_auth.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != "Bearer s3cret":
            self.send_response(401)
            self.end_headers()
            return
        body: dict[str, object]
        if parts.path == "/paged":
            page = int(q.get("page", ["1"])[0])
            body = {"data": {"items": self.RECORDS[(page - 1) * 2 : page * 2]}}
        elif parts.path == "/linked":
            start = int(q.get("from", ["0"])[0])
            nxt = f"/linked?from={start + 2}" if start + 2 < len(self.RECORDS) else None
            body = {"results": self.RECORDS[start : start + 2], "next": nxt}
        elif parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/")
            self.end_headers()
            return
        else:
            body = {"oops": True}
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_api_page_number_pagination(api_url):
    table = read_api(f"{api_url}/paged", records_path="data.items", auth_header="Authorization: Bearer s3cret",
                     pagination="page", allow_private=True)  # fmt: skip
    assert table.headers == ["id", "name", "class.name"]
    assert [r.values["id"] for r in table] == ["S1", "S2", "S3", "S4", "S5"]
    assert table.rows[0].values["class.name"] == "初一(1)班"


def test_api_next_link_pagination(api_url):
    table = read_api(f"{api_url}/linked", records_path="results", auth_header="Authorization: Bearer s3cret",
                     pagination="next", next_path="next", allow_private=True)  # fmt: skip
    assert [r.number for r in table] == [1, 2, 3, 4, 5]


def test_api_errors(api_url):
    with pytest.raises(SourceError) as exc:
        read_api(f"{api_url}/paged", records_path="data.items", allow_private=True)
    assert "401" in exc.value.message
    with pytest.raises(SourceError) as exc:
        read_api(
            f"{api_url}/other",
            auth_header="Authorization: Bearer s3cret",
            records_path="data",
            allow_private=True,
        )
    assert "No list of records" in exc.value.message
    with pytest.raises(SourceError):  # a redirect is not followed (it could lead anywhere)
        read_api(f"{api_url}/redirect", auth_header="Authorization: Bearer s3cret", allow_private=True)


def test_private_addresses_refused_by_default(api_url):
    for url in (
        f"{api_url}/paged",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x",
        "http://[::1]/x",
    ):
        with pytest.raises(SourceError) as exc:
            check_url(url)
        assert "not allowed" in exc.value.message
    for url in ("file:///etc/passwd", "ftp://example.org/x", "http://user:pw@example.org/"):
        with pytest.raises(SourceError):
            check_url(url, allow_private=True)
