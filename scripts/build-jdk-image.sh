#!/usr/bin/env bash
# Builds a JDK 21 image for the build stage of docker/Dockerfile where eclipse-temurin:21-jdk cannot be pulled
# (no registry reachable): Debian's openjdk-21-jdk-headless on top of a JRE 21 image that can be had locally.
# The certificate authorities added on this host (/usr/local/share/ca-certificates, e.g. for a TLS-inspecting
# proxy) are trusted inside too, so Maven can download dependencies from the build.
#
#   scripts/build-jdk-image.sh [TAG]        TAG defaults to bisectbot-build/jdk:21
#   JRE_IMAGE (default: $LOCALCI_JRE_IMAGE, else eclipse-temurin:21-jre) is the base. FORCE=1 rebuilds.
set -euo pipefail
tag=${1:-bisectbot-build/jdk:21}
base=${JRE_IMAGE:-${LOCALCI_JRE_IMAGE:-eclipse-temurin:21-jre}}
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-jdk-image: $tag exists"
  exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/ca"
if [ -d /usr/local/share/ca-certificates ]; then
  find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$ctx/ca/" \;
fi
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates ca-certificates-java openjdk-21-jdk-headless >/dev/null \
 && update-ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
DOCKERFILE
docker build -q --build-arg BASE="$base" -t "$tag" "$ctx" >/dev/null
echo "build-jdk-image: $tag ready (from $base)"
