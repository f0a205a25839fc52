"""An exported .xlsx read back (openpyxl, imported here when a test reads one: about 0.5 s
of each xdist worker's collection otherwise)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


def xlsx_sheet(content: bytes) -> Worksheet:
    """The workbook's active sheet."""
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None, "the workbook has no sheet"
    return sheet  # type: ignore[return-value]


def xlsx_rows(content: bytes) -> list[list[Any]]:
    """The active sheet's rows, the header first, each a list of cell values."""
    return [[cell.value for cell in row] for row in xlsx_sheet(content).iter_rows()]
