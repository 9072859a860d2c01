#!/usr/bin/env bash
# kafka-test-broker.sh - a throwaway single-node Apache Kafka 4.x (KRaft: broker and controller in
# one JVM) on 127.0.0.1, for snapback's tests against a real broker. The jars come from Maven Central
# through `mvn` once, into a cache; nothing else is downloaded.
#
#   kafka-test-broker.sh fetch          put the jars into the cache (idempotent, locked)
#   kafka-test-broker.sh start PORT     fresh data dir, format storage, start in the background,
#                                       wait until a topic can be created, print BOOTSTRAP=127.0.0.1:PORT
#                                       (KAFKA_TEST_KEEP=1 and a kept dir of PORT: start again on
#                                       its data, no format: the broker coming back)
#   kafka-test-broker.sh stop PORT      stop the broker this script started on PORT (its pid file,
#                                       checked against the process's command line), remove its dir
#                                       (KAFKA_TEST_KEEP=1: keep it, to start again on it)
#   kafka-test-broker.sh status [PORT]  print BOOTSTRAP=... for each running broker this script
#                                       started (or for PORT only); exit 1 if none
#
# The controller listens on PORT+1 (KAFKA_TEST_CONTROLLER_PORT). Settings that make transactions
# and consumer groups work on one node: every internal topic's replication factor and min ISR 1,
# group.initial.rebalance.delay.ms=0. The heap is 512 MiB.
#
# Env: KAFKA_VERSION (4.4.0), LOG4J_VERSION (2.26.1), KAFKA_TEST_CACHE (~/.cache/snapback),
#      KAFKA_TEST_ROOT (${TMPDIR:-/tmp}/snapback-kafka), KAFKA_TEST_CONTROLLER_PORT (PORT+1),
#      KAFKA_TEST_TIMEOUT (180 s), KAFKA_TEST_HEAP (-Xms256m -Xmx512m), KAFKA_TEST_JVM_OPTS,
#      KAFKA_TEST_KEEP=1 (keep the data dir and logs on stop), JAVA_HOME (Java 17+).
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
LOG4J_VERSION="${LOG4J_VERSION:-2.26.1}"
SLF4J_VERSION="${SLF4J_VERSION:-2.0.17}"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CACHE_ROOT="${KAFKA_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/snapback}"
CACHE="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"
RUN_ROOT="${KAFKA_TEST_ROOT:-${TMPDIR:-/tmp}/snapback-kafka}"
TIMEOUT="${KAFKA_TEST_TIMEOUT:-180}"
HEAP="${KAFKA_TEST_HEAP:--Xms256m -Xmx512m}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "kafka-test-broker: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

write_pom() {  # to stdout; the cache is complete when its libs were fetched for this very pom
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.snapback</groupId>
  <artifactId>kafka-test-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- the broker (kafka.Kafka) and the storage tool (kafka.tools.StorageTool) -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- TopicCommand, for the readiness check -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka 4.x adds its log4j2 binding in the release tarball only, not in its poms -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <!-- kafka-clients' pom names slf4j-api 1.7 (which finds no 2.x binding and logs nothing);
         the release tarball ships 2.0 -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

fetched() { [ -f "$LIBS/.complete" ] && write_pom | cmp -s - "$LIBS/.complete"; }

cmd_fetch() {
  fetched && return 0
  command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed to fetch the Kafka jars)"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock -w 900 9 || die "timed out waiting for another fetch ($CACHE/.lock)"
  if ! fetched; then
    log "fetching Kafka $KAFKA_VERSION jars into $LIBS (mvn)"
    write_pom >"$CACHE/pom.xml"
    rm -rf "$LIBS.tmp"
    local t0=$SECONDS
    if ! mvn -B -q -f "$CACHE/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
         -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$CACHE/mvn.log" 2>&1; then
      tail -n 30 "$CACHE/mvn.log" >&2
      die "mvn could not fetch the jars (full log: $CACHE/mvn.log)"
    fi
    rm -rf "$LIBS"; mv "$LIBS.tmp" "$LIBS"; cp "$CACHE/pom.xml" "$LIBS/.complete"
    log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1), in $((SECONDS - t0)) s"
  fi
  exec 9>&-
}

java_ok() {
  command -v "$JAVA" >/dev/null || die "java not found (set JAVA_HOME to a Java 17+ JDK)"
  local v
  v=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Kafka 4.x needs Java 17+, found '$v' ($JAVA)"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

valid_port() {
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1024 ] && [ "$1" -le 65534 ] \
    || die "PORT must be a number from 1024 to 65534, got '$1'"
}

state_dir() { echo "$RUN_ROOT/$1"; }

