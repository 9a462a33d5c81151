"""The mapping tables load into typed rows; malformed rows are errors naming the file and the row."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from porter.mappings import MappingError, default_table, load_table, mappings_dir, missing_targets


def test_tables_load_and_cover_the_required_breadth():
    table = default_table()
    mapped = [r for r in table.rows.values() if r.paddle]
    assert len(mapped) >= 250
    for key in ["torch.nn.Module", "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict",
                "torch.nn.Linear", "torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d",
                "torch.nn.ConvTranspose1d", "torch.nn.ConvTranspose2d", "torch.nn.ConvTranspose3d",
                "torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d", "torch.nn.LayerNorm",
                "torch.nn.GroupNorm", "torch.nn.Dropout", "torch.nn.Embedding", "torch.nn.ReLU",
                "torch.nn.AdaptiveAvgPool2d", "torch.nn.Flatten", "torch.nn.Identity", "torch.nn.functional.relu",
                "torch.no_grad", "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss", "torch.nn.MSELoss",
                "torch.nn.L1Loss", "torch.nn.BCELoss", "torch.nn.BCEWithLogitsLoss", "torch.nn.SmoothL1Loss",
                "torch.optim.SGD", "torch.optim.Adam", "torch.optim.AdamW", "torch.optim.Optimizer.zero_grad",
                "torch.utils.data.Dataset", "torch.utils.data.DataLoader", "torch.utils.data.TensorDataset",
                "torch.save", "torch.load", "torch.Tensor.view", "torch.Tensor.size"]:
        assert table.lookup(key) is not None and table.lookup(key).paddle, key


@pytest.mark.parity
def test_every_target_exists_in_the_installed_paddle():
    assert missing_targets(default_table()) == []


def _table_dir(tmp_path: Path, extra: str) -> Path:
    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(mappings_dir() / "modules.toml", d / "modules.toml")
    (d / "torch.test.toml").write_text(extra)
    return d


@pytest.mark.parametrize("row,message", [
    ('["torch.x"]\npaddle = "paddle.x"\ncolour = "red"\n', "torch.test.toml [torch.x]: unknown key(s) ['colour']"),
    ('["torch.x"]\npaddle = "paddle.x"\nargs = ["a"]\nrename = { b = "c" }\n',
     "torch.test.toml [torch.x]: 'rename' names ['b'], not in the torch signature ['a']"),
    ('["torch.x"]\npaddle = "paddle.x"\nargs = ["a"]\ndrop = ["z"]\n', "'drop' names ['z']"),
    ('["torch.x"]\npaddle = "paddle.x"\nargs = ["a"]\ntransform = { a = "nope" }\n', "unknown transform(s) ['nope']"),
    ('["torch.x"]\nrename = { a = "b" }\n', "exactly one of 'paddle'"),
    ('["torch.x"]\npaddle = "paddle.x"\nrule = "no_such_rule"\n', "unknown rule 'no_such_rule'"),
    ('["torch.x"\n', "not valid TOML"),
])
def test_malformed_rows_name_file_and_row(tmp_path, row, message):
    with pytest.raises(MappingError) as e:
        load_table(_table_dir(tmp_path, row))
    assert message in str(e.value)


@pytest.mark.parity
def test_a_target_missing_from_paddle_is_an_error(tmp_path):
    d = _table_dir(tmp_path, '["torch.nn.MaxPool2d"]\npaddle = "paddle.nn.MaxPool2d"\n')   # develop-only name
    load_table(d)                                                      # schema is fine
    with pytest.raises(MappingError, match=r"torch.test.toml \[torch.nn.MaxPool2d\]: paddle.nn.MaxPool2d"):
        load_table(d, check_targets=True)


def test_docs_mappings_md_is_current():
    """docs/mappings.md is generated from the tables: `porter mappings --markdown > docs/mappings.md`."""
    from porter.mappings import render_markdown
    doc = Path(__file__).resolve().parent.parent / "docs" / "mappings.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(default_table())


def test_a_target_that_resolves_to_none_is_missing():
    """paddle.compat answers None for any unknown attribute; --check must not take that as a target."""
    pytest.importorskip("paddle")
    from porter.mappings import resolve_paddle
    with pytest.raises(AttributeError):
        resolve_paddle("paddle.compat.no_such_function_anywhere")
    assert resolve_paddle("paddle.compat.split") is not None
