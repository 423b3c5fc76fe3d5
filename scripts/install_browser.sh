#!/usr/bin/env bash
# Installs what the browser tests need: Chromium and a CJK font (Debian packages).
# Idempotent: does nothing when both are there. Playwright drives this Chromium
# (tests/browser/test_browser_pages.py); it never downloads a browser of its own.
# Without root or apt-get it prints what to install and exits 0: the browser tests then skip
# with that message, and every other test still runs.
set -uo pipefail

have_chromium() {
    for name in ${KEFU_CHROMIUM:-} chromium chromium-browser google-chrome; do
        command -v "$name" >/dev/null 2>&1 && return 0
    done
    return 1
}

have_cjk_font() {
    command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family 2>/dev/null | grep -q .
}

if have_chromium && have_cjk_font; then
    echo "browser: chromium and a CJK font are installed"
    exit 0
fi

packages="chromium fonts-noto-cjk"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser: installing $packages (apt-get, about a minute)"
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq && apt-get install -y -qq $packages >/dev/null; then
        echo "browser: installed"
        exit 0
    fi
    echo "browser: apt-get could not install $packages; the browser tests will be skipped" >&2
    exit 0
fi

cat >&2 <<MSG
browser: Chromium or a CJK font is missing, and this is not root with apt-get.
  The browser tests (tests/browser/test_browser_pages.py) will be skipped. To run them:
    sudo apt-get install chromium fonts-noto-cjk        # Debian/Ubuntu
  or point KEFU_CHROMIUM at a Chromium/Chrome binary.
MSG
exit 0
