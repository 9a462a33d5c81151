"""`porter convert` as users run it: files, package directories, reports, and bad input (exit 2)."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from porter.cli import main

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "samples" / "tiny_pkg"


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_file_to_output(tmp_path, capsys):
    out = tmp_path / "model_paddle.py"
    code, stdout, _ = run(["convert", ROOT / "samples/seed_mlp/model.py", "-o", out, "--report", tmp_path / "r.json"], capsys)
    assert code == 0
    assert "API uses found: 13, converted: 13, unconverted: 0" in stdout
    assert "import paddle" in out.read_text(encoding="utf-8")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["found"] == 13 and report["unconverted"] == []


def test_file_to_stdout(capsys):
    code, stdout, stderr = run(["convert", ROOT / "samples/seed_mlp/model.py"], capsys)
    assert code == 0 and stdout.startswith("import paddle\n") and "converted: 13" in stderr


def test_unconverted_listed_and_strict_exit_3(tmp_path, capsys):
    src = tmp_path / "m.py"
    src.write_text("import torch\n\nx = torch.frobnicate(1)\ny = torch.flatten(x, 1)\n")
    code, stdout, _ = run(["convert", src, "-o", tmp_path / "o.py", "--report", tmp_path / "r.json"], capsys)
    assert code == 0
    assert "unconverted: m.py:3 torch.frobnicate (no mapping)" in stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["unconverted"] == [{"file": "m.py", "line": 3, "api": "torch.frobnicate", "reason": "no mapping"}]
    code, _, _ = run(["convert", src, "-o", tmp_path / "o2.py", "--strict"], capsys)
    assert code == 3


@pytest.mark.parametrize("content,needle", [
    (b"import torch\ndef f(:\n", "syntax error"),
    (b"import torch\nx = '\xff\xfe'\n", "not UTF-8"),
    (b"\x00\x01\x02binary", "binary file"),
])
def test_bad_file_exits_2_with_one_line(tmp_path, capsys, content, needle):
    src = tmp_path / "bad.py"
    src.write_bytes(content)
    out = tmp_path / "out.py"
    code, stdout, stderr = run(["convert", src, "-o", out], capsys)
    assert code == 2
    assert needle in stderr and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists() and src.read_bytes() == content


def test_missing_path_and_out_inside_src(tmp_path, capsys):
    code, _, stderr = run(["convert", tmp_path / "nope.py"], capsys)
    assert code == 2 and "no such file or directory" in stderr
    pkg = tmp_path / "pkg"
    shutil.copytree(PKG, pkg)
    before = tree_digest(pkg)
    code, _, stderr = run(["convert", pkg, "-o", pkg / "out"], capsys)
    assert code == 2 and "inside the source folder" in stderr
    assert tree_digest(pkg) == before


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "o.py"
    out.write_text("keep me")
    code, _, stderr = run(["convert", ROOT / "samples/seed_mlp/model.py", "-o", out], capsys)
    assert code == 2 and "--force" in stderr and out.read_text() == "keep me"
    code, _, _ = run(["convert", ROOT / "samples/seed_mlp/model.py", "-o", out, "--force"], capsys)
    assert code == 0 and out.read_text().startswith("import paddle")


def test_package_directory(tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(PKG, src)
    before = tree_digest(src)
    out = tmp_path / "out"
    code, stdout, _ = run(["convert", src, "-o", out], capsys)
    assert code == 0, stdout
    assert tree_digest(src) == before                                        # SRC untouched
    assert (out / "tinynet" / "config.json").read_bytes() == (src / "tinynet" / "config.json").read_bytes()
    model = (out / "tinynet" / "model.py").read_text()
    assert "from .blocks import ConvBNAct, Head" in model                   # relative imports intact
    assert "files: 3 converted, 1 copied" in stdout


def test_directory_with_a_bad_file_converts_the_rest(tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(PKG, src)
    (src / "tinynet" / "broken.py").write_text("def f(:\n")
    code, stdout, _ = run(["convert", src, "-o", tmp_path / "out"], capsys)
    assert code == 2
    assert "error: tinynet/broken.py:" in stdout and "syntax error" in stdout
    assert (tmp_path / "out" / "tinynet" / "blocks.py").exists()
    assert not (tmp_path / "out" / "tinynet" / "broken.py").exists()


def test_console_script_runs():
    exe = Path(sys.executable).with_name("porter")
    res = subprocess.run([str(exe), "convert", str(ROOT / "samples/seed_mlp/model.py")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "paddle.nn.functional.log_softmax(x, axis=1)" in res.stdout


def test_bom_crlf_and_empty_files_convert_byte_faithfully(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "bom.py").write_bytes(b"\xef\xbb\xbfimport torch\r\nx = torch.flatten(y, 1)  # c\r\n")
    (src / "empty.py").write_bytes(b"")
    code, stdout, _ = run(["convert", src, "-o", tmp_path / "out"], capsys)
    assert code == 0, stdout
    assert (tmp_path / "out" / "bom.py").read_bytes() == b"\xef\xbb\xbfimport paddle\r\nx = paddle.flatten(y, 1)  # c\r\n"
    assert (tmp_path / "out" / "empty.py").read_bytes() == b""


@pytest.mark.parametrize("body", ["x = " + "(" * 5000 + "1" + ")" * 5000, "x = " + "x." * 20000 + "y",
                                  "x = " + "-" * 20000 + "y"])
def test_pathological_nesting_is_refused_not_crashed(tmp_path, body):
    """libcst's native parser overflows its stack on such input (a segfault); porter refuses it first.
    Run in a subprocess so a crash would show as a crash."""
    src = tmp_path / "deep.py"
    src.write_text("import torch\n" + body + "\n")
    res = subprocess.run([sys.executable, "-m", "porter.cli", "convert", str(src), "-o", str(tmp_path / "o.py")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "nest" in res.stderr and "Traceback" not in res.stderr


def test_notebook_code_cells_convert_and_the_rest_is_kept(tmp_path, capsys):
    out = tmp_path / "train.ipynb"
    code, stdout, _ = run(["convert", ROOT / "samples/notebook/train.ipynb", "-o", out], capsys)
    assert code == 0 and "converted: 5, unconverted: 0" in stdout
    src = json.loads((ROOT / "samples/notebook/train.ipynb").read_text())
    nb = json.loads(out.read_text())
    assert nb["metadata"] == src["metadata"] and nb["cells"][0] == src["cells"][0]          # markdown kept
    assert nb["cells"][2]["outputs"] == src["cells"][2]["outputs"]                          # outputs kept
    assert "".join(nb["cells"][1]["source"]) == "%matplotlib inline\nimport paddle\nimport paddle.nn as nn"
    body = "".join(nb["cells"][2]["source"])
    assert "nn.BatchNorm1D(3, epsilon=1e-3)" in body and "!echo done" in body and "paddle.zeros([2, 4])" in body


def test_dependency_files_name_paddle(tmp_path, capsys):
    src = tmp_path / "proj"
    src.mkdir()
    (src / "requirements.txt").write_text("numpy>=1.24\ntorch==2.3.0  # cpu\ntorchvision>=0.18\ntorchmetrics\n")
    (src / "pyproject.toml").write_text('[project]\ndependencies = ["torch>=2.0", "einops", "torchaudio"]\n')
    code, _, _ = run(["convert", src, "-o", tmp_path / "out"], capsys)
    assert code == 0
    req = (tmp_path / "out" / "requirements.txt").read_text()
    assert req.splitlines() == ["numpy>=1.24", "paddlepaddle>=3.3.1  # cpu",
                                "torchvision>=0.18  # porter: torchvision has no paddle package; only its torch-free parts may be used",
                                "torchmetrics"]
    assert '"paddlepaddle>=3.3.1", "einops", "torchaudio"' in (tmp_path / "out" / "pyproject.toml").read_text()


def test_symlink_loops_and_broken_links_do_not_hang_or_crash(tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(PKG, src)
    (src / "tinynet" / "loop").symlink_to(src, target_is_directory=True)     # a directory cycle
    (src / "tinynet" / "gone.py").symlink_to(tmp_path / "missing.py")        # a broken link
    code, stdout, _ = run(["convert", src, "-o", tmp_path / "out"], capsys)
    assert code == 2                                                         # the broken link is an error
    assert "error: tinynet/gone.py: broken symlink" in stdout
    assert (tmp_path / "out" / "tinynet" / "model.py").exists() and not (tmp_path / "out" / "tinynet" / "loop").exists()
