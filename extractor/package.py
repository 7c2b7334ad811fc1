"""Open an application package: a folder, a .zip, or single files.

Yields the applicant's files as :class:`InputFile` (path inside the package
plus a way to read the bytes) and the optional ``application.json``. Zips
are read member by member with limits, so a hostile archive (path
traversal, zip bomb, thousands of members) is refused with a clear error
instead of filling the disk.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ErrorCode, InputError
from .limits import Limits

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
    """Open ``path`` (folder, .zip or single file) as a package."""
    limits = limits or Limits()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    if path.is_dir():
        return _open_folder(path)
    if path.suffix.lower() == ".zip":
        return _open_zip(path, limits)
    package = Package(root=str(path), name=path.stem)
    package.files.append(_file_entry(path, path.name))
    return package


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


def _open_folder(root: Path) -> Package:
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
        package.files.append(_file_entry(child, rel.as_posix()))
    return package


def _open_zip(path: Path, limits: Limits) -> Package:
    package = Package(root=str(path), name=path.stem)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        package.files.append(
            InputFile(path.name, 0, lambda: b"", InputError(ErrorCode.UNSAFE_ARCHIVE, str(exc)))
        )
        return package
    infos = [i for i in zf.infolist() if not i.is_dir()]
    total = sum(i.file_size for i in infos)
    if len(infos) > limits.max_archive_members or total > limits.max_archive_bytes:
        detail = f"{len(infos)} 个文件，解压后 {total / 2**20:.0f} MB"
        detail_en = f"{len(infos)} members, {total / 2**20:.0f} MB uncompressed"
        package.files.append(
            InputFile(path.name, 0, lambda: b"", InputError(ErrorCode.UNSAFE_ARCHIVE, detail, detail_en))
        )
        return package
    prefix = _common_prefix(infos)
    for info in infos:
        name = _decode_name(info)
        rel = PurePosixPath(name[len(prefix):] if prefix else name)
        if rel.is_absolute() or ".." in rel.parts:
            # Never extracted anyway (members are read in memory), but a
            # package that tries to escape its folder is worth telling.
            package.files.append(
                InputFile(name, 0, lambda: b"", InputError(ErrorCode.UNSAFE_ARCHIVE, name, "path escapes the archive"))
            )
            continue
        if _skipped(rel):
            continue
        if rel.as_posix() == "application.json":
            _load_application(package, zf.read(info))
            continue
        package.files.append(InputFile(rel.as_posix(), info.file_size, _zip_reader(zf, info)))
    return package


def _zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return zf.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(ErrorCode.CORRUPT_FILE, f"压缩包内文件损坏: {exc}", f"zip member: {exc}") from exc

    return read


def _decode_name(info: zipfile.ZipInfo) -> str:
    # Zips made on Chinese Windows store GBK names without the UTF-8 flag.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _common_prefix(infos: list[zipfile.ZipInfo]) -> str:
    """A zip of a folder wraps everything in one top folder: strip it."""
    names = [_decode_name(i) for i in infos]
    firsts = {n.split("/", 1)[0] for n in names}
    if len(firsts) == 1 and all("/" in n for n in names):
        return next(iter(firsts)) + "/"
    return ""


def _load_application(package: Package, data: bytes) -> None:
    try:
        package.application = ApplicationInfo.model_validate(json.loads(data.decode("utf-8-sig")))
    except (ValueError, ValidationError) as exc:
        package.application_error = f"application.json 无法解析: {exc}"
