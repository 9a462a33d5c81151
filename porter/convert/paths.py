"""Converting files and package directories: read, convert, mirror, write atomically, report.

SRC is never written to. A directory is mirrored into OUT: `.py` files converted, everything else
copied byte for byte. Bad input raises `InputError` with a one-line reason (the CLI exits 2); in a
directory run a bad file is reported by name and skipped, the others are still converted.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from porter.convert.engine import Conversion, Unconverted, convert_source
from porter.fs import atomic_write

SKIP_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".tox", ".venv"}


class InputError(ValueError):
    """Unusable input; the message is one line naming the problem."""


@dataclass
class FileResult:
    path: str                       # relative to SRC (the file name for a single file)
    found: int = 0
    converted: int = 0
    unconverted: list[Unconverted] = field(default_factory=list)
    error: str | None = None
    copied: bool = False            # not Python: copied as is
    dependencies: int = 0           # dependency file: torch requirements rewritten

    def to_json(self) -> dict:
        d = {"path": self.path, "found": self.found, "converted": self.converted,
             "unconverted": [u.to_json() for u in self.unconverted]}
        if self.error:
            d["error"] = self.error
        if self.copied:
            d["copied"] = True
        if self.dependencies:
            d["dependencies_rewritten"] = self.dependencies
        return d


@dataclass
class ConversionReport:
    src: str
    out: str | None
    files: list[FileResult] = field(default_factory=list)
    code: str | None = None         # single file converted without OUT: the converted text

    @property
    def python_files(self) -> list[FileResult]:
        return [f for f in self.files if not f.copied]

    @property
    def found(self) -> int:
        return sum(f.found for f in self.files)

    @property
    def converted(self) -> int:
        return sum(f.converted for f in self.files)

    @property
    def unconverted(self) -> list[tuple[str, Unconverted]]:
        return [(f.path, u) for f in self.files for u in f.unconverted]

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    def to_json(self) -> dict:
        return {
            "schema": "porter.convert/1",
            "src": self.src, "out": self.out,
            "summary": {"files": len(self.python_files), "copied": len(self.files) - len(self.python_files),
                        "found": self.found, "converted": self.converted,
                        "unconverted": len(self.unconverted), "errors": len(self.errors)},
            "unconverted": [{"file": p, **u.to_json()} for p, u in self.unconverted],
            "files": [f.to_json() for f in self.files],
        }

    def summary_lines(self) -> list[str]:
        lines = [f"files: {len(self.python_files)} converted"
                 + (f", {len(self.files) - len(self.python_files)} copied" if len(self.files) > len(self.python_files) else "")
                 + (f", {len(self.errors)} skipped with errors" if self.errors else ""),
                 f"API uses found: {self.found}, converted: {self.converted}, unconverted: {len(self.unconverted)}"]
        for f in self.errors:
            lines.append(f"error: {f.path}: {f.error}")
        for path, u in self.unconverted:
            lines.append(f"unconverted: {path}:{u.line} {u.api} ({u.reason})")
        if self.unconverted:     # the second route (porter.trace), with its price said up front
            entry = f"{self.src}:Model" if str(self.src).endswith(".py") else "package.module:Model"
            lines.append(f"hint: X2Paddle can trace a model the rewrite cannot port, and porter checks the result: "
                         f"porter convert {entry} --route trace --input SHAPE -o OUT; you give up readable code, "
                         f"layer names, other batch sizes and data-dependent branches (fixed at the example's), "
                         f"and training")
        return lines


def read_source(path: Path, display: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{display}: cannot read: {e.strerror or e}") from None
    if b"\x00" in data:
        raise InputError(f"{display}: binary file, not Python source")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{display}: not UTF-8 (byte {e.start}); re-encode it as UTF-8") from None


MAX_DEPTH = 200        # syntax-tree depth; real model code stays under 30 (torchvision's models: 15)


def check_syntax(text: str, display: str) -> None:
    """CPython's own parser first: its error messages are the ones users know (Python 2 `print x`), and
    a depth limit keeps libcst's native parser from overflowing its stack (a segfault, not an error:
    measured on a 20,000-deep attribute chain). Costs ~5% of a conversion."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise InputError(f"{display}:{e.lineno}:{e.offset}: syntax error: {e.msg}") from None
    except (RecursionError, MemoryError):
        raise InputError(f"{display}: expression nesting too deep to convert") from None
    stack, children = [(tree, 0)], ast.iter_child_nodes
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"{display}:{getattr(node, 'lineno', '?')}: nesting deeper than {MAX_DEPTH} levels; "
                             f"not converted")
        stack.extend((c, depth + 1) for c in children(node))


def convert_text(text: str, display: str) -> Conversion:
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    check_syntax(text, display)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * MAX_DEPTH + 1000))   # libcst's visitors recurse per node
    try:
        conv = convert_source(text)
        if bom:
            conv.code = "\ufeff" + conv.code
        return conv
    except cst.ParserSyntaxError as e:
        raise InputError(f"{display}:{e.raw_line}:{e.raw_column}: syntax error: {e.message}") from None
    except RecursionError:
        raise InputError(f"{display}: expression nesting too deep to convert") from None
    finally:
        sys.setrecursionlimit(limit)


def _write_text(path: Path, text: str) -> None:
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    atomic_write(path, write)


def _copy(src: Path, dst: Path) -> None:
    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return True
    except ValueError:
        return False


