"""The .xlsx file format: sheets of cells written as a SpreadsheetML package (ECMA-376).

This module owns the format, not the content (``xlsx`` decides what each sheet holds).
A sheet (``Sheet``) is a header over a table of data rows, optional rows above the
header (``before``) and below the data (``after``); every sheet gets its header row
frozen, an auto-filter over header and data, column widths sized to the data, and a
print setup (landscape, fitted to the page width, the header repeated on every page).

Cells:

- numbers are numbers, negative ones included; NaN and infinity are shown as text;
- ``Money`` is an amount with its currency's number format, ``#,##0.00## "GBP"``: two
  decimals, up to four when the amount has them, and the ISO code as a suffix; a code
  that is not three capital letters gets the plain ``#,##0.00##``, so API text can never
  alter a format string; the value is the float's shortest repr, exact;
- ``Heading`` is bold text;
- text is an inline string (``t="inlineStr"``, which no spreadsheet evaluates on
  opening). Text that Excel or LibreOffice could read as something else (starting with
  ``=``, ``+``, ``-``, ``@``, tab or CR, as OWASP lists for CSV injection, or equal to an
  error code such as ``#REF!``) gets a style with ``quotePrefix="1"``: Excel's own
  "leading apostrophe", which keeps the cell text when someone edits it, yet shows the
  text exactly as the API sent it. No cell is ever a formula. Characters XML 1.0 cannot
  carry become U+FFFD; text beyond Excel's 32,767 characters a cell is cut, ending "…".

Why no writer library: the Credits sheet of a 10-million-use snapshot has a million rows
of 16 cells. xlsxwriter, the library made for large sheets, takes each cell through a
Python call (``write_number``, ``write_string``) and renders it alone: measured here at
about 5 microseconds a cell, some 80 s for that sheet. openpyxl is slower still, and its
fast path needs its internals. The cells are rendered here instead, a slice of whole
columns at a time with Arrow's string kernels, and the few package parts around them
(content types, relationships, workbook, styles, shared strings, document properties)
are small fixed XML, written with the standard library's ``zipfile``.

Nothing reads the clock: the document properties (created, modified) carry the moment
given (the audit's ``as_of``), every zip entry the zip format's zero date, 1980-01-01
00:00, as Excel dates its own; so the same sheets give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_ROWS = 1_048_575
"""Data rows per sheet: Excel's 1,048,576 rows, less the header."""

MAX_TEXT = 32_767
"""Characters a cell holds in Excel."""

ERROR_CODES = (
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
)
"""Cell texts a spreadsheet would show as an error: written with a quote prefix."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The same for Arrow (RE2), whose strings are valid UTF-8 and so hold no lone surrogates.
_NOT_XML_RE2 = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))  # a bare CR reads as LF
_ATTRIBUTE_ESCAPES = (*_ESCAPES, ('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_PLAIN_MONEY = "#,##0.00##"
_WIDTH_SAMPLE = 1_000
_CHUNK = 50_000
_MIN_WIDTH, _MAX_WIDTH = 8, 80
_SPOOL = 64 << 20  # a sheet's XML stays in memory up to this size, then spills to a file
_COMPRESSION = 1
"""zlib's fastest level: deflating a million-row sheet at the default level 6 takes three
times as long as rendering it, for a file about a fifth smaller."""


class Money(NamedTuple):
    """An amount to be written with its currency's number format."""

    amount: Any
    currency: str | None


class Heading(NamedTuple):
    """Text in bold."""

    text: str


class Table(NamedTuple):
    """A sheet's data rows, by column.

    A column is an Arrow array of one type, rendered a whole slice at a time, or, when its
    values mix types, a list rendered cell by cell. The columns whose index is in
    ``money`` are amounts, in each row's ``currency``.
    """

    columns: list[pa.Array | list[Any]]
    count: int
    money: frozenset[int] = frozenset()
    currency: pa.Array | None = None

    @classmethod
    def of_rows(cls, rows: Sequence[Sequence[Any]], width: int) -> Table:
        """A table of a few rows given row by row (each padded to ``width`` cells)."""
        padded = [[*row, *[None] * (width - len(row))] for row in rows]
        if not padded:
            return cls([[] for _ in range(width)], 0)
        return cls([column(list(values)) for values in zip(*padded, strict=True)], len(rows))


