"""CSV as a Chinese school office saves it: UTF-8 with or without BOM, GBK or GB18030; comma, tab,
semicolon or 、 separated. The encoding is tried in a fixed order and then guessed with charset-normalizer;
the delimiter is sniffed from the first lines."""

from __future__ import annotations

import csv as stdcsv
import io

from . import Row, SourceError, Table, clean_headers, is_blank

ENCODINGS = ("utf-8-sig", "gb18030")
DELIMITERS = ",\t;|"
# What a guess may settle on when neither UTF-8 nor GB18030 reads the bytes. Single-byte code pages are left
# out on purpose: they read any bytes at all, so a GBK file with one broken byte would come out garbled.
FALLBACKS = frozenset({"big5", "big5hkscs", "cp950", "utf_16", "utf_16_le", "utf_16_be", "utf_32"})


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding name. GBK is a subset of GB18030, so GB18030 reads both."""
    if not data.strip():
        raise SourceError("The file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise SourceError("The file claims to be UTF-16 but is not", f"byte {exc.start}") from None
    first_error: UnicodeDecodeError | None = None
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            # Locate the problem where the likeliest encoding (the one that read furthest) stumbled.
            if first_error is None or exc.start > first_error.start:
                first_error = exc
            continue
        if "\x00" in text:
            break
        return text, "gbk" if encoding == "gb18030" and _is_gbk(data) else encoding.replace("-sig", "")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding in FALLBACKS and "\x00" not in str(best):
        return str(best), best.encoding
    where = ""
    if first_error is not None:
        line = data[: first_error.start].count(b"\n") + 1
        where = f"line {line}, byte {first_error.start}"
    raise SourceError(
        "The file is not text in an encoding we can read (tried UTF-8, GBK and GB18030); "
        "save it again as CSV (UTF-8) or as an Excel file",
        where,
    )


def _is_gbk(data: bytes) -> bool:
    try:
        data.decode("gbk")
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return stdcsv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except stdcsv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_csv(data: bytes, delimiter: str | None = None) -> Table:
    text, encoding = decode(data)
    delimiter = delimiter or sniff_delimiter(text)
    reader = stdcsv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        raw_headers = next(reader)
    except StopIteration:
        raise SourceError("The file is empty") from None
    except stdcsv.Error as exc:
        raise SourceError(f"The file is not valid CSV: {exc}", "line 1") from None
    headers = clean_headers(raw_headers, "line 1")
    table = Table(headers=headers, encoding=encoding, delimiter=delimiter)
    try:
        for cells in reader:
            line = reader.line_num
            if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
                raise SourceError(
                    f"This line has {len(cells)} values but the header has {len(headers)} columns",
                    f"line {line}",
                )
            values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(headers)}
            if not is_blank(values):
                table.rows.append(Row(line, values))
    except stdcsv.Error as exc:
        raise SourceError(f"The file is not valid CSV: {exc}", f"line {reader.line_num}") from None
    return table
