#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1, named to it by
# ANNOTATE_TEST_DATABASE (postgresql://user:password@127.0.0.1:port/name).
# Installs Debian's postgresql when it is missing. The cluster is removed on exit.
set -euo pipefail

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq postgresql >/dev/null; fi
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
as=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as=(runuser -u postgres --); fi

cleanup() {
  "${as[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

printf '%s\n' "$password" > "$dir/pw"
[ "$(id -u)" = 0 ] && chown postgres "$dir/pw"
"${as[@]}" "$pgbin/initdb" -D "$dir/data" -U annotate --auth=scram-sha-256 --pwfile="$dir/pw" >/dev/null
rm -f "$dir/pw"
"${as[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" start >/dev/null
PGPASSWORD="$password" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U annotate labelstudio

echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port for: $*"
ANNOTATE_TEST_DATABASE="postgresql://annotate:$password@127.0.0.1:$port/labelstudio" "$@"