@dataclass(frozen=True)
class Sheet:
    """One worksheet: rows ``before``, the header, ``table`` (cut at ``MAX_ROWS``, under a
    frozen header and an auto-filter), then the rows ``after``, outside the filter."""

    title: str
    header: Sequence[str]
    table: Table
    after: Sequence[Sequence[Any]] = ()
    before: Sequence[Sequence[Any]] = ()


class Properties(NamedTuple):
    """The document properties: who made it, its title, and the one moment it carries."""

    creator: str
    title: str
    when: dt.datetime


def column(values: list[Any]) -> pa.Array | list[Any]:
    """``values`` as an Arrow array when Arrow finds them one plain type, else the list."""
    try:
        array = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError, UnicodeError):
        return values
    kind = array.type
    if pa.types.is_floating(kind):
        # NaN or infinity is shown as its text, cell by cell.
        return values if pc.all(pc.is_finite(array)).as_py() is False else array
    plain = (pa.types.is_integer, pa.types.is_boolean, pa.types.is_null, pa.types.is_string)
    return array if any(check(kind) for check in plain) else values


def clean(value: str) -> str:
    """``value`` as a cell can hold it: XML-legal, within Excel's length."""
    if len(value) > MAX_TEXT:
        value = value[: MAX_TEXT - 1] + "…"
    if _NOT_XML.search(value):
        value = _NOT_XML.sub("\ufffd", value)
    return value


def column_letter(number: int) -> str:
    """The letters of column ``number`` (1 is A, 27 is AA)."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --- the package ----------------------------------------------------------------------------


def write_workbook(
    sheets: Sequence[Sheet], properties: Properties, currencies: Iterable[str | None]
) -> bytes:
    """The .xlsx file of ``sheets``, in order; ``currencies`` are the codes amounts carry."""
    book = _Book(_Styles(currencies), _Strings())
    out = io.BytesIO()  # the caller wants the bytes: the file is in memory either way
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION) as archive:

        def add(name: str, parts: Iterable[bytes], most: int = 1 << 20) -> None:
            """An entry of ``parts``, whose size is at most ``most`` bytes."""
            # Opened by name, an entry gets the archive's compression level and the zip
            # format's zero date, 1980-01-01 00:00 (as Excel dates its own entries): a
            # ZipInfo dated otherwise would be deflated at the default level, the slow one.
            if most <= zipfile.ZIP64_LIMIT:
                with archive.open(name, "w") as target:
                    _write_behind(target, parts)
                return
            # Possibly over 4 GiB: measured first, so that a zip64 header is written only
            # where the entry needs one (and the same sheet always gets the same header).
            with tempfile.TemporaryFile() as body:
                for part in parts:
                    body.write(part)
                large = body.tell() > zipfile.ZIP64_LIMIT
                body.seek(0)
                with archive.open(name, "w", force_zip64=large) as target:
                    shutil.copyfileobj(body, target, 1 << 20)

        count = len(sheets)
        add("[Content_Types].xml", [_content_types(count)])
        add("_rels/.rels", [_ROOT_RELS])
        add("docProps/app.xml", [_APP])
        add("docProps/core.xml", [_core(properties)])
        add("xl/workbook.xml", [_workbook(sheets)])
        add("xl/_rels/workbook.xml.rels", [_workbook_rels(count)])
        add("xl/styles.xml", [book.styles.xml()])
        for number, sheet in enumerate(sheets, start=1):
            add(f"xl/worksheets/sheet{number}.xml", _sheet_parts(sheet, book), _most(sheet))
        strings = book.strings.xml()  # complete once every sheet is
        add("xl/sharedStrings.xml", [strings], len(strings))
    return out.getvalue()


def _write_behind(target: IO[bytes], parts: Iterable[bytes]) -> None:
    """Each of ``parts`` written to ``target`` in order, compressing one part in a second
    thread while the next is rendered: zlib and Arrow's kernels both release the GIL, and
    deflating a million-row sheet costs about as long as rendering it."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-xlsx") as writer:
        pending: Future[int] | None = None
        for part in parts:
            if pending is not None:
                pending.result()
            pending = writer.submit(target.write, part)
        if pending is not None:
            pending.result()


