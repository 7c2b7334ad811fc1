"""Open an application package: a folder, an archive (.zip, .7z, .rar), or single files.

Yields the applicant's files as :class:`InputFile` (path inside the package
plus a way to read the bytes) and the optional ``application.json``.
Archives are read member by member in memory with limits, so a hostile
archive (path traversal, bomb, encrypted members, thousands of members) is
refused with a clear error instead of filling the disk. An archive inside
the package (a .7z in the folder, a .zip in the .rar) is opened one level
deep; its members are named under it (``名册.7z/名册.docx``). The package's
files together may unpack to ``Limits.max_package_bytes``; files past that
are E118 entries that are never read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ErrorCode, InputError
from .limits import Limits
from .readers.archives import Archive, Member, open_archive

Industry = Literal[
    "construction",
    "hazardous_chemicals",
    "non_coal_mine",
    "coal_mine",
    "fireworks",
    "civil_explosives",
]


class ApplicationInfo(BaseModel):
    """``application.json`` (contract.md); every key optional."""

    model_config = ConfigDict(extra="allow")

    company_name: str | None = None
    uscc: str | None = None
    industry: Industry | None = None
    application_type: Literal["new", "extension"] | None = None
    application_date: date | None = None


@dataclass
class InputFile:
    path: str  # POSIX path inside the package, for reports
    size: int
    read: Callable[[], bytes]
    error: InputError | None = None  # set when the file could not even be listed/read


@dataclass
class Package:
    root: str
    name: str
    files: list[InputFile] = field(default_factory=list)
    application: ApplicationInfo | None = None
    application_error: str | None = None


_SKIP_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}


def _skipped(rel: PurePosixPath) -> bool:
    parts = rel.parts
    return (
        any(p.startswith(".") or p == "__MACOSX" for p in parts)
        or rel.name.lower() in _SKIP_NAMES
    )


def open_package(path: Path, limits: Limits | None = None) -> Package:
    """Open ``path`` (folder, .zip/.7z/.rar or single file) as a package."""
    limits = limits or Limits()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    budget = _Budget(limits.max_package_bytes)
    if path.is_dir():
        return _open_folder(path, limits, budget)
    fmt = _ARCHIVE_SUFFIXES.get(path.suffix.lower())
    if fmt is not None:
        package = Package(root=str(path), name=path.stem)
        _add_archive(package, path, fmt, path.name, "", 0, limits, budget)
        return package
    package = Package(root=str(path), name=path.stem)
    _add(package, _file_entry(path, path.name), budget)
    return package


_ARCHIVE_SUFFIXES = {".zip": "zip", ".7z": "7z", ".rar": "rar"}


@dataclass
class _Budget:
    """What the package may still unpack in total (``Limits.max_package_bytes``)."""

    limit: int
    used: int = 0


def _add(package: Package, item: InputFile, budget: _Budget) -> None:
    """Add a file unless the package's total would pass its cap: past the cap
    a file is an E118 entry and is never read (nor stored)."""
    if item.error is None:
        if budget.used + item.size > budget.limit:
            detail = f"已有 {budget.used / 2**20:.0f} MB，加上此文件 {item.size / 2**20:.1f} MB 超过上限 " \
                     f"{budget.limit / 2**20:.0f} MB"
            detail_en = f"{budget.used / 2**20:.0f} MB so far + {item.size / 2**20:.1f} MB > " \
                        f"{budget.limit / 2**20:.0f} MB"
            item = InputFile(item.path, item.size, _no_bytes,
                             InputError(ErrorCode.PACKAGE_TOO_LARGE, detail, detail_en))
        else:
            budget.used += item.size
    package.files.append(item)


def _no_bytes() -> bytes:
    return b""


def _error(path: str, code: ErrorCode, detail: str = "", detail_en: str | None = None) -> InputFile:
    return InputFile(path, 0, _no_bytes, InputError(code, detail, detail_en))


def _file_entry(path: Path, rel: str) -> InputFile:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return InputFile(rel, 0, lambda: b"", InputError(ErrorCode.UNREADABLE_FILE, str(exc)))

    def read() -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InputError(ErrorCode.UNREADABLE_FILE, exc.strerror or str(exc)) from exc

    return InputFile(rel, size, read)


def _open_folder(root: Path, limits: Limits, budget: _Budget) -> Package:
    package = Package(root=str(root), name=root.name)
    for child in sorted(root.rglob("*")):
        if not child.is_file():
            continue
        rel = PurePosixPath(child.relative_to(root).as_posix())
        if _skipped(rel):
            continue
        if rel.as_posix() == "application.json":
            _load_application(package, child.read_bytes())
            continue
        fmt = _ARCHIVE_SUFFIXES.get(rel.suffix.lower())
        if fmt is not None:
            # An archive inside the package: its members join the package,
            # named under the archive ("名册.7z/名册.docx").
            _add_archive(package, child, fmt, rel.as_posix(), rel.as_posix() + "/", 1, limits, budget)
            continue
        _add(package, _file_entry(child, rel.as_posix()), budget)
    return package


def _add_archive(
    package: Package, source: Path | bytes, fmt: str, label: str, prefix: str, depth: int,
    limits: Limits, budget: _Budget,
) -> None:
    """Add an archive's members. ``depth`` 0 is the package itself (its root
    may hold application.json); archives inside are opened up to
    ``Limits.max_archive_depth`` levels, deeper ones are refused (E111)."""
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
        except OSError as exc:
            package.files.append(_error(label, ErrorCode.UNREADABLE_FILE, str(exc)))
            return
        if size == 0:
            package.files.append(_error(label, ErrorCode.EMPTY_FILE))
            return
        if size > limits.max_file_bytes:
            package.files.append(_error(
                label, ErrorCode.FILE_TOO_LARGE,
                f"{size / 2**20:.1f} MB，上限 {limits.max_file_bytes / 2**20:.0f} MB",
                f"{size / 2**20:.1f} MB, limit {limits.max_file_bytes / 2**20:.0f} MB"))
            return
    try:
        archive = open_archive(source, fmt)
        members = archive.members()
    except InputError as exc:
        package.files.append(InputFile(label, 0, _no_bytes, exc))
        return
    total = sum(m.size for m in members)
    if len(members) > limits.max_archive_members or total > limits.max_archive_bytes:
        detail = f"{len(members)} 个文件，解压后 {total / 2**20:.0f} MB"
        detail_en = f"{len(members)} members, {total / 2**20:.0f} MB uncompressed"
        package.files.append(_error(label, ErrorCode.UNSAFE_ARCHIVE, detail, detail_en))
        return
    if not members and depth > 0:
        package.files.append(_error(label, ErrorCode.UNSAFE_ARCHIVE, "压缩包内没有文件", "empty archive"))
        return
    strip = _common_prefix([m.name for m in members]) if depth == 0 else ""
    for member in members:
        name = member.name
        rel = PurePosixPath(name[len(strip):] if strip else name)
        shown = prefix + name
        if rel.is_absolute() or ".." in rel.parts or "\\" in name and ".." in name.split("\\"):
            # Never extracted anyway (members are read in memory), but a
            # package that tries to escape its folder is worth telling.
            package.files.append(_error(shown, ErrorCode.UNSAFE_ARCHIVE, name, "path escapes the archive"))
            continue
        if _skipped(rel):
            continue
        path = prefix + rel.as_posix()
        if member.link:
            package.files.append(_error(path, ErrorCode.UNSAFE_ARCHIVE, f"{name} 是链接文件", "link member"))
            continue
        if member.encrypted:
            package.files.append(_error(path, ErrorCode.ENCRYPTED_FILE, f"压缩包内文件 {name} 已加密",
                                        "encrypted member"))
            continue
        cap = min(limits.max_file_bytes, member.size) if member.size > 0 else limits.max_file_bytes
        if depth == 0 and rel.as_posix() == "application.json":
            try:
                _load_application(package, archive.read(member, min(cap, 2**20)))
            except InputError as exc:
                package.application_error = f"application.json 无法读取: {exc.error.message}"
            continue
        inner_fmt = _ARCHIVE_SUFFIXES.get(rel.suffix.lower())
        if inner_fmt is not None:
            if depth + 1 > limits.max_archive_depth:
                package.files.append(_error(
                    path, ErrorCode.UNSAFE_ARCHIVE,
                    f"压缩包内又嵌套压缩包，超过 {limits.max_archive_depth} 层",
                    f"archives nested deeper than {limits.max_archive_depth} level(s)"))
                continue
            if member.size > limits.max_file_bytes:
                package.files.append(_error(path, ErrorCode.FILE_TOO_LARGE,
                                            f"{member.size / 2**20:.1f} MB", f"{member.size / 2**20:.1f} MB"))
                continue
            try:
                data = archive.read(member, cap)
            except InputError as exc:
                package.files.append(InputFile(path, member.size, _no_bytes, exc))
                continue
            if not data:
                package.files.append(_error(path, ErrorCode.EMPTY_FILE))
                continue
            _add_archive(package, data, inner_fmt, path, path + "/", depth + 1, limits, budget)
            continue
        _add(package, InputFile(path, member.size, _member_reader(archive, member, cap)), budget)


def _member_reader(archive: Archive, member: Member, cap: int) -> Callable[[], bytes]:
    def read() -> bytes:
        return archive.read(member, cap)

    return read


def _common_prefix(names: list[str]) -> str:
    """An archive of a folder wraps everything in one top folder: strip it."""
    firsts = {n.split("/", 1)[0] for n in names}
    if len(firsts) == 1 and all("/" in n for n in names):
        return next(iter(firsts)) + "/"
    return ""


def _load_application(package: Package, data: bytes) -> None:
    try:
        package.application = ApplicationInfo.model_validate(json.loads(data.decode("utf-8-sig")))
    except (ValueError, ValidationError) as exc:
        package.application_error = f"application.json 无法解析: {exc}"
