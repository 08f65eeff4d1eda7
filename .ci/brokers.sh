#!/usr/bin/env bash
# Make sure the local brokers the e2e tests talk to answer on loopback: Redis
# 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672 (guest/guest), NATS 127.0.0.1:4222 and
# Mosquitto (MQTT) 127.0.0.1:1883. A broker whose port accepts connections is left
# alone; one that is down is started with the machine's own command (node-svc: the
# brokers are Debian's packages, no Docker) and waited for. Exits non-zero, naming
# the broker, when one cannot be reached. Needs root to start a broker.
set -euo pipefail

HOST=127.0.0.1
# rabbitmq-server, mosquitto, nats-server and start-stop-daemon live in /usr/sbin.
PATH=$PATH:/usr/sbin:/sbin
# What the start commands print goes here, not to our stdout: a daemon that kept
# our stdout open would keep a pipe reading it (CI's log) from ever closing.
START_LOG_DIR=${BROKERS_START_LOG_DIR:-/tmp/ci-brokers}

# True when something accepts a TCP connection on $HOST:$1 within 2 s.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# Wait up to $2 seconds for $HOST:$1 to accept connections.
wait_for_port() {
  local port=$1 deadline=$((SECONDS + $2))
  until port_open "$port"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# Each start_* function is run as `start_x || rc=$?`, where `set -e` does not apply:
# chain its steps with && so that its exit code is the first failure's.
start_redis() {
  mkdir -p /var/lib/redis /var/log/redis &&
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

start_rabbitmq() {
  rabbitmq-server -detached
}

# 5672 opens late in RabbitMQ's boot; await_startup confirms the boot finished.
settle_rabbitmq() {
  if command -v rabbitmqctl >/dev/null; then
    timeout 60 rabbitmqctl await_startup --timeout 50
  fi
}

start_nats() {
  mkdir -p /var/lib/nats-server &&
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
}

start_mqtt() {
  # mosquitto -d exits silently, starting nothing, when the folder of its pid file is missing.
  mkdir -p /run/mosquitto /var/lib/mosquitto /var/log/mosquitto &&
    if id mosquitto >/dev/null 2>&1; then
      chown mosquitto: /run/mosquitto /var/lib/mosquitto /var/log/mosquitto
    fi &&
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
}

# fail MESSAGE LOG...: print MESSAGE and the last lines of each readable LOG, exit 1.
fail() {
  local message=$1 log
  shift
  {
    echo "brokers.sh: $message. The e2e tests need it."
    for log in "$@"; do
      [ -r "$log" ] || continue
      echo "brokers.sh: last lines of $log:"
      tail -n 20 "$log" | sed 's/^/    /'
    done
  } >&2
  exit 1
}

# ensure NAME PORT WAIT_SECONDS LOG...: if NAME's port is closed, start NAME and wait
# for the port to open; the LOGs are shown when it does not.
ensure() {
  local name=$1 port=$2 wait_s=$3
  shift 3
  if port_open "$port"; then
    echo "== $name $HOST:$port up"
    return 0
  fi

  mkdir -p "$START_LOG_DIR"
  local start_log="$START_LOG_DIR/$name.log" rc=0
  echo "-- $(date -u +%FT%TZ) $HOST:$port closed: starting $name" >>"$start_log"
  "start_$name" </dev/null >>"$start_log" 2>&1 || rc=$?
  if ! wait_for_port "$port" "$wait_s"; then
    fail "$name did not come up on $HOST:$port within ${wait_s}s (its start command exited with $rc)" \
      "$start_log" "$@"
  fi
  if [ "$name" = rabbitmq ] && ! settle_rabbitmq </dev/null >>"$start_log" 2>&1; then
    fail "rabbitmq opened $HOST:$port but did not finish booting (rabbitmqctl await_startup failed)" \
      "$start_log" "$@"
  fi
  echo "== $name $HOST:$port started"
}

ensure redis 6379 15 /var/log/redis/ci.log
ensure rabbitmq 5672 60 /var/log/rabbitmq/startup_err /var/log/rabbitmq/rabbit@localhost.log
ensure nats 4222 15 /var/log/nats-server.log
ensure mqtt 1883 15 /var/log/mosquitto/mosquitto.log
