"""A 30-page scanned application package, generated from the bundled fixtures.

Every PDF page of ``jz_beijing_clean`` (rosters, responsibility system, plans,
site plan, records) is rendered at 200 dpi, given a flatbed-scan look
(``fixtures.render.scan_effect``: tint, ~0.8 degree slant, blur, noise,
dust) and written back as an image-only PDF at 200 dpi, as a scanner's
"scan to PDF" does; its certificate and licence images are kept. Twelve
pages of ``wh_zhejiang_defects`` (its rosters, emergency and evacuation
plans, site plan, records) fill the package to 30 pages. Deterministic.

    python -m benchmarks.scanned_package OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from benchmarks.common import FIXTURES

DPI = 200
BEIJING = "jz_beijing_clean"
ZHEJIANG = "wh_zhejiang_defects"
ZHEJIANG_FILES = [
    "主要负责人及安全管理人员名册.pdf",
    "特种作业人员名册.pdf",
    "生产安全事故应急预案.pdf",
    "消防疏散预案.pdf",
    "厂区总平面布置图.pdf",
    "培训记录.pdf",
    "安全生产责任制.pdf",
    "工伤保险证明.pdf",
    "安全管理机构设置.pdf",
]


def _scan_pdf(source: Path, target: Path, seed: int) -> int:
    import pypdfium2 as pdfium

    from fixtures.render import image_pdf, scan_effect

    pdf = pdfium.PdfDocument(str(source))
    try:
        pages = []
        for index in range(len(pdf)):
            image = pdf[index].render(scale=DPI / 72).to_pil().convert("RGB")
            pages.append(scan_effect(image, seed=seed + index))
    finally:
        pdf.close()
    image_pdf(pages, target, dpi=DPI, quality=70)
    return len(pages)


def build(out: Path) -> Path:
    """Write the package to `out` (emptied first); returns `out`."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pages = 0
    seed = 1600
    beijing = FIXTURES / "packages" / BEIJING
    for source in sorted(beijing.iterdir()):
        if source.suffix == ".pdf":
            pages += _scan_pdf(source, out / f"扫描_{source.name}", seed)
            seed += 10
        elif source.suffix in (".jpg", ".png"):
            shutil.copy(source, out / source.name)
            pages += 1
        elif source.name == "application.json":
            shutil.copy(source, out / source.name)
    zhejiang = FIXTURES / "packages" / ZHEJIANG
    for name in ZHEJIANG_FILES:
        pages += _scan_pdf(zhejiang / name, out / f"扫描_附_{name}", seed)
        seed += 10
    if pages != 30:
        raise RuntimeError(f"expected 30 pages, built {pages}: the fixtures changed")
    return out


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__)
        return 2
    out = build(Path(args[0]))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
