#!/usr/bin/env bash
# The main job, end to end, on the built-in local endpoint: no AWS account, no Docker.
# Starts `ecrctl local serve`, creates a repository that follows the naming rules, pushes an
# image with tags (twice: the second run is a no-op), lists it, pulls it back, scans it and
# fails on findings, previews a lifecycle policy, promotes the image, and stops the server.
# Run from the project root after `npm ci`:   bash examples/local-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
entry=${ECRCTL_ENTRY:-bin/ecrctl.js}   # the tests point this at their own build
ecrctl() { node "$entry" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ecrctl-demo.XXXXXX")
cleanup() {
  if [ -n "${server:-}" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start the local ECR endpoint"
# node itself in the background (not the shell function), so that $! is the server's pid.
node "$entry" local serve --port 0 --data "$work/data" --advisories examples/advisories.json --output env >"$work/endpoint" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do grep -q AWS_ENDPOINT_URL "$work/endpoint" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$work/endpoint"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export XDG_CACHE_HOME="$work/cache" DOCKER_CONFIG="$work/docker"
echo "endpoint: $AWS_ENDPOINT_URL"

step "a name that breaks the rules is refused before any call (exit 3)"
ecrctl create-repo Payment_API && exit 1 || echo "exit code $?"

step "create the repository: immutable tags, scan on push, expire untagged after 7 days"
ecrctl create-repo team/hello --immutable --scan-on-push --lifecycle preset:expire-untagged,days=7

step "build an OCI image layout (no Docker needed)"
node examples/make-image.mjs "$work/image" latest

step "push it with two tags; --output env gives what CodeBuild's exported-variables take"
ecrctl tag-push "oci:$work/image:latest" team/hello:v1.0.0 --tag main-abc1234 --output env | tee "$work/pushed.env"

step "push again: everything is there, immutable tags are unchanged, exit 0"
ecrctl tag-push "oci:$work/image:latest" team/hello:v1.0.0 --tag main-abc1234

step "list images and tags"
ecrctl images team/hello
ecrctl tags team/hello

step "pull it back into an OCI layout and a docker-archive"
ecrctl pull team/hello:v1.0.0 "oci:$work/out:v1.0.0"
ecrctl pull team/hello:v1.0.0 "docker-archive:$work/hello.tar"
ls -l "$work/hello.tar"

step "scan it: fail the build on HIGH or worse (exit 4 expected with the example advisories)"
if ecrctl scan team/hello:v1.0.0 --fail-on HIGH; then echo "unexpected: no findings"; exit 1; else code=$?; fi
[ "$code" -eq 4 ] && echo "exit code 4: the build would stop here"

step "simulate the lifecycle policy on the real image list"
ecrctl lifecycle simulate team/hello

step "promote the build to staging (manifest only, no blobs move)"
ecrctl promote team/hello:main-abc1234 staging

step "estimate the monthly bill for 50 GB stored and 200 GB pulled from the internet"
ecrctl cost --storage-gb 50 --egress-gb 200

step "done"
