"""PAdES signatures on decision documents: sign, verify, and a demo signing key.

A decision PDF is signed with the issuing authority's key (PAdES baseline
B-B: ETSI.CAdES.detached, the signer's certificate embedded and bound by
the signing-certificate-v2 attribute). Nothing here goes to the network:
no timestamp server, no OCSP or CRL fetching, because the review service
runs on the authority's internal network. The signing time is therefore
the signer's own clock (/M), which `SignatureCheck` reports as such.

The signature is invisible: pyHanko's visible stamp draws its text with a
Latin-only default font, so an authority name would print as boxes; PDF
readers show an invisible signature in their signature panel all the same.

Verification is strict on purpose. The newest signature must cover every
byte of the file (anything appended afterwards, even an incremental
update a PDF editor calls harmless, fails) and every signature in the file
must be intact. Trust is only ever checked against roots the caller names,
never the operating system's TLS list: a web-server CA says nothing about
who may issue a licence decision.

`create_signing_key` makes a self-signed certificate for tests and the
demo. A real deployment instead loads the PKCS#12 file holding the
certificate the authority was issued by its CA, and verifiers pass that
CA's root certificate as the trust root.
"""

from __future__ import annotations

import io
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, computed_field
from pydantic import Field as PydField

from ..textsafe import visible

log = logging.getLogger(__name__)


class _NoTraceback(logging.Filter):
    """Keep pyHanko's message, drop its traceback.

    An untrusted or tampered signature is an expected verdict, reported in
    `SignatureCheck`; pyHanko logs each one with a full traceback, which would
    reach a CLI user's terminal or fill the service log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


_QUIET = _NoTraceback()

PASSPHRASE_ENV = "SHENCHA_SIGNING_PASSPHRASE"
DEFAULT_REASON = "行政许可决定"
KEY_FILE = "signing-key.p12"
CERT_FILE = "signing-cert.pem"


class SigningError(ValueError):
    """A signing or verification step that cannot run; the message is Chinese and user-facing."""


class SigningKey(BaseModel):
    """Where the authority's signing key lives. The passphrase itself is never part of the config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p12_path: Path = PydField(description="PKCS#12 file with the authority's key and certificate")
    passphrase_env: str | None = PydField(
        PASSPHRASE_ENV, description="environment variable holding the passphrase; None: the file is unencrypted")
    trust_roots: list[Path] = PydField(
        default_factory=list,
        description="CA certificates (PEM/DER) the signing certificate chains to: embedded with the "
                    "signature so verifiers can build the path, and the roots to verify own documents with")

    def passphrase(self) -> bytes | None:
        if self.passphrase_env is None:
            return None
        value = os.environ.get(self.passphrase_env)
        if value is None:
            raise SigningError(f"未设置环境变量 {self.passphrase_env}（签名密钥口令），无法签名。")
        return value.encode("utf-8")


class SignatureCheck(BaseModel):
    """What `verify_pdf` found. `ok` is the one answer callers act on."""

    signed: bool = False
    intact: bool = PydField(False, description="the digest over the signed byte ranges matches (all signatures)")
    valid: bool = PydField(False, description="the cryptographic signature over that digest is valid")
    covers_whole_file: bool = PydField(False, description="the newest signature covers every byte of the file")
    signer_subject: str | None = None
    signing_time: datetime | None = PydField(None, description="the signer's own clock (/M); no timestamp")
    trust_checked: bool = PydField(False, description="trust roots were given")
    trusted: bool = PydField(False, description="the signer's certificate chains to a given root")
    signatures: int = 0
    message_zh: str = ""

    @computed_field  # serialised too: an API client reads the same verdict
    @property
    def ok(self) -> bool:
        # Without trust roots only integrity can be vouched for; message_zh says so.
        return (self.signed and self.intact and self.valid and self.covers_whole_file
                and (self.trusted or not self.trust_checked))


# --- keys and certificates ----------------------------------------------------------------


def _read_cert(source: Path | str | bytes):
    """An asn1crypto certificate from a path or PEM/DER bytes."""
    from asn1crypto import pem, x509

    if isinstance(source, bytes):
        data, where = source, "所给证书"
    else:
        path = Path(source)
        where = f"证书文件 {path}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningError(f"无法读取{where}：{exc.strerror or exc}") from None
    try:
        if pem.detect(data):
            _type, _headers, data = pem.unarmor(data)
        cert = x509.Certificate.load(data)
        _ = cert.native  # asn1crypto parses lazily; force it so a bad file fails here
    except Exception:  # noqa: BLE001 - asn1crypto raises ValueError, TypeError and others on garbage
        raise SigningError(f"{where}不是有效的 X.509 证书（PEM 或 DER）。") from None
    return cert


