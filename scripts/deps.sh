#!/usr/bin/env bash
# Make sure the Debian packages agent_sessions builds, runs and tests with are
# installed.  As root, install what is missing; otherwise print the exact
# command and fail.
set -euo pipefail

packages=(
	make gcc
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-cron
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "agent_sessions needs these Debian packages: ${missing[*]}" >&2
	echo "Install them as root, then run make again:" >&2
	echo "" >&2
	echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	echo "" >&2
	exit 1
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
