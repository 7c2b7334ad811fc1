#!/usr/bin/env bash
# Install the Debian packages shencha's tests and sample run need.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail

PACKAGES=(
  fonts-wqy-zenhei fonts-wqy-microhei   # CJK fonts: fixtures, HTML/PDF reports
  poppler-utils                          # pdftoppm, used by tests to look at rendered PDFs
  postgresql                             # the store's PostgreSQL tests
  chromium                               # the web app's browser tests (Playwright drives it)
  python3-venv
  libreoffice-writer-nogui libreoffice-calc-nogui   # .doc/.wps/.rtf/.odt (and odd .et) → .docx/.xlsx, headless
  unar                                   # RAR 1.5–5 unpacker (rarfile calls it; Debian main, free)
  libarchive-tools                       # bsdtar: second RAR unpacker when unar fails
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
