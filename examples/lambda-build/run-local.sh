#!/usr/bin/env bash
# The buildspec's flow on your machine, against `ecrctl local` (no AWS account, no Docker):
# a stand-in Lambda base goes into the local registry as lambda/nodejs:22, the buildspec's
# build phase runs with CodeBuild's variables, then the base is "patched" and check-base
# exits 3. Run from the project root after `npm ci`:   bash examples/lambda-build/run-local.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
entry=${ECRCTL_ENTRY:-$here/../../bin/ecrctl.js}   # the tests point this at their own build
work=$(mktemp -d "${TMPDIR:-/tmp}/ecrctl-lambda.XXXXXX")
cleanup() {
  if [ -n "${server:-}" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin"
printf '#!/bin/sh\nexec node "%s" "$@"\n' "$entry" > "$work/bin/ecrctl"
chmod +x "$work/bin/ecrctl"
export PATH="$work/bin:$PATH"

node "$entry" local serve --port 0 --data "$work/data" --output env >"$work/endpoint" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do grep -q AWS_ENDPOINT_URL "$work/endpoint" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$work/endpoint"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export XDG_CACHE_HOME="$work/cache" DOCKER_CONFIG="$work/docker"

# The stand-in base, pushed where the build will find it.
node "$here/make-base.mjs" "$work/base" 22 v1 >/dev/null
ecrctl tag-push "oci:$work/base:22" lambda/nodejs:22 --create-repo

# What CodeBuild sets for a build of main at a commit.
export CODEBUILD_BUILD_ID="hello-fn:1" CODEBUILD_RESOLVED_SOURCE_VERSION=1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b
export CODEBUILD_WEBHOOK_HEAD_REF=refs/heads/main CODEBUILD_SOURCE_REPO_URL=https://example.com/hello-fn.git
export BASE_IMAGE=lambda/nodejs:22 REPOSITORY=hello-fn
cp -r "$here/function" "$here/.buildignore" "$work/"
cd "$work"
# The build phase of buildspec.yml, as written there.
export SOURCE_DATE_EPOCH=1700000000
ecrctl build --from "$BASE_IMAGE" --add ./function:/var/task --ignore-file .buildignore \
  --cmd '["index.handler"]' --target "$REPOSITORY" --tag-strategy branch-sha --create-repo --output env > image.env
set -a && . ./image.env && set +a
echo "built $IMAGE_URI ($IMAGE_TAGS) onto $BASE_IMAGE"
ecrctl check-base "$IMAGE_URI"

# A patched base appears: check-base says so with exit 3.
node "$here/make-base.mjs" "$work/base2" 22 v2 >/dev/null
ecrctl tag-push "oci:$work/base2:22" lambda/nodejs:22
set +e
ecrctl check-base "$IMAGE_URI"
code=$?
set -e
echo "check-base after the base moved: exit $code"
[ "$code" -eq 3 ]
