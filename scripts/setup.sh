#!/usr/bin/env bash
# Set up everything Bilik needs on a fresh Debian machine that has only Python:
# system packages (when missing) and a virtual environment in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# libzbar0: pyzbar's decoder. libgl1/libglib2.0-0: OpenCV's HighGUI build.
# chromium: the officer console's browser tests (Playwright drives /usr/bin/chromium).
# fonts-dejavu-core: the booth screen and the printer emulator render text with it.
# libportaudio2: the booth's loudspeaker (sounddevice). xvfb/xauth: the booth screen's real
# full-screen window is tested on a virtual X display.
# espeak-ng: the queue display speaks each call in Bahasa Indonesia (its "id" voice ships in
# espeak-ng-data), made on this machine with nothing downloaded at run time (docs/frontdesk.md).
# tesseract-ocr, tesseract-ocr-ind: OCR of the NIK and names (tesserocr reads Debian's
# Tesseract data, ind.traineddata; nothing is downloaded at run time).
# postgresql: the head office's database (docs/headoffice.md); its tests start a throw-away
# server with initdb/pg_ctl from /usr/lib/postgresql/*/bin as the postgres user.
SYSTEM_PACKAGES=(libzbar0 libgl1 libglib2.0-0 chromium fonts-dejavu-core libportaudio2 xvfb xauth
                 espeak-ng tesseract-ocr tesseract-ocr-ind postgresql)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.bilik-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing Python packages into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e ".[test]"
    touch "$stamp"
fi
echo "setup: ready"
