#!/bin/bash
# Entrypoint of the kafka image: ZooKeeper or a Kafka broker (ZooKeeper mode) from the Maven Central
# jars in /opt/kafka/libs, started as the local platform starts them (src/datapipeline/local/kafka.py:
# java -cp 'libs/*' MAIN_CLASS PROPERTIES, reload4j logging to stdout), configured from the
# environment so that a plain StatefulSet can run either; and the admin tools.
#
#   zookeeper [key=value ...]   QuorumPeerMain; extra args are appended to zookeeper.properties
#   kafka [--override k=v ...]  kafka.Kafka; extra args are passed to it
#   kafka-topics ARGS           org.apache.kafka.tools.TopicCommand (e.g. --bootstrap-server ... --create ...)
#   kafka-console-producer ARGS, kafka-console-consumer ARGS, kafka-consumer-groups ARGS
#   kafka-run-class CLASS ARGS  any class on the Kafka classpath
#   zookeeper-ready             exit 0 when the local ZooKeeper answers `ruok` (a probe)
#   anything else               run as given
# The tool names and zookeeper-ready are also commands on PATH (/opt/kafka/bin/kafka-topics ...
# link to this script), for exec probes and Jobs that set `command`.
#
# ZooKeeper environment:
#   ZOO_DATA_DIR      data folder (default /var/lib/zookeeper/data: mount a volume there)
#   ZOO_CLIENT_PORT   2181
#   ZOO_SERVERS       ensemble, space or comma separated host:peerPort:electionPort, in myid order
#                     (e.g. "zk-0.zk:2888:3888 zk-1.zk:2888:3888 zk-2.zk:2888:3888"); empty: standalone
#   ZOO_MY_ID         this server's id in ZOO_SERVERS (default: the pod ordinal of $HOSTNAME + 1)
#   ZOO_HEAP_OPTS     "-Xms256m -Xmx256m"
# Broker environment:
#   KAFKA_ZOOKEEPER_CONNECT      required, e.g. zk-0.zk:2181/kafka
#   KAFKA_BROKER_ID              default: the pod ordinal of $HOSTNAME (kafka-2 -> 2)
#   KAFKA_LISTENERS              PLAINTEXT://:9092
#   KAFKA_ADVERTISED_LISTENERS   PLAINTEXT://$(hostname -f):9092 (a StatefulSet pod's DNS name
#                                with a headless Service); "{broker.id}" in any value is replaced
#   KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, KAFKA_INTER_BROKER_LISTENER_NAME  for named listeners
#   KAFKA_LOG_DIRS               /var/lib/kafka/data/kafka-log{broker.id} (mount a volume at
#                                /var/lib/kafka/data; the subfolder keeps lost+found out of log.dirs)
#   KAFKA_MESSAGE_MAX_BYTES      message.max.bytes and replica.fetch.max.bytes (unset: Kafka's 1 MB)
#   KAFKA_REPLICATION_FACTOR     default.replication.factor, offsets.topic.replication.factor and
#                                transaction.state.log.replication.factor (default 1)
#   KAFKA_MIN_INSYNC_REPLICAS    min.insync.replicas and transaction.state.log.min.isr (default 1)
#   KAFKA_CFG_<NAME>             any other broker property: NAME upper-cased, "." as "_", "_" as "__"
#                                (KAFKA_CFG_NUM_PARTITIONS=3 -> num.partitions=3); wins over the above
#   KAFKA_HEAP_OPTS              "-Xms512m -Xmx512m" (tools: "-Xmx256m")
# Both: JAVA_OPTS (extra JVM options), KAFKA_CONF_DIR (where the generated files go, /tmp/kafka-conf).
set -euo pipefail

KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
CONF_DIR="${KAFKA_CONF_DIR:-/tmp/kafka-conf}"
CLASSPATH="$KAFKA_HOME/libs/*"

die() { echo "kafka-entrypoint: $*" >&2; exit 1; }

# The StatefulSet ordinal of this pod: the number after the last "-" of the hostname.
ordinal() {
  local n="${HOSTNAME##*-}"
  [[ "$n" =~ ^[0-9]+$ ]] && echo "$n"
}

java_run() { # HEAP LOG4J_FILE MAIN_CLASS ARGS...
  local heap="$1" log4j="$2"
  shift 2
  # shellcheck disable=SC2086  # heap and JAVA_OPTS are lists of options
  exec java $heap -XX:+UseG1GC -Djava.awt.headless=true ${JAVA_OPTS:-} \
    "-Dlog4j.configuration=file:$log4j" -cp "$CLASSPATH" "$@"
}

tool() { # MAIN_CLASS ARGS...
  java_run "${KAFKA_HEAP_OPTS:--Xmx256m}" "$KAFKA_HOME/config/tools-log4j.properties" "$@"
}

