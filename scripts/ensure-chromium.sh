#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium: the browser test of the demo's
# report (apps/cli/test/demo-html.test.ts) drives it through playwright-core and fails without it.
# Installs it with apt-get when missing (as root, or through sudo); does nothing otherwise.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available: install Chromium so that $CHROMIUM exists" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure-chromium: $CHROMIUM is missing; run as root (or install sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: chromium was installed but $CHROMIUM does not exist" >&2
  exit 1
fi
"$CHROMIUM" --version