def _most(sheet: Sheet) -> int:
    """At most how many bytes the sheet's XML takes. Its text is in the shared strings, so
    no cell's markup (reference, style, type, tags, a number or a string's index) and no
    row's exceeds ``_MARKUP``."""
    rows = len(sheet.before) + 1 + sheet.table.count + len(sheet.after)
    width = max([len(sheet.header), *map(len, sheet.before), *map(len, sheet.after)])
    return _MARKUP * rows * (width + 1) + (1 << 20)


_MARKUP = 100
"""More than the XML of one cell or of one row's own tags."""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOCUMENT_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOCUMENT_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PACKAGE_RELS}/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_DOCUMENT_RELS}/extended-properties" '
    'Target="docProps/app.xml"/>'
    "</Relationships>"
).encode()
_APP = (
    f"{_XML}<Properties "
    'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>recon</Application></Properties>"
).encode()


def _content_types(sheets: int) -> bytes:
    office = "application/vnd.openxmlformats-officedocument"
    overrides = [
        ("/xl/workbook.xml", f"{office}.spreadsheetml.sheet.main+xml"),
        ("/xl/styles.xml", f"{office}.spreadsheetml.styles+xml"),
        ("/xl/sharedStrings.xml", f"{office}.spreadsheetml.sharedStrings+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/docProps/app.xml", f"{office}.extended-properties+xml"),
        *(
            (f"/xl/worksheets/sheet{n}.xml", f"{office}.spreadsheetml.worksheet+xml")
            for n in range(1, sheets + 1)
        ),
    ]
    return (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{part}" ContentType="{kind}"/>' for part, kind in overrides)
        + "</Types>"
    ).encode()


def _core(properties: Properties) -> bytes:
    when = properties.when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{_XML}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_escape(clean(properties.title))}</dc:title>"
        f"<dc:creator>{_escape(clean(properties.creator))}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
        "</cp:coreProperties>"
    ).encode()


def _workbook(sheets: Sequence[Sheet]) -> bytes:
    entries, names = [], []
    for index, sheet in enumerate(sheets):
        title = _escape(sheet.title, _ATTRIBUTE_ESCAPES)
        entries.append(f'<sheet name="{title}" sheetId="{index + 1}" r:id="rId{index + 1}"/>')
        quoted = _escape("'" + sheet.title.replace("'", "''") + "'")
        header = len(sheet.before) + 1
        last = column_letter(len(sheet.header))
        bottom = header + _data_rows(sheet)
        # The filter's range as Excel itself records it: a hidden name per sheet.
        names.append(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
            f"{quoted}!$A${header}:${last}${bottom}</definedName>"
        )
        names.append(
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
            f"{quoted}!${header}:${header}</definedName>"
        )
    return (
        f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOCUMENT_RELS}">'
        '<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{''.join(entries)}</sheets>"
        f"<definedNames>{''.join(names)}</definedNames>"
        '<calcPr calcId="191029"/></workbook>'
    ).encode()


