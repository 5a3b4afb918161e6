#!/usr/bin/env bash
# Prepares .device/ (git-ignored) here, on a machine with the npm registry and Debian packages, for
# bench/gpu_device.sh on a GPU machine that reaches no network. Run from anywhere:
#   bash bench/gpu_prep.sh
# It fills:
#   .device/deno.xz     Deno 2.9.6 for Linux x64 glibc (npm package @deno/linux-x64-glibc), xz'd:
#                       95 MB as a binary, ~30 MB compressed (the device tool carries 64 MiB in all,
#                       the repository's tracked files, ~26 MB, included)
#   .device/deb/*.deb   the Vulkan loader libvulkan1 (amd64), to unpack there with dpkg -x
#   .device/gpu.js.xz   bench/gpu.ts bundled with its npm dependencies (tfjs, tfjs-backend-webgpu):
#                       runs with no node_modules and no Deno cache
# and prints the sizes. Re-running keeps deno.xz and the .deb files (delete them to refresh) and
# always rebuilds the bundle (it carries the current engine code).
set -euo pipefail
cd "$(dirname "$0")/.."
D=.device
DENO_VERSION=2.9.6
if ! git check-ignore -q "$D/"; then
  echo "error: $D/ is not git-ignored (add it to .gitignore): it must travel only when carried" >&2
  exit 1
fi
mkdir -p "$D/deb"

if [ ! -s "$D/deno.xz" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@deno/linux-x64-glibc@$DENO_VERSION" >/dev/null && tar xzf ./*.tgz)
  "$tmp/package/deno" --version | head -1
  xz -9 -T0 -c "$tmp/package/deno" >"$D/deno.xz.tmp" && mv "$D/deno.xz.tmp" "$D/deno.xz"
  rm -rf "$tmp"
fi

if ! ls "$D"/deb/libvulkan1_*.deb >/dev/null 2>&1; then
  # the GPU machine is x86-64: fetch the amd64 package whatever this machine is
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$lists")
  apt-get "${o[@]}" update -qq
  (cd "$D/deb" && apt-get "${o[@]}" download libvulkan1)
  rm -rf "$lists"
fi

deno bundle --quiet --platform deno -o "$D/gpu.js" bench/gpu.ts
xz -6 -T0 -f "$D/gpu.js"
git describe --always --dirty --abbrev=7 >"$D/commit"
du -ch "$D"/deno.xz "$D"/gpu.js.xz "$D"/deb/*.deb | sed 's/^/  /'
echo "tracked files: $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes"
echo "ready: run bench/gpu_device.sh on the GPU machine with .device carried"
