#!/usr/bin/env bash
# The ERP tests start their own PostgreSQL server; install the server binaries when missing.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "PostgreSQL server binaries are missing; install them (apt-get install postgresql) or run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql > /dev/null
# Debian starts a cluster on install; the tests run their own on a free port.
service postgresql stop > /dev/null 2>&1 || true