def _signer(key: SigningKey):
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyhanko.sign import signers

    try:
        data = key.p12_path.read_bytes()
    except OSError as exc:
        raise SigningError(f"无法读取签名密钥文件 {key.p12_path}：{exc.strerror or exc}") from None
    passphrase = key.passphrase()
    # Load with cryptography first: pyHanko only logs a failure and returns None,
    # while this tells a wrong passphrase from a damaged file.
    try:
        private_key, cert, _extra = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError:
        raise SigningError(f"无法打开签名密钥文件 {key.p12_path}：口令错误或文件已损坏。") from None
    if private_key is None or cert is None:
        raise SigningError(f"签名密钥文件 {key.p12_path} 中没有私钥或证书。")
    chain = [_read_cert(p) for p in key.trust_roots]
    signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=chain, passphrase=passphrase)
    if signer is None:  # pragma: no cover - cryptography accepted the same bytes above
        raise SigningError(f"无法加载签名密钥文件 {key.p12_path}。")
    return signer


def _slug_free(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip()
    if not name:
        raise SigningError("签发机关名称不能为空。")
    if any(ord(c) < 0x20 for c in name):
        raise SigningError("签发机关名称含有控制字符。")
    return name


def create_signing_key(out_dir: Path | str, authority_name: str, days: int = 3 * 365, *,
                       passphrase: str | None = None) -> tuple[Path, Path]:
    """A self-signed authority certificate and its ECDSA P-256 key, for tests and the demo.

    Writes `signing-key.p12` (key and certificate, encrypted with the passphrase;
    file mode 0600) and `signing-cert.pem` (the certificate, to hand to verifiers
    as the trust root) into ``out_dir`` and returns both paths. The passphrase
    comes from the argument or else from SHENCHA_SIGNING_PASSPHRASE. Existing
    files are never overwritten: they may be a real key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    name = _slug_free(authority_name)
    if days < 1:
        raise SigningError("证书有效天数须至少为 1。")
    if passphrase is None:
        passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        raise SigningError(f"未提供签名密钥口令（可设置环境变量 {PASSPHRASE_ENV}）。")
    out = Path(out_dir)
    p12_path, cert_path = out / KEY_FILE, out / CERT_FILE
    for path in (p12_path, cert_path):
        if path.exists():
            raise SigningError(f"{path} 已存在，不覆盖现有密钥或证书。")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SigningError(f"无法创建目录 {out}：{exc.strerror or exc}") from None

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))  # tolerate a verifier's clock running slightly behind
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # non-repudiation (content commitment) is what a PDF signature validator asks of a signing key
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    p12 = pkcs12.serialize_key_and_certificates(
        name.encode("utf-8"), key, cert, None, serialization.BestAvailableEncryption(passphrase.encode("utf-8")))
    # O_EXCL: never clobber a file that appeared since the check; 0600: the key is a secret.
    fd = os.open(p12_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(p12)
    with open(cert_path, "xb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    log.info("created a self-signed signing key in %s", out)
    return p12_path, cert_path


# --- signing ------------------------------------------------------------------------------


def sign_pdf(pdf: bytes, key: SigningKey, reason: str = DEFAULT_REASON, location: str | None = None) -> bytes:
    """``pdf`` with an invisible PAdES B-B signature by ``key`` appended as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _signer(key)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception:  # noqa: BLE001 - pyHanko's reader raises several types on damaged input
        raise SigningError("无法签名：文件不是有效的 PDF 或已损坏。") from None
    try:
        taken = {name for name, _value, _ref in fields.enumerate_sig_fields(writer)}
    except Exception:  # noqa: BLE001 - as above, for the form tree
        raise SigningError("无法签名：PDF 的表单结构已损坏。") from None
    # A new field each time: the document may already carry an earlier signature.
    field_name = next(f"Decision{n}" for n in range(1, len(taken) + 2) if f"Decision{n}" not in taken)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        embed_validation_info=False,  # would need revocation data from the network
        use_pades_lta=False,
    )
    try:
        out = signers.PdfSigner(meta, signer=signer).sign_pdf(writer)
    except Exception as exc:  # noqa: BLE001 - the caller gets one error type, in Chinese
        log.warning("signing failed: %s", type(exc).__name__)
        raise SigningError(f"签名失败：{exc}") from None
    return out.getvalue()


# --- verification -------------------------------------------------------------------------


def _subject(cert) -> str:
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()
    except Exception:  # noqa: BLE001 - a subject cryptography cannot render: asn1crypto's text
        return cert.subject.human_friendly


def _ranges_cover_file(sig, size: int) -> bool:
    """The byte range starts at 0, is interrupted only by /Contents, and ends at the last byte."""
    byte_range = list(sig.byte_range)
    if len(byte_range) != 4 or byte_range[0] != 0:
        return False
    _start, len1, start2, len2 = byte_range
    return start2 > len1 and start2 + len2 == size