def convert_path(src: str | os.PathLike, out: str | os.PathLike | None = None, *, force: bool = False,
                 jobs: int | None = None, progress=None) -> ConversionReport:
    """Convert a file or a directory. Directory runs use `jobs` processes (default: all cores) and call
    `progress(done, total)` after each Python file."""
    src_p = Path(src)
    if not src_p.exists():
        raise InputError(f"{src}: no such file or directory")
    if src_p.is_dir():
        if out is None:
            out = src_p.resolve().parent / f"{src_p.resolve().name}_paddle"
        return _convert_dir(src_p, Path(out), force, jobs, progress)
    report = ConversionReport(str(src), None if out is None else str(out))
    if src_p.suffix not in (".py", ".ipynb"):
        raise InputError(f"{src}: not a .py file, a notebook or a directory")
    out_p = None
    if out is not None:
        out_p = Path(out)
        if out_p.is_dir():
            out_p = out_p / src_p.name
        if out_p.resolve() == src_p.resolve():
            raise InputError(f"{out}: output would overwrite the source")
        if out_p.exists() and not force:
            raise InputError(f"{out_p}: already exists (pass --force to overwrite)")
    code, conv = _convert_any(src_p, str(src))
    report.files.append(FileResult(src_p.name, conv.found, conv.converted, conv.unconverted))
    if out_p is None:
        report.code = code
    else:
        _write_text(out_p, code)
    return report


def _convert_any(path: Path, display: str) -> tuple[str, Conversion]:
    """A .py file or a notebook -> (new text, conversion)."""
    text = read_source(path, display)
    if path.suffix == ".ipynb":
        from porter.convert.notebooks import convert_notebook
        return convert_notebook(text, display, convert_text)
    conv = convert_text(text, display)
    return conv.code, conv


def _convert_file(path: Path, rel: str, dst: Path) -> FileResult:
    """Convert one .py file of a directory run; a bad file becomes an error entry, not an exception."""
    try:
        code, conv = _convert_any(path, rel)
    except InputError as e:
        return FileResult(rel, error=str(e).split(": ", 1)[-1])
    except Exception as e:  # a porter bug must not stop a directory run: the file is reported and skipped
        return FileResult(rel, error=f"internal error, please report: {type(e).__name__}: {e}")
    _write_text(dst, code)
    return FileResult(rel, conv.found, conv.converted, conv.unconverted)


def _is_dependency_file(name: str) -> bool:
    return name == "pyproject.toml" or (name.startswith("requirements") and name.endswith(".txt"))


def _convert_dependencies(path: Path, rel: str, dst: Path) -> FileResult:
    from porter.convert.notebooks import convert_pyproject, convert_requirements
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        _copy(path, dst)
        return FileResult(rel, copied=True)
    new, changes = (convert_pyproject if path.name == "pyproject.toml" else convert_requirements)(text)
    _write_text(dst, new)
    return FileResult(rel, copied=True, dependencies=changes)


def _convert_job(job: tuple[str, str, str, tuple[str, ...]]) -> FileResult:
    from porter.convert.names import set_own_package
    set_own_package(job[3])
    try:
        return _convert_file(Path(job[0]), job[1], Path(job[2]))
    finally:
        set_own_package(None)


PARALLEL_MIN_FILES = 16     # below this a process pool costs more than it saves


def _convert_dir(src: Path, out: Path, force: bool, jobs: int | None = None, progress=None) -> ConversionReport:
    src_r, out_r = src.resolve(), out.resolve()
    if _inside(out_r, src_r):
        raise InputError(f"{out}: output folder is inside the source folder {src}")
    if out_r.exists() and any(out_r.iterdir()) and not force:
        raise InputError(f"{out}: already exists and is not empty (pass --force to write into it)")
    report = ConversionReport(str(src), str(out))
    results: dict[str, FileResult] = {}
    python: list[tuple[str, str, str, tuple[str, ...]]] = []
    order: list[str] = []
    # the package(s) being converted: SRC itself, or the packages directly inside it (a wheel's root)
    own = (src.resolve().name,) if (src / "__init__.py").exists() else tuple(
        sorted(d.name for d in src.iterdir() if d.is_dir() and (d / "__init__.py").exists()))
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not (Path(dirpath) / d).is_symlink())
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = str(path.relative_to(src))
            order.append(rel)
            if path.is_symlink() and not path.exists():
                results[rel] = FileResult(rel, error="broken symlink, skipped")
            elif _is_dependency_file(name):
                results[rel] = _convert_dependencies(path, rel, out / rel)
            elif path.suffix not in (".py", ".ipynb"):
                _copy(path, out / rel)
                results[rel] = FileResult(rel, copied=True)
            else:
                python.append((str(path), rel, str(out / rel), own))
    jobs = jobs or os.cpu_count() or 1
    done = 0
    if jobs > 1 and len(python) >= PARALLEL_MIN_FILES:
        from concurrent.futures import ProcessPoolExecutor
        from porter.mappings import default_table
        default_table()                  # parsed once here; forked workers inherit it
        # largest files first, one at a time: no worker is left with a long file at the end
        python.sort(key=lambda job: -os.path.getsize(job[0]))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for result in pool.map(_convert_job, python, chunksize=1):
                results[result.path] = result
                done += 1
                if progress:
                    progress(done, len(python))
    else:
        for job in python:
            results[job[1]] = _convert_job(job)
            done += 1
            if progress:
                progress(done, len(python))
    report.files = [results[rel] for rel in order]
    return report


def write_report(report: ConversionReport, path: str | os.PathLike) -> None:
    _write_text(Path(path), json.dumps(report.to_json(), indent=2) + "\n")