def _workbook_rels(sheets: int) -> bytes:
    relations = [
        f'<Relationship Id="rId{n}" Type="{_DOCUMENT_RELS}/worksheet" '
        f'Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    ]
    relations.append(
        f'<Relationship Id="rId{sheets + 1}" Type="{_DOCUMENT_RELS}/styles" Target="styles.xml"/>'
    )
    relations.append(
        f'<Relationship Id="rId{sheets + 2}" Type="{_DOCUMENT_RELS}/sharedStrings" '
        'Target="sharedStrings.xml"/>'
    )
    return (
        f'{_XML}<Relationships xmlns="{_PACKAGE_RELS}">{"".join(relations)}</Relationships>'
    ).encode()


class _Styles:
    """styles.xml and the index of each cell style in it.

    Styles, in order: 0 the default, 1 bold (``Heading``), 2 the quote prefix (text a
    spreadsheet could read as a formula or an error), then one number format per distinct
    money format: the plain one first, then each currency's.
    """

    DEFAULT, HEADING, QUOTED = 0, 1, 2

    def __init__(self, currencies: Iterable[str | None]) -> None:
        formats = list(dict.fromkeys([_money_format(None), *map(_money_format, currencies)]))
        self._formats = formats
        first = 3
        self._by_format = {code: first + index for index, code in enumerate(formats)}

    def money(self, currency: str | None) -> int:
        """The style of an amount in ``currency`` (the plain format for an unknown code)."""
        return self._by_format.get(_money_format(currency), self._by_format[_PLAIN_MONEY])

    def money_styles(self, currency: pa.Array) -> pa.Array:
        """The ``s`` attribute of amounts in each row's ``currency``."""
        codes = pc.fill_null(currency, "")
        distinct = pc.unique(codes).to_pylist()
        shown = pa.array([f' s="{self.money(code or None)}"' for code in distinct], pa.string())
        return pc.take(shown, pc.index_in(codes, pa.array(distinct, pa.string())))

    def xml(self) -> bytes:
        number_formats = "".join(
            f'<numFmt numFmtId="{164 + index}" formatCode="{_escape(code, _ATTRIBUTE_ESCAPES)}"/>'
            for index, code in enumerate(self._formats)
        )
        font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
        plain = 'fontId="0" fillId="0" borderId="0" xfId="0"'
        money = "".join(
            f'<xf numFmtId="{164 + index}" {plain} applyNumberFormat="1"/>'
            for index in range(len(self._formats))
        )
        return (
            f'{_XML}<styleSheet xmlns="{_MAIN}">'
            f'<numFmts count="{len(self._formats)}">{number_formats}</numFmts>'
            f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{3 + len(self._formats)}">'
            f'<xf numFmtId="0" {plain}/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
            f'<xf numFmtId="0" {plain} quotePrefix="1"/>'
            f"{money}</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        ).encode()


def _money_format(currency: str | None) -> str:
    if currency is not None and _CURRENCY_CODE.fullmatch(currency):
        return f'{_PLAIN_MONEY} "{currency}"'
    return _PLAIN_MONEY


def _escape(text: str, escapes: Sequence[tuple[str, str]] = _ESCAPES) -> str:
    for character, entity in escapes:
        text = text.replace(character, entity)
    return text


# --- a worksheet ----------------------------------------------------------------------------


def _data_rows(sheet: Sheet) -> int:
    """How many of the table's rows the sheet holds: Excel's rows, less header and above."""
    return min(sheet.table.count, MAX_ROWS - len(sheet.before))


class _Strings:
    """sharedStrings.xml: each distinct text once, cells referring to it by its index.

    Location, description, currency, dates, rules and status repeat from credit to credit:
    a cell holding an index is a third the size of one holding its text, and each distinct
    text is cleaned, checked for formula triggers and escaped once, not once a row.
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.references = 0

    def index(self, text: str) -> int:
        """The index of ``text`` (already ``clean``), added if new."""
        return self._index.setdefault(text, len(self._index))

    def cells(self, values: pa.Array) -> tuple[pa.Array, pa.Array]:
        """For a text column: the markup ending each distinct value's cell (type, style,
        index), and each row's position in it (null for an empty cell)."""
        encoded = pc.dictionary_encode(values)
        text = _cleaned(encoded.dictionary.cast(pa.string()))
        inert = pc.is_in(text, pa.array(ERROR_CODES, type=pa.string()))
        for trigger in _FORMULA_TRIGGERS:
            inert = pc.or_(inert, pc.starts_with(text, trigger))
        indices = pa.array([self.index(value) for value in text.to_pylist()], pa.int64())
        self.references += len(values) - values.null_count
        style = pc.if_else(inert, f' s="{_Styles.QUOTED}"', "")
        ends = pc.binary_join_element_wise(
            '" t="s"', style, "><v>", pc.cast(indices, pa.string()), "</v></c>", ""
        )
        return ends, encoded.indices

    def xml(self) -> bytes:
        items = "".join(
            f'<si><t xml:space="preserve">{_escape(text)}</t></si>' for text in self._index
        )
        return (
            f'{_XML}<sst xmlns="{_MAIN}" count="{self.references}" '
            f'uniqueCount="{len(self._index)}">{items}</sst>'
        ).encode()


def _cleaned(text: pa.Array) -> pa.Array:
    """``clean`` over a column: XML-legal, within Excel's length."""
    if pc.any(pc.match_substring_regex(text, _NOT_XML_RE2)).as_py():
        text = pc.replace_substring_regex(text, _NOT_XML_RE2, "\ufffd")
    if (pc.max(pc.utf8_length(text)).as_py() or 0) > MAX_TEXT:
        cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, MAX_TEXT - 1), "…", "")
        text = pc.if_else(pc.greater(pc.utf8_length(text), MAX_TEXT), cut, text)
    return text


