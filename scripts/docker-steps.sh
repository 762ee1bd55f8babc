#!/bin/sh
# Runs the Dockerfile's steps as plain shell commands into a temp dir, for machines where
# Docker cannot build (and for the test that checks the image's contents):
#
#   scripts/docker-steps.sh [--out DIR] [--skip-build]
#
#   build stage       DIR/build: npm ci; npm run build          (skipped with --skip-build:
#                                                                the repo's dist/ is used)
#   production stage  DIR/app:   npm ci --omit=dev; dist/, config/, dashboard/ and schema/ copied in
#
# Then checks what the image would run: `node DIR/app/dist/main.js --help`. Prints DIR/app.
# NPM_CI_FLAGS (default --prefer-offline) reuses the local npm cache; --offline forbids the
# network entirely.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
out=""
skip_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    *) echo "docker-steps.sh: unknown argument $1 (expected --out DIR or --skip-build)" >&2; exit 2 ;;
  esac
done
made=0
if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-image.XXXXXX"); made=1; fi
# A temp dir we made is removed when a step fails.
trap 'rc=$?; if [ $rc -ne 0 ] && [ $made -eq 1 ]; then rm -rf "$out"; fi' EXIT
flags=${NPM_CI_FLAGS:---prefer-offline}

# npm ci as in the Dockerfile; a failure here fails `docker build` the same way.
npm_ci() {
  dir=$1; shift
  (cd "$dir" && npm ci --no-audit --no-fund $flags "$@") || {
    echo "docker-steps.sh: npm ci $* failed in $dir (package-lock.json out of sync with package.json fails docker build the same way)" >&2
    exit 1
  }
}

# --- build stage ---
if [ "$skip_build" -eq 1 ]; then
  [ -f "$repo/dist/main.js" ] || { echo "docker-steps.sh: --skip-build needs $repo/dist (npm run build)" >&2; exit 1; }
  dist="$repo/dist"
else
  mkdir -p "$out/build"
  cp "$repo/package.json" "$repo/package-lock.json" "$out/build/"
  npm_ci "$out/build"
  cp "$repo/tsconfig.json" "$repo/tsconfig.build.json" "$out/build/"
  cp -R "$repo/src" "$out/build/src"
  (cd "$out/build" && npm run build)
  dist="$out/build/dist"
fi

# --- production stage ---
mkdir -p "$out/app"
cp "$repo/package.json" "$repo/package-lock.json" "$out/app/"
NODE_ENV=production npm_ci "$out/app" --omit=dev
rm -rf "$out/app/dist"
cp -R "$dist" "$out/app/dist"
cp -R "$repo/config" "$out/app/config"
cp -R "$repo/dashboard" "$out/app/dashboard"
cp -R "$repo/schema" "$out/app/schema"

# --- what the image runs ---
(cd "$out/app" && NODE_ENV=production node "$out/app/dist/main.js" --help >/dev/null)
echo "$out/app"
