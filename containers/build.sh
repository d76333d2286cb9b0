#!/usr/bin/env bash
# Build the project's Apptainer images OUTSIDE the workflow run (a `container:` path is not a DAG
# input, and Snakemake identifies images by the md5 of their path string, so an image rebuilt in
# place would be invisible to it). Images are versioned and immutable:
#
#   containers/build.sh gpu            # -> build/gpu-<version>.sif + build/gpu-<version>.sif.sha256
#   containers/build.sh cpu
#   containers/build.sh all
#   containers/build.sh --force gpu    # overwrite an existing build/gpu-<version>.sif
#
# <version> is the package version in pyproject.toml; the .def file's `Version` label must match
# (bump both together). The build runs from the repository root because %files paths are relative
# to it. Without root it uses --fakeroot. Environment:
#   APPTAINER=apptainer        binary to use (singularity works too)
#   BUILD_DIR=<repo>/build     where images go
#   APPTAINER_BUILD_ARGS=""    extra `apptainer build` flags (e.g. "--tmpdir /scratch/$USER")
# Then point the workflow at the image (absolute path):  containers: {gpu: /abs/build/gpu-<v>.sif}
set -euo pipefail
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
force=0; names=()
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) usage 0 ;;
    gpu|cpu) names+=("$arg") ;;
    all) names+=(gpu cpu) ;;
    *) echo "build.sh: unknown argument '$arg'" >&2; usage 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || usage 2

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
APPTAINER=${APPTAINER:-apptainer}
BUILD_DIR=${BUILD_DIR:-$repo/build}
command -v "$APPTAINER" >/dev/null || { echo "build.sh: '$APPTAINER' not found (set APPTAINER=singularity?)" >&2; exit 1; }

# version from pyproject.toml ([project] version = "x.y.z"), without third-party tools
version=$(python3 - <<'PY'
import re, sys
try:
    import tomllib
    print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])
except ModuleNotFoundError:  # Python < 3.11
    m = re.search(r'^version\s*=\s*"([^"]+)"', open("pyproject.toml").read(), re.M)
    sys.exit("no version in pyproject.toml") if not m else print(m.group(1))
PY
)
[[ "$version" =~ ^[0-9A-Za-z.+_-]+$ ]] || { echo "build.sh: odd version '$version'" >&2; exit 1; }

mkdir -p "$BUILD_DIR"
for name in "${names[@]}"; do
  def="containers/$name.def"
  [ -f "$def" ] || { echo "build.sh: $def missing" >&2; exit 1; }
  label=$(awk '/^%labels/{f=1;next} /^%/{f=0} f && $1=="Version"{print $2}' "$def")
  if [ "$label" != "$version" ]; then
    echo "build.sh: $def has 'Version $label' but pyproject.toml says $version: bump them together" >&2
    exit 1
  fi
  sif="$BUILD_DIR/$name-$version.sif"
  if [ -e "$sif" ] && [ "$force" != 1 ]; then
    echo "build.sh: $sif already exists; versioned images are immutable." >&2
    echo "          Bump the version (pyproject.toml + $def) or pass --force to overwrite." >&2
    exit 1
  fi
  fakeroot=""; [ "$(id -u)" = 0 ] || fakeroot="--fakeroot"
  tmp="$sif.partial"
  rm -f "$tmp"
  echo "build.sh: building $sif from $def (version $version)"
  # shellcheck disable=SC2086  # APPTAINER_BUILD_ARGS is a list of flags
  "$APPTAINER" build $fakeroot ${APPTAINER_BUILD_ARGS:-} "$tmp" "$def"
  mv -f "$tmp" "$sif"
  (cd "$BUILD_DIR" && sha256sum "$(basename "$sif")" > "$(basename "$sif").sha256")
  echo "build.sh: wrote $sif"
  echo "build.sh: sha256 $(cut -d' ' -f1 "$sif.sha256")  (record it in containers/README.md)"
  echo "build.sh: config: containers: {$name: $sif}"
done
