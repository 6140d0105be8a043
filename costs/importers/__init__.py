"""Importing cost items from a FOCUS export or a generic CSV / XLSX cost file.

One pipeline (DESIGN §4 "Imports"): read the file as a stream of rows → check every row, by
column name (`formats.py`, `cells.py`, `rows.py`) → if any row is wrong, nothing is written and
every bad row is reported with its line, its column and what is wrong → otherwise one
transaction writes every item (`staging.py`: COPY while reading, one INSERT … SELECT at the end).
The same file again changes nothing; a row imported before is skipped (`importing.py`).

The modules, in the order a file goes through them:

- `formats.py`    the two formats, column by column
- `cells.py`      reading a cell: NULL, dates, costs, currencies, categories, tags
- `rows.py`       the header and the per-row check, rows staged in blocks while none is wrong
- `staging.py`    the staging table and the move into the cost items
- `importing.py`  `cost_import`: lock, duplicate check, check and write, in one transaction
"""

from .formats import FOCUS, FORMATS, GENERIC, GENERIC_COLUMNS
from .importing import COSTS, CostImportResult, cost_import, result_of

__all__ = ["COSTS", "FOCUS", "FORMATS", "GENERIC", "GENERIC_COLUMNS", "CostImportResult", "cost_import", "result_of"]
