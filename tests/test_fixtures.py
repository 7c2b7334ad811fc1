"""The sample packages under fixtures/: truth, identifiers, registry exports,
and that the generator reproduces what is committed."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tempfile
import warnings
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
import yaml
from stdnum.cn import ric, uscc

from fixtures import generate
from fixtures.truth import CONTRACT_CATEGORIES, PACKAGES_DIR, TRUTH_DIR, PackageTruth, load_truth

FIXTURES = Path(generate.__file__).resolve().parent
REGISTRY = FIXTURES / "registry"
TRUTH_FILES = sorted(TRUTH_DIR.glob("*.json"))
# files whose bytes depend only on our code (no image codec, zlib or font subsetter in between)
DATA_SUFFIXES = {".json", ".csv", ".yaml", ".dxf", ".md"}


def truth_ids() -> list[str]:
    return [p.stem for p in TRUTH_FILES]


@pytest.fixture(scope="module", params=TRUTH_FILES, ids=truth_ids())
def truth(request: pytest.FixtureRequest) -> PackageTruth:
    return load_truth(request.param)


def planted(t: PackageTruth, category: str) -> set[str]:
    return {str(d.value) for d in t.defects if d.category == category and d.value is not None}


def test_there_are_enough_packages() -> None:
    truths = [load_truth(p) for p in TRUTH_FILES]
    industries = [t.industry for t in truths]
    assert len(truths) >= 6
    assert industries.count("construction") >= 2
    assert industries.count("hazardous_chemicals") >= 2
    assert industries.count("non_coal_mine") >= 1
    assert any(not t.defects for t in truths), "one package must be clean"
    seen = {d.category for t in truths for d in t.defects}
    assert seen == set(CONTRACT_CATEGORIES), f"categories never planted: {set(CONTRACT_CATEGORIES) - seen}"


def test_truth_validates_and_names_its_package(truth: PackageTruth) -> None:
    raw = json.loads((TRUTH_DIR / f"{truth.package}.json").read_text(encoding="utf-8"))
    assert PackageTruth.model_validate(raw) == truth
    assert (PACKAGES_DIR / truth.package).is_dir()


def test_application_json_matches_truth(truth: PackageTruth) -> None:
    app = json.loads((PACKAGES_DIR / truth.package / "application.json").read_text(encoding="utf-8"))
    assert app["industry"] == truth.industry
    assert app["application_type"] == truth.application_type
    assert app["application_date"] == truth.application_date
    applicant_usccs = {f.value for f in truth.fields_of("uscc") if f.role == "applicant"}
    applicant_names = {f.value for f in truth.fields_of("company_name") if f.role == "applicant"}
    assert applicant_usccs == {app["uscc"]}
    assert applicant_names == {app["company_name"]}


def test_every_named_file_exists_and_every_file_is_named(truth: PackageTruth) -> None:
    folder = PACKAGES_DIR / truth.package
    documents = {d.file for d in truth.documents}
    assert len(documents) == len(truth.documents)
    named = documents | {f.file for f in truth.fields} | {d.file for d in truth.defects if d.file}
    for name in named:
        assert (folder / name).is_file(), name
    assert named <= documents
    present = {p.name for p in folder.iterdir()} - {"application.json"}
    assert present == documents
    pages = {d.file: d.pages for d in truth.documents}
    for f in truth.fields:
        assert 1 <= f.page <= pages[f.file], (f.file, f.page)
    for d in truth.defects:
        if d.file:
            assert d.page is not None and 1 <= d.page <= pages[d.file]


def test_defect_categories_are_contract_categories(truth: PackageTruth) -> None:
    for d in truth.defects:
        assert d.category in CONTRACT_CATEGORIES
        assert any("\u4e00" <= ch <= "\u9fff" for ch in d.description), "descriptions are Chinese"
        if d.category == "completeness.missing_document":
            assert d.file is None
        else:
            assert d.file is not None


def test_identifiers_pass_stdnum_unless_planted(truth: PackageTruth) -> None:
    bad_ids = planted(truth, "identifier.invalid")
    for f in truth.fields_of("resident_id"):
        assert f.value == str(f.value).upper() and str(f.value).isascii()
        if f.value in bad_ids:
            with pytest.raises(ric.InvalidChecksum):
                ric.validate(str(f.value))
            assert f.attributes["valid"] is False
        else:
            ric.validate(str(f.value))
    for f in truth.fields_of("uscc"):
        uscc.validate(str(f.value))
    for f in truth.fields_of("cert_no"):
        if f.attributes["cert_type"] == "special_operation":
            embedded = str(f.value)[1:]
            assert f.attributes["embedded_id"] == embedded
            if embedded in bad_ids:
                with pytest.raises(ric.InvalidChecksum):
                    ric.validate(embedded)
            else:
                ric.validate(embedded)


def test_values_are_normalised(truth: PackageTruth) -> None:
    for f in truth.fields:
        if f.type == "date":
            date.fromisoformat(str(f.value))
        elif f.type in ("fire_separation_distance", "evacuation_width", "building_height", "scaffold_height",
                        "guard_rail_height", "toe_board_height"):
            assert isinstance(f.value, float) and 0 < f.value < 200
        elif f.type == "person_name":
            assert " " not in str(f.value) and 2 <= len(str(f.value)) <= 4
        elif f.type == "cert_no":
            assert not any(ch in str(f.value) for ch in "（）［］【】〔〕０１２３４５６７８９ ")
        elif f.type == "safety_licence_no":
            assert re.fullmatch(r"（.）(JZ|FM|WH)安许证字〔20\d\d〕\d{4,6}", str(f.value)), f.value
    for f in truth.fields_of("toe_board_height"):
        assert f.value < 1, "toe boards are given in mm and stored in metres"


def test_text_pdfs_have_the_company_in_their_text_layer(truth: PackageTruth) -> None:
    folder = PACKAGES_DIR / truth.package
    for doc in truth.documents:
        if not doc.file.endswith(".pdf"):
            continue
        with pdfplumber.open(folder / doc.file) as pdf:
            assert len(pdf.pages) == doc.pages, doc.file
            # names may wrap across lines; spaces may be spurious
            text = "".join((p.extract_text() or "") for p in pdf.pages).replace(" ", "").replace("\n", "")
        if doc.scanned:
            assert text == "", f"{doc.file} is a scan and must have no text layer"
            continue
        for f in truth.fields:
            if f.file == doc.file and f.type in ("company_name", "person_name", "uscc"):
                assert str(f.value) in text, (doc.file, f.value)


# ------------------------------------------------------------------ registry


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def registry_certificates() -> dict[str, dict[str, str]]:
    rows = {r["cert_no"]: r for r in read_csv(REGISTRY / "certificates.csv")}
    mapping = yaml.safe_load((REGISTRY / "mapping_cn.yaml").read_text(encoding="utf-8"))
    status = {"有效": "valid", "过期": "expired", "注销": "revoked", "暂扣": "suspended"}
    for r in read_csv(REGISTRY / "certificates_cn.csv"):
        row = {canon: r[src] for canon, src in mapping.items()}
        row["status"] = status[row["status"]]
        rows[row["cert_no"]] = row
    return rows


def test_registry_exports_have_contract_columns() -> None:
    from registry_sync.records import CertificateRecord, CompanyRecord

    certs = read_csv(REGISTRY / "certificates.csv")
    assert list(certs[0]) == generate.CERT_COLUMNS
    for r in certs:
        CertificateRecord.model_validate({k: v or None for k, v in r.items()})
    mapping = yaml.safe_load((REGISTRY / "mapping_cn.yaml").read_text(encoding="utf-8"))
    assert set(mapping) == set(generate.CERT_COLUMNS)
    with (REGISTRY / "certificates_cn.csv").open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    assert set(mapping.values()) == set(header)
    for row in registry_certificates().values():
        CertificateRecord.model_validate({k: v or None for k, v in row.items()})
    # the canonical export is the whole registry; the Chinese one is its 应急管理部 part
    canonical = {r["cert_no"]: r for r in certs}
    for no, row in registry_certificates().items():
        assert canonical[no] == row
    companies = read_csv(REGISTRY / "companies.csv")
    assert list(companies[0]) == generate.COMPANY_COLUMNS
    for r in companies:
        CompanyRecord.model_validate({k: v or None for k, v in r.items()})
        uscc.validate(r["uscc"])


def test_registry_agrees_with_packages_except_planted(truth: PackageTruth) -> None:
    reg = registry_certificates()
    applicant = next(str(f.value) for f in truth.fields_of("uscc") if f.role == "applicant")
    as_of = date.fromisoformat(truth.application_date)
    twisted = {str(d.value): d.category for d in truth.defects if d.category.startswith("registry.")}
    bad_ids = planted(truth, "identifier.invalid")
    checked = 0
    for f in truth.fields_of("cert_no"):
        no = str(f.value)
        if str(f.attributes.get("embedded_id")) in bad_ids:
            continue
        cat = twisted.get(no)
        if cat == "registry.not_found":
            assert no not in reg
            continue
        row = reg[no]
        checked += 1
        expired = date.fromisoformat(row["valid_until"]) < as_of or row["status"] == "expired"
        assert expired == (cat == "registry.expired"), no
        assert (row["status"] in ("revoked", "suspended")) == (cat == "registry.revoked"), no
        assert (row["holder_name"] != f.attributes["holder"]) == (cat == "registry.name_mismatch"), no
        assert (row["employer_uscc"] != applicant) == (cat == "registry.employer_mismatch"), no
        if f.attributes["cert_type"] not in ("safety_assessment_a", "safety_assessment_b", "safety_assessment_c"):
            assert (row["category"] != f.attributes["category"]) == (cat == "registry.category_mismatch"), no
    assert checked >= 5
    companies = {r["uscc"]: r for r in read_csv(REGISTRY / "companies.csv")}
    assert companies[applicant]["name"] == next(
        str(f.value) for f in truth.fields_of("company_name") if f.role == "applicant")


# --------------------------------------------------------------- determinism


def digests(root: Path) -> dict[str, str]:
    return generate.digests(root)


@pytest.mark.slow
def test_generator_reproduces_committed_output() -> None:
    """Data files must match byte for byte. Images, PDFs and .docx also pass
    through Pillow/libjpeg, zlib and the font subsetter: where those differ
    from the committing machine, the files must still be identical between
    two runs here (determinism), and the mismatch is reported as a warning."""
    committed = digests(FIXTURES)
    with tempfile.TemporaryDirectory() as tmp:
        generate.generate(Path(tmp))
        fresh = digests(Path(tmp))
        assert sorted(fresh) == sorted(committed), "generated file set differs from the committed one"
        differ = [k for k in fresh if fresh[k] != committed[k]]
        data = [k for k in differ if Path(k).suffix in DATA_SUFFIXES]
        assert not data, f"stale committed fixtures (run python -m fixtures.generate): {data}"
        if differ:
            with tempfile.TemporaryDirectory() as tmp2:
                generate.generate(Path(tmp2))
                again = digests(Path(tmp2))
            assert [k for k in differ if again[k] != fresh[k]] == [], "generator is not deterministic"
            warnings.warn(f"{len(differ)} binary fixture(s) differ from the committed bytes on this machine: {differ[:3]}",
                          stacklevel=1)


def test_output_is_small() -> None:
    total = sum(p.stat().st_size for sub in generate.OUTPUTS for p in (FIXTURES / sub).rglob("*") if p.is_file())
    assert total < 6 * 1024 * 1024, f"{total / 1e6:.1f} MB"


def test_sha256_helper_matches_hashlib(tmp_path: Path) -> None:
    (tmp_path / "packages").mkdir()
    (tmp_path / "packages" / "x.txt").write_bytes(b"abc")
    assert digests(tmp_path) == {"packages/x.txt": hashlib.sha256(b"abc").hexdigest()}
