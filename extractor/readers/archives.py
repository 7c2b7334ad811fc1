"""Archive backends for the package: .zip (stdlib), .7z (py7zr), .rar (rarfile + a Debian tool).

All three answer the same two questions: which members are there (name,
uncompressed size as declared, encrypted or not, link or not), and what are
a member's bytes, read in memory with a cap so a member that inflates past
what its header declared (or past the limit) is stopped, not buffered.

RAR: rarfile parses the headers itself (names, sizes, encryption) and reads
stored members itself; compressed members need an unpacker from Debian
main: ``unar`` (RAR 1.5–5, solid archives) is tried through rarfile, then
``bsdtar`` (libarchive) directly. Neither installed → E116.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ErrorCode, InputError


@dataclass
class Member:
    name: str
    size: int  # uncompressed, as the archive declares it
    encrypted: bool = False
    link: bool = False  # symlink or hard link: never followed
    gbk_fixed: bool = False


class _CapExceeded(Exception):
    pass


class Archive:
    """One opened archive; ``close`` releases temporary files."""

    fmt = ""

    def members(self) -> list[Member]:
        raise NotImplementedError

    def read(self, member: Member, cap: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass


def open_archive(source: Path | bytes, fmt: str) -> Archive:
    """Open ``source`` (a path or the archive's bytes) as ``fmt`` ("zip", "7z", "rar").

    Raises InputError: E111 (corrupt), E119 (the listing itself is encrypted),
    E116 (the RAR unpacker is missing, only when a member needs it).
    """
    if fmt == "zip":
        return _Zip(source)
    if fmt == "7z":
        return _SevenZip(source)
    if fmt == "rar":
        return _Rar(source)
    raise InputError(ErrorCode.UNSUPPORTED_TYPE, fmt)


def _too_big(member: Member, cap: int) -> InputError:
    return InputError(
        ErrorCode.UNSAFE_ARCHIVE,
        f"{member.name} 解压后超过 {cap / 2**20:.0f} MB",
        f"{member.name} inflates past {cap / 2**20:.0f} MB",
    )


def _corrupt(detail: str) -> InputError:
    return InputError(ErrorCode.CORRUPT_FILE, f"压缩包内文件损坏: {detail}"[:200], detail[:200])


# -- zip -------------------------------------------------------------------


class _Zip(Archive):
    fmt = "zip"

    def __init__(self, source: Path | bytes) -> None:
        try:
            self._zf = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
            self._infos = [i for i in self._zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(ErrorCode.UNSAFE_ARCHIVE, str(exc)) from exc
        self._by_name: dict[str, zipfile.ZipInfo] = {}

    def members(self) -> list[Member]:
        out = []
        for info in self._infos:
            name = _decode_zip_name(info)
            self._by_name[name] = info
            mode = info.external_attr >> 16
            out.append(Member(name, info.file_size, encrypted=bool(info.flag_bits & 0x1),
                              link=(mode & 0o170000) == 0o120000))
        return out

    def read(self, member: Member, cap: int) -> bytes:
        info = self._by_name[member.name]
        if info.flag_bits & 0x1:
            raise InputError(ErrorCode.ENCRYPTED_FILE, f"压缩包内文件 {member.name} 已加密", "encrypted member")
        try:
            with self._zf.open(info) as stream:
                data = stream.read(cap + 1)
        except RuntimeError as exc:  # "File ... is encrypted, password required"
            raise InputError(ErrorCode.ENCRYPTED_FILE, f"压缩包内文件 {member.name} 已加密", str(exc)) from exc
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zipfile.LargeZipFile) as exc:
            raise _corrupt(f"{member.name}: {exc}") from exc
        if len(data) > cap:
            raise _too_big(member, cap)
        return data

    def close(self) -> None:
        self._zf.close()


def _decode_zip_name(info: zipfile.ZipInfo) -> str:
    # Zips made on Chinese Windows store GBK names without the UTF-8 flag.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


# -- 7z --------------------------------------------------------------------


class _SevenZip(Archive):
    fmt = "7z"

    def __init__(self, source: Path | bytes) -> None:
        import py7zr

        self._source = source
        try:
            with self._open() as szf:
                if szf.needs_password():
                    raise InputError(ErrorCode.ENCRYPTED_FILE, "7z 压缩包已加密", "encrypted 7z")
                self._infos = [i for i in szf.list() if not i.is_directory]
        except py7zr.exceptions.PasswordRequired as exc:
            raise InputError(ErrorCode.ENCRYPTED_FILE, "7z 压缩包已加密（文件名也已加密）", "encrypted 7z headers") from exc
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - py7zr raises Bad7zFile, EOFError, LZMAError, ...
            raise InputError(ErrorCode.UNSAFE_ARCHIVE, f"7z 无法打开: {type(exc).__name__}: {exc}"[:200]) from exc

    def _open(self):  # noqa: ANN202
        import py7zr

        source = self._source if isinstance(self._source, Path) else io.BytesIO(self._source)
        return py7zr.SevenZipFile(source, mode="r")

    def members(self) -> list[Member]:
        out = []
        for info in self._infos:
            encrypted = False
            out.append(Member(info.filename, int(info.uncompressed or 0), encrypted=encrypted,
                              link=bool(getattr(info, "is_symlink", False))))
        return out

    def read(self, member: Member, cap: int) -> bytes:
        import py7zr
        from py7zr.io import Py7zIO, WriterFactory

        class Capped(Py7zIO):
            def __init__(self) -> None:
                self.buffer = io.BytesIO()

            def write(self, s: bytes | bytearray) -> int:
                if self.buffer.tell() + len(s) > cap:
                    raise _CapExceeded
                return self.buffer.write(s)

            def read(self, size: int | None = None) -> bytes:
                return self.buffer.read(size)

            def seek(self, offset: int, whence: int = 0) -> int:
                return self.buffer.seek(offset, whence)

            def flush(self) -> None:
                pass

            def size(self) -> int:
                return len(self.buffer.getbuffer())

        class Factory(WriterFactory):
            def __init__(self) -> None:
                self.products: dict[str, Capped] = {}

            def create(self, filename: str) -> Py7zIO:
                self.products[filename] = Capped()
                return self.products[filename]

        factory = Factory()
        try:
            with self._open() as szf:
                szf.extract(targets=[member.name], factory=factory)
        except _CapExceeded as exc:
            raise _too_big(member, cap) from exc
        except py7zr.exceptions.PasswordRequired as exc:
            raise InputError(ErrorCode.ENCRYPTED_FILE, f"压缩包内文件 {member.name} 已加密", "encrypted") from exc
        except Exception as exc:  # noqa: BLE001
            raise _corrupt(f"{member.name}: {type(exc).__name__}: {exc}") from exc
        product = factory.products.get(member.name)
        if product is None:
            raise _corrupt(f"{member.name}: 未能解出")
        return product.buffer.getvalue()


# -- rar -------------------------------------------------------------------


class _Rar(Archive):
    fmt = "rar"

    def __init__(self, source: Path | bytes) -> None:
        import rarfile

        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if isinstance(source, Path):
            self._path = source
        else:
            # The unpackers read files, not pipes: a nested .rar goes to a private temp file.
            self._tmp = tempfile.TemporaryDirectory(prefix="shencha-rar-")
            self._path = Path(self._tmp.name) / "archive.rar"
            self._path.write_bytes(source)
        try:
            self._rf = rarfile.RarFile(str(self._path))
            if self._rf.needs_password() and not self._rf.infolist():
                raise InputError(ErrorCode.ENCRYPTED_FILE, "RAR 压缩包已加密（文件名也已加密）", "encrypted RAR headers")
            self._infos = [i for i in self._rf.infolist() if not i.is_dir()]
        except InputError:
            self.close()
            raise
        except (rarfile.Error, OSError, ValueError, EOFError) as exc:
            self.close()
            if isinstance(exc, rarfile.PasswordRequired):
                raise InputError(ErrorCode.ENCRYPTED_FILE, "RAR 压缩包已加密", str(exc)) from exc
            raise InputError(ErrorCode.UNSAFE_ARCHIVE, f"RAR 无法打开: {type(exc).__name__}: {exc}"[:200]) from exc
        self._by_name = {i.filename: i for i in self._infos}

    def members(self) -> list[Member]:
        return [
            Member(i.filename, int(i.file_size or 0), encrypted=i.needs_password(),
                   link=bool(i.is_symlink()) or bool(getattr(i, "file_redir", None)))
            for i in self._infos
        ]

    def read(self, member: Member, cap: int) -> bytes:
        import rarfile

        info = self._by_name[member.name]
        if info.needs_password():
            raise InputError(ErrorCode.ENCRYPTED_FILE, f"压缩包内文件 {member.name} 已加密", "encrypted member")
        if info.file_size is not None and info.file_size > cap:
            raise _too_big(member, cap)
        if info.compress_type == rarfile.RAR_M0:  # stored: rarfile reads it itself
            try:
                with self._rf.open(info) as stream:
                    data = stream.read(cap + 1)
            except (rarfile.Error, OSError, EOFError) as exc:
                raise _corrupt(f"{member.name}: {exc}") from exc
        else:
            data = self._unpack(info, cap)
        if len(data) > cap:
            raise _too_big(member, cap)
        return data

    def _unpack(self, info, cap: int) -> bytes:  # noqa: ANN001
        import rarfile

        errors: list[str] = []
        if shutil.which("unar"):
            try:
                rarfile.tool_setup(unrar=False, unar=True, bsdtar=False, sevenzip=False, sevenzip2=False,
                                   force=True)
                with self._rf.open(info) as stream:
                    return stream.read(cap + 1)
            except (rarfile.Error, OSError, EOFError) as exc:
                errors.append(f"unar: {exc}")
        if shutil.which("bsdtar"):
            return _bsdtar(self._path, info.filename, cap, errors)
        if not errors:
            raise InputError(ErrorCode.COMPONENT_MISSING, "RAR 解压工具（unar 或 bsdtar）",
                             "a RAR unpacker (unar or bsdtar)")
        raise _corrupt(f"{info.filename}: {'; '.join(errors)}")

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _bsdtar(path: Path, name: str, cap: int, errors: list[str]) -> bytes:
    process = subprocess.Popen(
        ["bsdtar", "-x", "-O", "-f", str(path), "--", name],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
    )
    assert process.stdout is not None and process.stderr is not None
    data = process.stdout.read(cap + 1)
    if len(data) > cap:
        process.kill()
        process.communicate()
        return data
    _, stderr = process.communicate()
    if process.returncode != 0:
        errors.append("bsdtar: " + stderr.decode("utf-8", "replace").strip()[:160])
        raise _corrupt(f"{name}: {'; '.join(errors)}")
    return data
