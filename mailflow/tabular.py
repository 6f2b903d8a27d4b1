"""Reading a back office's CSV: encoding and delimiter sniffed, header matched loosely, each row's problem its own.

What spreadsheets write: UTF-8 with or without a byte-order mark, or Windows-1252 (Excel's plain "CSV" on a
Belgian or French Windows); commas, or semicolons where the decimal mark is a comma, or tabs between columns.
A problem with one row (bytes the encoding does not define, a line or a cell too long, a quote never closed)
is reported as that row's, with its line number, and the rows after it are read on. Memory stays bounded
whatever the file holds: it is read a line at a time, and no line is read whole beyond MAX_LINE.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Iterator, Sequence

from mailflow.errors import NotFound, ValidationError

UTF8, CP1252 = "utf-8", "cp1252"
ENCODING_NAMES = {UTF8: "UTF-8", CP1252: "Windows-1252"}
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}
MAX_LINE = 1 << 20  # bytes; csv's own field limit is set to the same, so no quoted cell grows past it either
MAX_CELL = 1_000  # characters; no column of an import needs more, and error messages quote cells
CHUNK = 1 << 20
_LONE_CR = re.compile(r"(?<=\r)(?!\n|$)")  # old Mac line ends, which csv refuses inside an unquoted cell


@dataclass(frozen=True)
class Layout:
    encoding: str
    lines: int  # physical lines, header included: what a progress bar counts down


@dataclass
class Row:
    first: int  # the line where the row starts (1 is the header)
    last: int  # the line where it ends: a quoted cell may hold line breaks
    cells: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def sniff(path: Path) -> Layout:
    """UTF-8 when the whole file is valid UTF-8, checked a chunk at a time; otherwise Windows-1252."""
    decoder = codecs.getincrementaldecoder(UTF8)()
    valid, lines, last = True, 0, b"\n"
    with _opened(path) as handle:
        _refuse_utf16(handle.read(2))
        handle.seek(0)
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            lines, last = lines + chunk.count(b"\n"), chunk[-1:]
            valid = valid and _decodes(decoder, chunk)
    valid = valid and _decodes(decoder, b"", final=True)
    return Layout(UTF8 if valid else CP1252, lines + (last != b"\n"))


def _opened(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror}", field="csv") from None


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> bool:
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_utf16(head: bytes) -> None:
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise ValidationError("the CSV file is UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8\" "
                              "or plain \"CSV\"", field="csv")


class Table:
    """A CSV file's rows as dicts of the wanted columns; the header is checked on opening."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.name = path.name
        self.layout = sniff(path)
        self._handle = _opened(path)
        self._problems: dict[int, str] = {}  # line number -> what is wrong with it, until a row claims it
        lines = self._lines()
        header = next(lines, "")
        self.delimiter = max(DELIMITERS, key=header.count)  # names hold no delimiter; a tie goes to ","
        csv.field_size_limit(MAX_LINE)  # the default (128 KiB) made a long cell a csv traceback
        self._reader = csv.reader(itertools.chain([header], lines), delimiter=self.delimiter)
        try:
            self._index, self._width = self._header(columns)
        except ValidationError:
            self.close()
            raise

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def described(self) -> str:
        return f"{ENCODING_NAMES[self.layout.encoding]} with {DELIMITERS[self.delimiter]} between columns"

    def _header(self, columns: Sequence[str]) -> tuple[dict[str, int], int]:
        names = next(self._reader, [])
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            index.setdefault(name.strip().lower(), position)
        missing = [column for column in columns if column not in index]
        if missing:
            found = ", ".join(repr(name) for name in names)[:300] or "nothing"
            raise ValidationError(f"CSV header lacks column(s): {', '.join(missing)} (found {found}; expected "
                                  f"{','.join(columns)}; read as {self.described()})", field="csv")
        return {column: index[column] for column in columns}, len(names)

    def rows(self) -> Iterator[Row]:
        """Every row but blank ones; a row that cannot be read carries its problem instead of its cells."""
        while True:
            first = self._reader.line_num + 1
            try:
                record = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader starts afresh on the next line
                yield Row(first, self._reader.line_num, problem=f"unreadable CSV ({exc})")
                continue
            row = self._row(first, record)
            if row is not None:
                yield row

    def _row(self, first: int, record: list[str]) -> Row | None:
        last = self._reader.line_num
        problem = next((self._problems.pop(n) for n in range(first, last + 1) if n in self._problems), None)
        if problem is None and not any(value.strip() for value in record):
            return None  # a blank line, or one of empty cells as spreadsheets leave below the data
        if problem is None and (len(record) < self._width or any(v.strip() for v in record[self._width:])):
            problem = f"wrong number of fields ({len(record)}, the header has {self._width})"
        cells = {column: record[position] for column, position in self._index.items()} if problem is None else {}
        long = [column for column, value in cells.items() if len(value) > MAX_CELL]
        if long:
            problem = f"column {long[0]} is too long ({len(cells[long[0]])} characters, at most {MAX_CELL})"
        return Row(first, last, cells, problem)

    def _lines(self) -> Iterator[str]:
        """The file's lines decoded, one item per line as csv counts them; a bad line's problem noted."""
        number = 0
        while line := self._handle.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE:
                self._skip_rest()
                text, problem = "\n", f"the line is longer than {MAX_LINE} bytes"
            else:
                text, problem = self._decoded(line, number == 0)
            for piece in _LONE_CR.split(text) if "\r" in text else (text,):
                number += 1
                if problem:
                    self._problems[number] = problem
                yield piece

    def _skip_rest(self) -> None:
        while (part := self._handle.readline(CHUNK)) and not part.endswith(b"\n"):
            pass

    def _decoded(self, line: bytes, first: bool) -> tuple[str, str | None]:
        encoding = self.layout.encoding
        try:
            text, problem = line.decode(encoding), None
        except UnicodeDecodeError as exc:  # Windows-1252 leaves five bytes undefined; or the file changed
            text = line.decode(encoding, "replace")
            problem = (f"byte 0x{line[exc.start]:02x} at position {exc.start + 1} is not "
                       f"{ENCODING_NAMES[encoding]} text")
        return (text.removeprefix("\ufeff") if first else text), problem
