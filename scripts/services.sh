#!/usr/bin/env bash
# Installs, starts, health-checks and stops the local test servers by PID:
#   MinIO (built from its Go module, cached under tools/ keyed by version)
#   a Kafka-protocol broker (cmd/sluice-devkafka, three brokers on fixed ports)
# Endpoints are written to .services/env (sourceable shell, KEY=VALUE).
# Environment: SLUICE_MINIO_PORT, SLUICE_MINIO_CONSOLE_PORT, SLUICE_KAFKA_PORTS
# choose ports; SLUICE_SERVICES_DIR moves the state directory (.services) so
# that a second, private set of servers can run beside the shared one.
#
#   scripts/services.sh install   build what is missing
#   scripts/services.sh up        install if needed, start what is not running, wait until healthy
#   scripts/services.sh down      stop both and remove their data
#   scripts/services.sh restart-minio   stop MinIO and start it again, keeping its data
#   scripts/services.sh status
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN="$ROOT/tools/minio-$MINIO_VERSION/minio"
MINIO_PORT=${SLUICE_MINIO_PORT:-19000}
MINIO_CONSOLE_PORT=${SLUICE_MINIO_CONSOLE_PORT:-19001}
MINIO_USER=sluiceadmin
MINIO_PASSWORD=sluiceadmin-secret
KAFKA_PORTS=${SLUICE_KAFKA_PORTS:-19092,19093,19094}
KAFKA_BIN="$ROOT/tools/sluice-devkafka"
STATE=${SLUICE_SERVICES_DIR:-$ROOT/.services}
case "$STATE" in /*) ;; *) STATE="$ROOT/$STATE" ;; esac

log() { echo "services: $*" >&2; }

install_minio() {
	if [ -x "$MINIO_BIN" ]; then return; fi
	log "building MinIO $MINIO_VERSION (a few minutes the first time; cached in tools/)"
	mkdir -p "$(dirname "$MINIO_BIN")"
	GOBIN="$(dirname "$MINIO_BIN")" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION"
}

install_kafka() {
	log "building cmd/sluice-devkafka"
	mkdir -p tools
	go build -o "$KAFKA_BIN" ./cmd/sluice-devkafka
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

http_ok() { # port path: true if GET answers 200 (plain bash, no curl needed)
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
	IFS= read -r -t 2 line <&3 || true
	exec 3<&- 3>&-
	[[ "$line" == *" 200 "* ]]
}

wait_http() { # port path seconds
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		if http_ok "$1" "$2" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

wait_tcp() { # port seconds
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

up_minio() { # [keep]: keep the data directory (restart)
	if alive "$STATE/minio.pid"; then
		# Running, perhaps just restarted by another process: wait until it serves.
		if wait_http "$MINIO_PORT" /minio/health/ready 60; then return; fi
		log "MinIO (pid $(cat "$STATE/minio.pid")) runs but is not ready on 127.0.0.1:$MINIO_PORT; its log:"
		tail -20 "$STATE/minio.log" >&2
		exit 1
	fi
	if [ "${1:-}" != keep ]; then rm -rf "$STATE/minio-data" "$STATE/minio.log"; fi
	mkdir -p "$STATE/minio-data"
	MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_BROWSER=off \
		nohup "$MINIO_BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" "$STATE/minio-data" \
		>>"$STATE/minio.log" 2>&1 &
	echo $! >"$STATE/minio.pid"
	if ! wait_http "$MINIO_PORT" /minio/health/ready 60; then
		log "MinIO did not become ready on 127.0.0.1:$MINIO_PORT; its log:"
		tail -20 "$STATE/minio.log" >&2
		exit 1
	fi
	log "MinIO ready on 127.0.0.1:$MINIO_PORT"
}

up_kafka() {
	if alive "$STATE/kafka.pid"; then return; fi
	rm -rf "$STATE/kafka-data" && mkdir -p "$STATE/kafka-data"
	nohup "$KAFKA_BIN" -ports "$KAFKA_PORTS" -data "$STATE/kafka-data" >"$STATE/kafka.log" 2>&1 &
	echo $! >"$STATE/kafka.pid"
	for p in ${KAFKA_PORTS//,/ }; do
		if ! wait_tcp "$p" 30; then
			log "the Kafka broker did not listen on 127.0.0.1:$p; its log:"
			tail -20 "$STATE/kafka.log" >&2
			exit 1
		fi
	done
	log "Kafka brokers ready on $KAFKA_PORTS"
}

write_env() {
	local brokers=""
	for p in ${KAFKA_PORTS//,/ }; do brokers="$brokers${brokers:+,}127.0.0.1:$p"; done
	cat >"$STATE/env" <<ENV
SLUICE_S3_ENDPOINT=127.0.0.1:$MINIO_PORT
SLUICE_S3_ACCESS_KEY=$MINIO_USER
SLUICE_S3_SECRET_KEY=$MINIO_PASSWORD
SLUICE_S3_REGION=us-east-1
SLUICE_KAFKA_BROKERS=$brokers
SLUICE_MINIO_PID=$(cat "$STATE/minio.pid" 2>/dev/null || true)
SLUICE_KAFKA_PID=$(cat "$STATE/kafka.pid" 2>/dev/null || true)
ENV
}

stop_pid() {
	if alive "$1"; then
		kill "$(cat "$1")" 2>/dev/null || true
		for _ in $(seq 50); do alive "$1" || break; sleep 0.1; done
		alive "$1" && kill -9 "$(cat "$1")" 2>/dev/null || true
	fi
	rm -f "$1"
}

case "${1:-}" in
install)
	install_minio
	install_kafka
	;;
up)
	mkdir -p "$STATE"
	install_minio
	install_kafka
	up_minio
	up_kafka
	write_env
	cat "$STATE/env"
	;;
restart-minio)
	# Stop MinIO and start it again on the same address with the same data.
	mkdir -p "$STATE"
	install_minio
	stop_pid "$STATE/minio.pid"
	up_minio keep
	write_env
	;;
down)
	stop_pid "$STATE/minio.pid"
	stop_pid "$STATE/kafka.pid"
	rm -rf "$STATE/minio-data" "$STATE/kafka-data" "$STATE/env"
	log "stopped"
	;;
status)
	alive "$STATE/minio.pid" && echo "minio: running (pid $(cat "$STATE/minio.pid"))" || echo "minio: stopped"
	alive "$STATE/kafka.pid" && echo "kafka: running (pid $(cat "$STATE/kafka.pid"))" || echo "kafka: stopped"
	;;
*)
	echo "usage: $0 install|up|down|restart-minio|status" >&2
	exit 2
	;;
esac
