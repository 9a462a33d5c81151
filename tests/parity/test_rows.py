"""Every mapping row executed on torch and paddle with the same values, in several call forms."""
from __future__ import annotations

import pytest

from porter.mappings import default_table
from tests.parity.harness import assert_close, load_cases, run_form

CASES = load_cases()
PARAMS = [pytest.param(case, kind, snippet, id=f"{case.apis[0]}::{snippet.strip().splitlines()[0][:60]}")
          for case in CASES for kind, snippet in case.forms()]


@pytest.mark.parity
@pytest.mark.parametrize("case,kind,snippet", PARAMS)
def test_row_parity(case, kind, snippet):
    t, p = run_form(case, kind, snippet)
    assert_close(t, p, case)


def test_every_row_has_an_execution_case():
    tested = {api for case in CASES for api in case.apis}
    untested = sorted(k for k, row in default_table().rows.items() if (row.paddle or row.rule) and k not in tested)
    assert not untested, f"{len(untested)} rows without an execution case: {untested}"


def test_cases_name_existing_rows():
    rows = default_table().rows
    unknown = sorted({api for case in CASES for api in case.apis if api not in rows})
    assert not unknown, f"cases for APIs with no row: {unknown}"