running_pid() {  # prints the pid if the broker recorded in DIR is alive and is the one we started
  local dir="$1" pid
  [ -f "$dir/broker.pid" ] || return 1
  pid=$(cat "$dir/broker.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/server.properties" || return 1
  echo "$pid"
}

write_config() {
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
log.cleaner.threads=1
num.recovery.threads.per.data.dir=1
EOF
  cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
EOF
  cat >"$dir/tools-log4j2.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

new_cluster_id() {  # 16 random bytes, URL-safe base64 without padding (Kafka's Uuid form)
  local id
  id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  while [ "${id:0:1}" = "-" ]; do id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  echo "$id"
}

cmd_start() {
  [ $# -ge 1 ] || die "usage: $0 start PORT"
  local port="$1"; valid_port "$port"
  local cport="${KAFKA_TEST_CONTROLLER_PORT:-$((port + 1))}"
  local dir; dir=$(state_dir "$port")
  java_ok
  cmd_fetch
  if running_pid "$dir" >/dev/null; then die "a broker from $dir is already running; stop it first"; fi
  port_open "$port" && die "127.0.0.1:$port is already in use"
  port_open "$cport" && die "127.0.0.1:$cport (controller) is already in use"
  local reuse=""
  if [ "${KAFKA_TEST_KEEP:-0}" = 1 ] && [ -f "$dir/data/meta.properties" ]; then
    reuse=1; log "restarting on the kept data dir $dir/data"
  else
    rm -rf "$dir"; mkdir -p "$dir/data" "$dir/logs"
  fi
  write_config "$dir" "$port" "$cport"

  local cp="$LIBS/*"
  local jopts=(-Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
               "-Dlog4j2.configurationFile=$dir/log4j2.properties" "-Dkafka.logs.dir=$dir/logs")
  local topts=(-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true
               -Djava.net.preferIPv4Stack=true "-Dlog4j2.configurationFile=$dir/tools-log4j2.properties")
  [ -n "$reuse" ] || "$JAVA" "${topts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$(new_cluster_id)" \
      -c "$dir/server.properties" >"$dir/logs/format.out" 2>&1 \
    || { cat "$dir/logs/format.out" >&2; die "formatting storage failed"; }

  local t0=$SECONDS
  # setsid: the broker is not in the caller's process group, so a test harness's Ctrl-C or a
  # killed test does not take it down half-way; `stop` ends it by its recorded pid.
  # shellcheck disable=SC2086
  setsid "$JAVA" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      ${KAFKA_TEST_JVM_OPTS:-} "${jopts[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" \
      </dev/null >"$dir/logs/stdout.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/broker.pid"

  local deadline=$((SECONDS + TIMEOUT)) ready=""
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$dir/logs/server.log" "$dir/logs/stdout.log" >&2 || true
      rm -f "$dir/broker.pid"
      die "broker exited during start-up (logs in $dir/logs)"
    fi
    if port_open "$port" && timeout 60 "$JAVA" "${topts[@]}" -cp "$cp" \
         org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" --create \
         --if-not-exists --topic __snapback_ready --partitions 1 --replication-factor 1 \
         >>"$dir/logs/ready.out" 2>&1; then
      ready=1; break
    fi
    sleep 0.5
  done
  if [ -z "$ready" ]; then
    tail -n 40 "$dir/logs/server.log" "$dir/logs/ready.out" >&2 || true
    KAFKA_TEST_KEEP=1 cmd_stop "$port" || true
    die "broker not ready within ${TIMEOUT} s (logs kept in $dir/logs)"
  fi
  log "ready in $((SECONDS - t0)) s (pid $pid, dir $dir)"
  echo "BOOTSTRAP=127.0.0.1:$port"
}

cmd_stop() {
  [ $# -ge 1 ] || die "usage: $0 stop PORT"
  local port="$1" dir pid
  valid_port "$port"
  dir=$(state_dir "$port")
  if ! pid=$(running_pid "$dir"); then
    log "no running broker recorded in $dir"
    rm -f "$dir/broker.pid"
    [ "${KAFKA_TEST_KEEP:-0}" = 1 ] || rm -rf "$dir"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop in 30 s, killing it"; kill -KILL "$pid"; fi
  rm -f "$dir/broker.pid"
  [ "${KAFKA_TEST_KEEP:-0}" = 1 ] || rm -rf "$dir"
  log "stopped pid $pid"
}

cmd_status() {
  local dirs=() found=1 d port
  if [ $# -ge 1 ]; then valid_port "$1"; dirs=("$(state_dir "$1")"); else dirs=("$RUN_ROOT"/*); fi
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    port=$(basename "$d")
    if running_pid "$d" >/dev/null && port_open "$port"; then
      echo "BOOTSTRAP=127.0.0.1:$port"; found=0
    fi
  done
  return $found
}

case "${1:-}" in
  fetch)  cmd_fetch ;;
  start)  shift; cmd_start "$@" ;;
  stop)   shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) echo "usage: $0 {fetch|start PORT|stop PORT|status [PORT]}" >&2; exit 2 ;;
esac
