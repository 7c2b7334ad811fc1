"""PAdES signatures on decision PDFs: a signed decision verifies; any change to it, or after it, does not."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from datetime import date

import pytest
import typer
from typer.testing import CliRunner

from shencha.cli_sign import app as sign_app
from shencha.cli_sign import signing_key_app, verify_signature
from shencha.service.documents import DecisionDocument, DecisionFinding, render_pdf
from shencha.service.signing import (
    PASSPHRASE_ENV,
    SignatureCheck,
    SigningError,
    SigningKey,
    create_signing_key,
    sign_pdf,
    verify_pdf,
)

AUTHORITY = "江苏省应急管理厅"
PASSPHRASE = "test-only-passphrase-3141"
ENV = "SHENCHA_TEST_SIGNING_PASSPHRASE"


@pytest.fixture(scope="module")
def env():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV, PASSPHRASE)
        yield mp


@pytest.fixture(scope="module")
def keys(tmp_path_factory, env):
    p12, pem = create_signing_key(tmp_path_factory.mktemp("authority"), AUTHORITY, days=30, passphrase=PASSPHRASE)
    other_p12, other_pem = create_signing_key(tmp_path_factory.mktemp("other"), AUTHORITY, passphrase=PASSPHRASE)
    return {"key": SigningKey(p12_path=p12, passphrase_env=ENV), "pem": pem,
            "other_key": SigningKey(p12_path=other_p12, passphrase_env=ENV), "other_pem": other_pem}


@pytest.fixture(scope="module")
def decision_pdf() -> bytes:
    return render_pdf(DecisionDocument(
        number="苏应急安许不〔2026〕第15号", authority=AUTHORITY, kind="refuse",
        company_name="江苏华建安装工程有限公司", uscc="91320100MA1MXXXX0L", application_no="SQ-2026-000123",
        received_on=date(2026, 10, 8), accepted_on=date(2026, 10, 10), decided_on=date(2026, 11, 20),
        findings=[DecisionFinding(category="缺少必需材料", message="未提交安全生产责任制文件")],
        reasons=["安全生产责任制不健全"]))


@pytest.fixture(scope="module")
def signed(decision_pdf, keys) -> bytes:
    return sign_pdf(decision_pdf, keys["key"], location="南京")


def byte_range(pdf: bytes) -> list[int]:
    found = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    return [int(v) for v in found[-1]]


def flipped(pdf: bytes, at: int) -> bytes:
    data = bytearray(pdf)
    data[at] ^= 0x01
    return bytes(data)


# --- a good signature ----------------------------------------------------------------------


def test_signed_decision_verifies_against_its_authority_certificate(signed, keys):
    check = verify_pdf(signed, [keys["pem"]])
    assert check.ok and check.signed and check.intact and check.valid and check.covers_whole_file
    assert check.trusted and check.trust_checked and check.signatures == 1
    assert f"CN={AUTHORITY}" in check.signer_subject
    assert check.signing_time is not None
    assert check.message_zh.startswith("签名有效") and AUTHORITY in check.message_zh


def test_signature_is_pades_with_the_certificate_embedded_and_no_network_material(signed):
    from asn1crypto import cms

    assert b"/SubFilter /ETSI.CAdES.detached" in signed
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    raw = bytes.fromhex(signed[start:signed.index(b">", start)].decode())
    signed_data = cms.ContentInfo.load(raw, strict=False)["content"]
    certs = signed_data["certificates"]
    assert len(certs) == 1 and AUTHORITY in certs[0].chosen.subject.human_friendly
    attrs = {a["type"].native for a in signed_data["signer_infos"][0]["signed_attrs"]}
    assert "signing_certificate_v2" in attrs  # PAdES B-B binds the certificate
    assert "signing_time" not in attrs  # PAdES puts the time in /M, not in the CMS
    unsigned = signed_data["signer_infos"][0]["unsigned_attrs"]
    assert not unsigned or "signature_time_stamp_token" not in {a["type"].native for a in unsigned}


def test_signed_pdf_still_reads_as_the_decision(signed):
    import pdfplumber

    with pdfplumber.open(io.BytesIO(signed)) as pdf:
        assert "不予行政许可决定书" in pdf.pages[0].extract_text()


def test_given_as_pem_bytes_the_root_works_too(signed, keys):
    assert verify_pdf(signed, [keys["pem"].read_bytes()]).ok


def test_without_trust_roots_only_integrity_is_vouched_for(signed):
    check = verify_pdf(signed)
    assert check.intact and check.covers_whole_file and not check.trusted and not check.trust_checked
    assert check.ok and "身份未核验" in check.message_zh


def test_another_authoritys_root_does_not_trust_the_signer(signed, keys):
    check = verify_pdf(signed, [keys["other_pem"]])
    assert check.intact and not check.trusted and not check.ok
    assert "受信任" in check.message_zh


def test_a_second_signature_verifies_and_the_first_still_holds(signed, keys):
    twice = sign_pdf(signed, keys["other_key"], reason="复核")
    check = verify_pdf(twice, [keys["pem"], keys["other_pem"]])
    assert check.ok and check.signatures == 2
    assert not verify_pdf(twice, [keys["pem"]]).ok  # the newest signer is not trusted by this root


# --- tampering -----------------------------------------------------------------------------


def test_one_changed_byte_in_the_signed_content_fails(signed, keys):
    _zero, len1, start2, len2 = byte_range(signed)
    for at in [len1 // 3, len1 // 2, len1 - 1, start2, start2 + len2 // 2, start2 + len2 - 1]:
        check = verify_pdf(flipped(signed, at), [keys["pem"]])
        assert not check.ok and not check.intact, at
        assert check.message_zh.startswith(("签名无效", "无法读取", "签名数据")), at


def test_no_changed_byte_anywhere_in_the_file_verifies(signed, keys):
    _zero, len1, start2, len2 = byte_range(signed)
    boundaries = {p for b in (len1, start2, start2 + len2) for p in range(b - 3, b + 3)}
    sample = set(range(0, len(signed), max(1, len(signed) // 60))) | boundaries
    for at in sorted(p for p in sample if 0 <= p < len(signed)):
        assert not verify_pdf(flipped(signed, at), [keys["pem"]]).ok, at


def test_changed_padding_inside_the_signature_field_fails(signed, keys):
    start2 = byte_range(signed)[2]
    assert signed[start2 - 3:start2 - 1] == b"00"  # the hex padding after the DER signature
    tampered = signed[:start2 - 2] + b"1" + signed[start2 - 1:]
    check = verify_pdf(tampered, [keys["pem"]])
    assert not check.ok and not check.intact


@pytest.mark.parametrize("tail", [b"\n", b" ", b"%%EOF\n", b"\x00" * 100])
def test_appended_bytes_fail(signed, keys, tail):
    check = verify_pdf(signed + tail, [keys["pem"]])
    assert not check.ok and not check.covers_whole_file
    # a stray "%%EOF" already breaks the file's structure; either way it is refused with a reason
    assert "未覆盖整个文件" in check.message_zh or check.message_zh.startswith("无法读取")


def test_an_incremental_update_after_signing_fails(signed, keys):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    check = verify_pdf(out.getvalue(), [keys["pem"]])
    assert check.signed and check.intact  # the signed revision itself is untouched ...
    assert not check.covers_whole_file and not check.ok  # ... but the file is not what was signed


# --- no signature, bad input ---------------------------------------------------------------


def test_unsigned_pdf_fails_with_a_clear_message(decision_pdf, keys):
    check = verify_pdf(decision_pdf, [keys["pem"]])
    assert not check.ok and not check.signed and check.message_zh == "该 PDF 没有电子签名。"


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\n%%EOF", b"%PDF-1.4\n" + b"\xff" * 500])
def test_corrupt_input_is_reported_not_raised(data):
    check = verify_pdf(data)
    assert isinstance(check, SignatureCheck) and not check.ok and check.message_zh


def test_truncated_signed_pdf_fails(signed, keys):
    for cut in (len(signed) // 2, len(signed) - 10, 100):
        assert not verify_pdf(signed[:cut], [keys["pem"]]).ok


def test_an_unreadable_trust_root_is_a_clear_error(signed, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(SigningError, match="不是有效的 X.509 证书"):
        verify_pdf(signed, [junk])
    with pytest.raises(SigningError, match="无法读取"):
        verify_pdf(signed, [tmp_path / "missing.pem"])


def test_signing_garbage_is_a_clear_error(keys):
    with pytest.raises(SigningError, match="不是有效的 PDF"):
        sign_pdf(b"not a pdf", keys["key"])


# --- the key -------------------------------------------------------------------------------


def test_wrong_or_missing_passphrase_is_a_clear_error(decision_pdf, keys, monkeypatch):
    monkeypatch.setenv(ENV, "wrong")
    with pytest.raises(SigningError, match="口令错误"):
        sign_pdf(decision_pdf, keys["key"])
    monkeypatch.delenv(ENV)
    with pytest.raises(SigningError, match=f"未设置环境变量 {ENV}"):
        sign_pdf(decision_pdf, keys["key"])


def test_the_passphrase_is_never_logged_or_in_the_config(decision_pdf, keys, caplog):
    with caplog.at_level(logging.DEBUG):
        signed = sign_pdf(decision_pdf, keys["key"])
        verify_pdf(signed, [keys["pem"]])
    assert PASSPHRASE not in caplog.text
    assert PASSPHRASE not in repr(keys["key"]) and PASSPHRASE not in keys["key"].model_dump_json()


def test_created_key_is_private_and_never_overwritten(tmp_path):
    p12, pem = create_signing_key(tmp_path, "某市应急管理局", passphrase="pw-123456")
    assert stat.S_IMODE(os.stat(p12).st_mode) == 0o600
    assert pem.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    before = p12.read_bytes()
    with pytest.raises(SigningError, match="已存在"):
        create_signing_key(tmp_path, "另一机关", passphrase="pw-123456")
    assert p12.read_bytes() == before


def test_create_needs_a_passphrase_and_a_name(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(SigningError, match="口令"):
        create_signing_key(tmp_path / "a", AUTHORITY)
    with pytest.raises(SigningError, match="名称"):
        create_signing_key(tmp_path / "b", "  ", passphrase="pw-123456")


# --- the commands --------------------------------------------------------------------------


runner = CliRunner()


def test_cli_verify_signature_exit_codes(signed, decision_pdf, keys, tmp_path):
    good = tmp_path / "good.pdf"
    good.write_bytes(signed)
    result = runner.invoke(sign_app, ["verify-signature", str(good), "--trust", str(keys["pem"])])
    assert result.exit_code == 0, result.output
    assert "签名有效" in result.output and AUTHORITY in result.output

    bad = tmp_path / "bad.pdf"
    bad.write_bytes(flipped(signed, byte_range(signed)[1] // 2))
    result = runner.invoke(sign_app, ["verify-signature", str(bad), "--trust", str(keys["pem"])])
    assert result.exit_code == 1 and "签名无效" in result.output and "Traceback" not in result.output

    appended = tmp_path / "appended.pdf"
    appended.write_bytes(signed + b"\n")
    result = runner.invoke(sign_app, ["verify-signature", str(appended)])
    assert result.exit_code == 1 and "未覆盖整个文件" in result.output

    untrusted = runner.invoke(sign_app, ["verify-signature", str(good), "--trust", str(keys["other_pem"])])
    assert untrusted.exit_code == 1 and "受信任" in untrusted.output

    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(decision_pdf)
    result = runner.invoke(sign_app, ["verify-signature", str(unsigned)])
    assert result.exit_code == 1 and "没有电子签名" in result.output

    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"\x00garbage")
    result = runner.invoke(sign_app, ["verify-signature", str(junk)])
    assert result.exit_code == 1 and "无法读取" in result.output and "Traceback" not in result.output

    result = runner.invoke(sign_app, ["verify-signature", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 1 and "无法读取文件" in result.output


def test_cli_signing_key_create_then_sign_and_verify(tmp_path, decision_pdf):
    out = tmp_path / "keys"
    env = {PASSPHRASE_ENV: "demo-passphrase"}
    result = runner.invoke(sign_app, ["signing-key", "create", "--out", str(out), "--authority", AUTHORITY], env=env)
    assert result.exit_code == 0, result.output
    p12, pem = out / "signing-key.p12", out / "signing-cert.pem"
    assert str(p12) in result.output and str(pem) in result.output and "demo-passphrase" not in result.output
    again = runner.invoke(sign_app, ["signing-key", "create", "--out", str(out), "--authority", AUTHORITY], env=env)
    assert again.exit_code == 1 and "已存在" in again.output

    os.environ[PASSPHRASE_ENV] = "demo-passphrase"
    try:
        signed = sign_pdf(decision_pdf, SigningKey(p12_path=p12))
    finally:
        del os.environ[PASSPHRASE_ENV]
    assert verify_pdf(signed, [pem]).ok


def test_cli_signing_key_create_prompts_without_the_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    result = runner.invoke(sign_app, ["signing-key", "create", "--out", str(tmp_path), "--authority", AUTHORITY],
                           input="prompted-pass\nprompted-pass\n")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "signing-key.p12").exists()


def test_the_commands_mount_on_a_main_cli_as_registered_there(signed, keys, tmp_path):
    # The same two lines shencha/cli.py uses to register them.
    main = typer.Typer(no_args_is_help=True, add_completion=False)
    main.command("verify-signature")(verify_signature)
    main.add_typer(signing_key_app, name="signing-key")
    good = tmp_path / "good.pdf"
    good.write_bytes(signed)
    assert runner.invoke(main, ["verify-signature", str(good), "--trust", str(keys["pem"])]).exit_code == 0
    assert "create" in runner.invoke(main, ["signing-key", "--help"]).output


def test_verification_works_inside_a_running_event_loop(tmp_path, monkeypatch):
    """An async web handler (the API) or a browser test's thread runs a loop already."""
    import asyncio
    import io

    from reportlab.pdfgen import canvas

    from shencha.service.signing import SigningKey, create_signing_key, sign_pdf, verify_pdf

    p12, cert = create_signing_key(tmp_path / "k", "测试签发机关", passphrase="pw-2026")
    monkeypatch.setenv("LOOP_TEST_PASS", "pw-2026")
    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(100, 700, "decision")
    page.save()
    signed = sign_pdf(buf.getvalue(), SigningKey(p12_path=p12, passphrase_env="LOOP_TEST_PASS"))

    async def inside() -> bool:
        return verify_pdf(signed, [cert]).ok

    assert asyncio.run(inside()) is True