class _Book(NamedTuple):
    """What every sheet's cells refer to: the styles and the shared strings."""

    styles: _Styles
    strings: _Strings


def _sheet_parts(sheet: Sheet, book: _Book) -> Iterator[bytes]:
    """A worksheet's XML, in the order the schema requires, the rows a slice at a time."""
    header = len(sheet.before) + 1
    last = column_letter(len(sheet.header))
    cols = "".join(
        f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
        for n, width in enumerate(_widths(sheet), start=1)
    )
    yield (
        f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_DOCUMENT_RELS}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        '<sheetViews><sheetView workbookViewId="0">'
        f'<pane ySplit="{header}" topLeftCell="A{header + 1}" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{cols}</cols><sheetData>"
    ).encode()
    yield from _rows(sheet, book)
    bottom = header + _data_rows(sheet)
    yield (
        f'</sheetData><autoFilter ref="A{header}:{last}{bottom}"/>'
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" '
        'footer="0.5"/><pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        "</worksheet>"
    ).encode()


def _rows(sheet: Sheet, book: _Book) -> Iterator[bytes]:
    """The ``<row>`` elements: ``before``, header, data (``MAX_ROWS`` at most in all),
    ``after``."""
    table = sheet.table
    top = len(sheet.before)
    yield _rows_xml(sheet.before, 1, book)
    yield _rows_xml([[Heading(name) for name in sheet.header]], top + 1, book)
    count = _data_rows(sheet)
    first = top + 2  # the row number of the first data row
    letters = [column_letter(number) for number in range(1, len(table.columns) + 1)]
    money_styles = book.styles.money_styles(table.currency) if table.money else None
    columns = [_finite_or_cells(values, index, table) for index, values in enumerate(table.columns)]
    # Text columns are looked up in the shared strings once, whole.
    texts = {
        index: book.strings.cells(values.slice(0, count))
        for index, values in enumerate(columns)
        if not isinstance(values, list) and _is_text(values.type)
    }
    for start in range(0, count, _CHUNK):
        stop = min(start + _CHUNK, count)
        numbers = pa.array(np.arange(start + first, stop + first).astype(str), type=pa.string())
        cells = []
        for index, (letter, values) in enumerate(zip(letters, columns, strict=True)):
            ref = f'<c r="{letter}'
            if index in texts:
                ends, positions = texts[index]
                ending = pc.take(ends, positions.slice(start, stop - start))
                joined = pc.binary_join_element_wise(ref, numbers, ending, "")
                cells.append(pc.fill_null(joined, ""))
                continue
            style = money_styles[start:stop] if index in table.money else None
            cells.append(_column_xml(values, start, stop, letter, numbers, style, book))
        rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        yield _concatenated(rows)
    yield _rows_xml(sheet.after, count + first, book)


def _finite_or_cells(values: pa.Array | list[Any], index: int, table: Table) -> Any:
    """A float column holding infinity as a list, cell by cell, where infinity is shown as
    its text (an XML number cannot hold it); amounts wrapped in ``Money``."""
    if isinstance(values, list) or not pa.types.is_floating(values.type):
        return values
    if not pc.any(pc.is_inf(values)).as_py():
        return values
    cells = values.to_pylist()
    if index in table.money and table.currency is not None:
        codes = table.currency.to_pylist()
        cells = [
            None if cell is None else Money(cell, code)
            for cell, code in zip(cells, codes, strict=True)
        ]
    return cells


def _is_text(kind: pa.DataType) -> bool:
    return not (
        pa.types.is_null(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
    )


def _concatenated(rows: pa.Array) -> bytes:
    """The strings of ``rows`` one after another, as UTF-8 (one Arrow kernel, no Python
    string per row)."""
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    if rows.null_count == 0 and pa.types.is_string(rows.type) and len(rows):
        # Arrow's format keeps the values one after another between the first and the
        # last offset: those bytes are the concatenation, read without joining them again.
        offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
        return rows.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()
    whole = pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows)
    return pc.binary_join(whole, "")[0].as_buffer().to_pybytes()