zookeeper() {
  local data="${ZOO_DATA_DIR:-/var/lib/zookeeper/data}" conf="$CONF_DIR/zookeeper.properties" i=0 server servers
  mkdir -p "$data" "$CONF_DIR"
  {
    echo "# Written by the kafka image's entrypoint at start; edits are overwritten."
    echo "dataDir=$data"
    echo "clientPort=${ZOO_CLIENT_PORT:-2181}"
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "maxClientCnxns=0"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=ruok,srvr,mntr"
    echo "autopurge.snapRetainCount=3"
    echo "autopurge.purgeInterval=24"
    servers="${ZOO_SERVERS:-}"
    for server in ${servers//,/ }; do
      i=$((i + 1))
      echo "server.$i=$server"
    done
    if ((i > 0)); then
      # Listen on all addresses for the quorum ports (the pod's own DNS name may not resolve yet).
      echo "quorumListenOnAllIPs=true"
    fi
    for kv in "$@"; do
      [[ "$kv" == *=* ]] || die "zookeeper: argument '$kv' is not key=value"
      echo "$kv"
    done
  } >"$conf"
  if ((i > 0)); then
    local myid="${ZOO_MY_ID:-}"
    if [[ -z "$myid" ]]; then
      myid="$(ordinal)" || die "ZOO_MY_ID is not set and hostname '$HOSTNAME' has no ordinal"
      myid=$((myid + 1))
    fi
    echo "$myid" >"$data/myid"
  fi
  java_run "${ZOO_HEAP_OPTS:--Xms256m -Xmx256m}" "$KAFKA_HOME/config/log4j.properties" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf"
}

broker() {
  local id="${KAFKA_BROKER_ID:-}" conf="$CONF_DIR/server.properties" name key value rf isr fqdn
  [[ -n "${KAFKA_ZOOKEEPER_CONNECT:-}" ]] || die "KAFKA_ZOOKEEPER_CONNECT is not set (e.g. zookeeper:2181)"
  if [[ -z "$id" ]]; then
    id="$(ordinal)" || die "KAFKA_BROKER_ID is not set and hostname '$HOSTNAME' has no ordinal"
  fi
  rf="${KAFKA_REPLICATION_FACTOR:-1}" isr="${KAFKA_MIN_INSYNC_REPLICAS:-1}"
  fqdn="$(hostname -f 2>/dev/null || hostname)"
  declare -A props=(
    [broker.id]="$id"
    [zookeeper.connect]="$KAFKA_ZOOKEEPER_CONNECT"
    [zookeeper.connection.timeout.ms]=30000
    [listeners]="${KAFKA_LISTENERS:-PLAINTEXT://:9092}"
    [advertised.listeners]="${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://$fqdn:9092}"
    [log.dirs]="${KAFKA_LOG_DIRS:-/var/lib/kafka/data/kafka-log{broker.id}}"
    [default.replication.factor]="$rf"
    [offsets.topic.replication.factor]="$rf"
    [transaction.state.log.replication.factor]="$rf"
    [min.insync.replicas]="$isr"
    [transaction.state.log.min.isr]="$isr"
    [group.initial.rebalance.delay.ms]=0
  )
  if [[ -n "${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:-}" ]]; then
    props[listener.security.protocol.map]="$KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
  fi
  if [[ -n "${KAFKA_INTER_BROKER_LISTENER_NAME:-}" ]]; then
    props[inter.broker.listener.name]="$KAFKA_INTER_BROKER_LISTENER_NAME"
  fi
  if [[ -n "${KAFKA_MESSAGE_MAX_BYTES:-}" ]]; then
    props[message.max.bytes]="$KAFKA_MESSAGE_MAX_BYTES"
    props[replica.fetch.max.bytes]="$KAFKA_MESSAGE_MAX_BYTES"
  fi
  while IFS='=' read -r name value; do
    key="${name#KAFKA_CFG_}"
    key="${key,,}"
    key="${key//__/@}"
    key="${key//_/.}"
    props[${key//@/_}]="$value"
  done < <(env | grep '^KAFKA_CFG_[A-Z0-9_]*=' || true)
  mkdir -p "$CONF_DIR"
  {
    echo "# Written by the kafka image's entrypoint at start; edits are overwritten."
    for key in "${!props[@]}"; do
      echo "$key=${props[$key]//\{broker.id\}/$id}"
    done | sort
  } >"$conf"
  java_run "${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}" "$KAFKA_HOME/config/log4j.properties" kafka.Kafka "$conf" "$@"
}

zookeeper_ready() {
  local reply=""
  exec 3<>"/dev/tcp/127.0.0.1/${ZOO_CLIENT_PORT:-2181}" || exit 1
  printf 'ruok' >&3
  read -r -t 5 -n 4 reply <&3 || true
  exec 3>&-
  [[ "$reply" == imok ]]
}

# Called through a link named after a tool (kafka-topics ...): that tool.
self="$(basename "$0")"
if [[ "$self" != kafka-entrypoint ]]; then
  set -- "$self" "$@"
fi
command="${1:-}"
shift || true
case "$command" in
  zookeeper) zookeeper "$@" ;;
  kafka) broker "$@" ;;
  kafka-topics) tool org.apache.kafka.tools.TopicCommand "$@" ;;
  kafka-console-producer) tool kafka.tools.ConsoleProducer "$@" ;;
  kafka-console-consumer) tool org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
  kafka-consumer-groups) tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
  kafka-run-class) tool "$@" ;;
  zookeeper-ready) zookeeper_ready ;;
  "") die "usage: zookeeper | kafka | kafka-topics | kafka-console-producer | kafka-console-consumer | kafka-consumer-groups | kafka-run-class CLASS | zookeeper-ready | COMMAND" ;;
  *) exec "$command" "$@" ;;
esac
