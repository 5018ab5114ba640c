#!/usr/bin/env bash
# Makes sure the local Redis and MariaDB that the demo and the tests use are running
# (REDIS_URL / MYSQL_URL point elsewhere? then nothing is started here).
set -euo pipefail

wait_for() { # what, probe
  for _ in $(seq 1 100); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "ensure-services: $1 did not come up" >&2
  return 1
}

if [ -z "${REDIS_URL:-}" ]; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "ensure-services: starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_for Redis "redis-cli -h 127.0.0.1 -p 6379 ping"
  fi
fi

if [ -z "${MYSQL_URL:-}" ]; then
  if ! mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1; then
    echo "ensure-services: starting MariaDB on 127.0.0.1:3306"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for MariaDB "mariadb-admin -uroot -h127.0.0.1 ping"
  fi
fi
