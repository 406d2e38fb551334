#!/usr/bin/env bash
# Installs the Debian packages the tests use, when missing: docker-registry (the CNCF
# distribution server), skopeo (the independent OCI client), awscli (the independent ECR
# client, /usr/bin/aws), openssl (test CAs), apache2-utils (htpasswd for Basic auth), chromium (the inventory
# report rendered headless) and umoci (unpacks what `ecrctl build` writes, independently).
set -euo pipefail
need=()
for pair in /usr/bin/docker-registry:docker-registry /usr/bin/skopeo:skopeo /usr/bin/aws:awscli openssl:openssl htpasswd:apache2-utils /usr/bin/chromium:chromium /usr/bin/umoci:umoci; do
  cmd=${pair%%:*}
  command -v "$cmd" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for cmd in /usr/bin/docker-registry /usr/bin/skopeo /usr/bin/aws openssl htpasswd /usr/bin/chromium /usr/bin/umoci; do
  command -v "$cmd" >/dev/null || { echo "$cmd is still missing" >&2; exit 1; }
done