def _column_xml(
    values: pa.Array | list[Any],
    start: int,
    stop: int,
    letter: str,
    numbers: pa.Array,
    money_style: pa.Array | None,
    book: _Book,
) -> pa.Array:
    """The ``<c>`` of rows ``start:stop`` of a column that is not text ("" for an empty
    cell)."""
    if isinstance(values, list):
        cells = [
            "" if value is None else _cell_xml(f"{letter}{row}", value, book)
            for row, value in zip(numbers.to_pylist(), values[start:stop], strict=True)
        ]
        return pa.array(cells, type=pa.string())
    part = values.slice(start, stop - start)
    kind = part.type
    ref = f'<c r="{letter}'  # each cell in one join: its reference, attributes and value
    if pa.types.is_null(kind):
        return pa.array([""] * (stop - start), type=pa.string())
    if pa.types.is_boolean(kind):
        shown = pc.if_else(part, "1", "0")
        cells = pc.binary_join_element_wise(ref, numbers, '" t="b"><v>', shown, "</v></c>", "")
    elif money_style is None:
        shown = pc.cast(part, pa.string())
        cells = pc.binary_join_element_wise(ref, numbers, '"><v>', shown, "</v></c>", "")
    else:
        shown = pc.cast(part, pa.string())
        cells = pc.binary_join_element_wise(
            ref, numbers, '"', money_style, "><v>", shown, "</v></c>", ""
        )
    return pc.fill_null(cells, "")


def _rows_xml(rows: Iterable[Sequence[Any]], first: int, book: _Book) -> bytes:
    """``<row>`` elements of ``rows``, cell by cell, numbered from ``first``."""
    out = []
    for number, row in enumerate(rows, start=first):
        cells = [
            _cell_xml(f"{column_letter(index)}{number}", value, book)
            for index, value in enumerate(row, start=1)
            if value is not None
        ]
        if cells:
            out.append(f'<row r="{number}">{"".join(cells)}</row>')
    return "".join(out).encode("utf-8")


def _cell_xml(ref: str, value: Any, book: _Book) -> str:
    """One ``<c>``: text shared and inert, booleans, numbers, amounts in their currency."""
    kind = type(value)
    if kind is str:
        return _text_xml(ref, value, book)
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if is_number(value):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if kind is Money:
        if not is_number(value.amount):
            return _text_xml(ref, str(value.amount), book)
        style = book.styles.money(value.currency)
        return f'<c r="{ref}" s="{style}"><v>{value.amount!r}</v></c>'
    if kind is Heading:
        return _text_xml(ref, value.text, book, style=_Styles.HEADING)
    return _text_xml(ref, str(value), book)


def _text_xml(ref: str, value: str, book: _Book, style: int | None = None) -> str:
    value = clean(value)
    if style is None and (value.startswith(_FORMULA_TRIGGERS) or value in ERROR_CODES):
        style = _Styles.QUOTED
    styled = "" if style is None else f' s="{style}"'
    book.strings.references += 1
    return f'<c r="{ref}"{styled} t="s"><v>{book.strings.index(value)}</v></c>'


def is_number(value: Any) -> bool:
    """A finite int or float (findings.json writes non-finite ones as text)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _widths(sheet: Sheet) -> list[float]:
    """Column widths, in characters, from the header, the first rows and ``after``."""
    table = sheet.table
    widths = [len(name) + 4 for name in sheet.header]  # room for the filter button
    sample = [
        values[:_WIDTH_SAMPLE] if isinstance(values, list) else values[:_WIDTH_SAMPLE].to_pylist()
        for values in table.columns
    ]
    rows = [*zip(*sample, strict=True), *sheet.after]
    for row in rows:
        for index, value in enumerate(row):
            if value is None:
                continue
            if index in table.money or type(value) is Money:
                amount = value.amount if type(value) is Money else value
                shown = len(f"{amount:,.2f}") + 6 if is_number(amount) else len(str(amount))
            elif type(value) is Heading:
                shown = len(value.text) + 2
            else:
                shown = len(str(value)) + 1
            if index >= len(widths):
                widths.append(_MIN_WIDTH)
            widths[index] = max(widths[index], shown)
    return [min(max(width, _MIN_WIDTH), _MAX_WIDTH) for width in widths]