def _contents_padding_clean(sig) -> bool:
    """After the DER signature, /Contents holds only zero padding.

    The padding is outside the signed range; a verifier that ignores it would
    accept a file with bytes changed there. Demand it be zeros.
    """
    from asn1crypto import cms

    raw = bytes(sig.pkcs7_content)
    try:
        der_len = len(cms.ContentInfo.load(raw, strict=False).dump(force=False))
    except Exception:  # noqa: BLE001 - unparsable signature data is not clean
        return False
    return not raw[der_len:].strip(b"\x00")


def _off_the_loop(call):
    """Run ``call`` where no asyncio loop is running.

    pyHanko's synchronous validation drives an event loop of its own and
    raises when called from a thread that already runs one (an async web
    handler, Playwright's test thread); a worker thread has none.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def verify_pdf(pdf: bytes, trust_roots: list[Path | str | bytes] | None = None) -> SignatureCheck:
    """Check every signature in ``pdf``; report on the newest. Never raises on bad input.

    ``trust_roots``: certificate paths or PEM/DER bytes; the signer must chain
    to one of them. ``None`` or empty: integrity only, and the message says the
    signer was not verified. An unreadable root raises `SigningError` (that is
    the caller's configuration, not the document).
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [_read_cert(r) for r in trust_roots or []]
    validation_log = logging.getLogger("pyhanko.sign.validation.generic_cms")
    if _QUIET not in validation_log.filters:
        validation_log.addFilter(_QUIET)
    check = SignatureCheck(trust_checked=bool(roots))
    if not pdf.lstrip()[:5].startswith(b"%PDF-"):
        return check.model_copy(update={"message_zh": "无法读取：文件不是 PDF。"})
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_regular_signatures)
    except Exception as exc:  # noqa: BLE001 - damaged input is a verdict, never a traceback
        log.info("unreadable PDF: %s", type(exc).__name__)
        return check.model_copy(update={"message_zh": "无法读取：PDF 文件已损坏或结构无效。"})
    if not sigs:
        return check.model_copy(update={"message_zh": "该 PDF 没有电子签名。"})

    intact = valid = trusted = padding_clean = True
    status = None
    for sig in sigs:
        # Trust roots only: never the OS list; no fetching: no network.
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        try:
            status = _off_the_loop(lambda: validate_pdf_signature(sig, signer_validation_context=context,
                                                                  skip_diff=True))
        except Exception as exc:  # noqa: BLE001 - a damaged signature is a verdict, never a traceback
            log.info("signature could not be validated: %s", type(exc).__name__)
            return check.model_copy(update={
                "signed": True, "signatures": len(sigs),
                "message_zh": "签名数据已损坏或格式无法识别，签名无效。"})
        intact &= bool(status.intact)
        valid &= bool(status.valid)
        trusted &= bool(status.trusted)
        padding_clean &= _contents_padding_clean(sig)
    assert status is not None
    covers = (_ranges_cover_file(sigs[-1], len(pdf))
              and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
    check = check.model_copy(update={
        "signed": True, "signatures": len(sigs), "intact": intact and padding_clean, "valid": valid,
        "covers_whole_file": covers, "trusted": bool(roots) and trusted,
        "signer_subject": visible(_subject(status.signing_cert)),
        "signing_time": status.signer_reported_dt,
    })
    problems: list[str] = []
    if not intact:
        problems.append("签名范围内的内容已被改动（摘要不符）")
    elif not valid:
        problems.append("签名值校验失败")
    if not padding_clean:
        problems.append("签名数据区的填充被改动")
    if not covers:
        problems.append("签名之后文件又被追加或改动，签名未覆盖整个文件")
    if roots and not check.trusted and intact and valid:
        problems.append("签名证书不能链接到所给的受信任根证书")
    when = f"，签名时间（签名人自报）{check.signing_time.astimezone():%Y-%m-%d %H:%M:%S}" \
        if check.signing_time else ""
    if problems:
        message = "签名无效：" + "；".join(problems) + f"。签名人：{check.signer_subject}{when}。"
    elif roots:
        message = f"签名有效：文件自签名后未被改动，签名证书可信。签名人：{check.signer_subject}{when}。"
    else:
        message = (f"签名完整：文件自签名后未被改动。签名人：{check.signer_subject}{when}。"
                   f"未提供受信任的根证书，签名人身份未核验。")
    return check.model_copy(update={"message_zh": message})


__all__ = ["CERT_FILE", "DEFAULT_REASON", "KEY_FILE", "PASSPHRASE_ENV", "SignatureCheck", "SigningError",
           "SigningKey", "create_signing_key", "sign_pdf", "verify_pdf"]
