# shellcheck shell=bash
# Implementation of scripts/stack; sourced by it with ROOT set to the repository root. Plain bash, coreutils,
# util-linux (setsid, flock) and curl: no procps or iproute2, which a fresh Debian image lacks.

SERVICES=(kafka clickhouse registry)
BROKER_VERSION=0.8.1
BROKER_MIN_RUSTC_MINOR=96

init_env() {
    STACK_DIR="${SHOPSTREAM_STACK_DIR:-$ROOT/.stack}"
    CACHE_DIR="${SHOPSTREAM_CACHE_DIR:-$HOME/.cache/shopstream}"
    KAFKA_PORT="${SHOPSTREAM_KAFKA_PORT:-9092}"
    CH_HTTP_PORT="${SHOPSTREAM_CLICKHOUSE_HTTP_PORT:-8123}"
    CH_TCP_PORT="${SHOPSTREAM_CLICKHOUSE_TCP_PORT:-9000}"
    CH_DATABASE="${SHOPSTREAM_CLICKHOUSE_DATABASE:-shopstream}"
    REGISTRY_PORT="${SHOPSTREAM_SCHEMA_REGISTRY_PORT:-8081}"
    TIMEOUT_SECS="${SHOPSTREAM_STACK_TIMEOUT_SECS:-60}"
    SKIP_REGISTRY="${SHOPSTREAM_STACK_SKIP_REGISTRY:-0}"
    BROKER_BIN="${SHOPSTREAM_BROKER_BIN:-$CACHE_DIR/nisshi/bin/nisshi}"
    local var
    for var in KAFKA_PORT CH_HTTP_PORT CH_TCP_PORT REGISTRY_PORT TIMEOUT_SECS; do
        [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number, not '${!var}'"
    done
    [[ $CH_DATABASE =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "SHOPSTREAM_CLICKHOUSE_DATABASE '$CH_DATABASE' is not a plain identifier"
}

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
    printf 'stack: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------------------------
# Processes

pid_file() { printf '%s/%s/pid' "$STACK_DIR" "$1"; }

# True if the process exists and is not a zombie (a container's pid 1 may never reap our orphans).
alive() {
    local state
    [[ -r /proc/$1/stat ]] || return 1
    state="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# A string the command line of the service's process contains, to guard against a reused pid.
cmdline_marker() {
    case "$1" in
        kafka) printf 'sqlite://broker.db' ;;
        clickhouse) printf '%s/clickhouse/config.xml' "$STACK_DIR" ;;
        registry) printf 'shopstream registry' ;;
    esac
}

# Prints the pid of the service if this script started it and it is still running.
running_pid() {
    local file pid
    file="$(pid_file "$1")"
    [[ -f $file ]] || return 1
    pid="$(<"$file")"
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cmdline_marker "$1")" || return 1
    printf '%s' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

service_ports() {
    case "$1" in
        kafka) echo "$KAFKA_PORT" ;;
        clickhouse) echo "$CH_HTTP_PORT $CH_TCP_PORT" ;;
        registry) echo "$REGISTRY_PORT" ;;
    esac
}

port_var() {
    case "$1" in
        "$KAFKA_PORT") echo SHOPSTREAM_KAFKA_PORT ;;
        "$CH_HTTP_PORT") echo SHOPSTREAM_CLICKHOUSE_HTTP_PORT ;;
        "$CH_TCP_PORT") echo SHOPSTREAM_CLICKHOUSE_TCP_PORT ;;
        *) echo SHOPSTREAM_SCHEMA_REGISTRY_PORT ;;
    esac
}

service_log() {
    case "$1" in
        kafka) echo "$STACK_DIR/kafka/kafka.log" ;;
        clickhouse) echo "$STACK_DIR/clickhouse/log/clickhouse-server.err.log" ;;
        registry) echo "$STACK_DIR/registry/registry.log" ;;
    esac
}

show_log_tail() {
    local file shown=0
    for file in "$(service_log "$1")" "$STACK_DIR/$1/stdout.log"; do
        [[ -s $file ]] || continue
        printf 'stack: ---- last lines of %s ----\n' "$file" >&2
        tail -n 30 "$file" >&2
        shown=1
    done
    ((shown)) || log "$1 wrote nothing to its log ($(service_log "$1"))."
}

# Runs "$@" detached (own session, so ^C in the caller's terminal does not reach it) from directory $2, with
# output appended to $3; records the pid in the service's pid file. Usage: spawn SERVICE DIR LOG CMD...
spawn() {
    local service="$1" dir="$2" out="$3"
    shift 3
    # Without job control the subshell is not a process-group leader, so setsid does not fork: $! is the pid of
    # the final process.
    (cd "$dir" && exec setsid "$@") >>"$out" 2>&1 </dev/null &
    echo $! >"$(pid_file "$service")"
}

stop_pid() {
    local service="$1" pid="$2" waited=0
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid"; do
        if ((waited >= 300)); then
            log "$service (pid $pid) did not exit 30 s after SIGTERM; sending SIGKILL."
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
        waited=$((waited + 1))
        ((waited < 400)) || die "$service (pid $pid) does not die; giving up."
    done
}

# Waits for the service to answer its health check. Usage: wait_healthy SERVICE PID [keep]; on timeout the process
# is stopped, unless "keep" (it was started by an earlier run, which may know better).
wait_healthy() {
    local service="$1" pid="$2" keep="${3:-}" deadline=$((SECONDS + TIMEOUT_SECS))
    while ! "${service}_healthy"; do
        if ! alive "$pid"; then
            show_log_tail "$service"
            rm -f "$(pid_file "$service")"
            die "$service (pid $pid) exited during startup; see its log above."
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail "$service"
            if [[ $keep == keep ]]; then
                die "$service (pid $pid) is not healthy after ${TIMEOUT_SECS} s more (SHOPSTREAM_STACK_TIMEOUT_SECS); left it running: see 'scripts/stack status', or 'scripts/stack down $service'."
            fi
            stop_pid "$service" "$pid"
            rm -f "$(pid_file "$service")"
            die "$service did not become healthy within ${TIMEOUT_SECS} s (SHOPSTREAM_STACK_TIMEOUT_SECS); stopped it."
        fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------------------------------------------
# kafka: nisshi (tansu's successor, same CLI) with sqlite storage in .stack/kafka/broker.db
#
# Why nisshi and not tansu 0.6.0: after a kill storm tansu 0.6.0 can leave a consumer group wedged, its
# survivor assigned no partitions for good while the group has lag; nisshi 0.8.1 heals (ARCHITECTURE.md,
# "The broker"). nisshi needs rustc >= 1.96: the stable toolchain if it is new enough, else the nightly one.

kafka_healthy() {
    [[ -x $BROKER_BIN ]] && port_open "$KAFKA_PORT" \
        && timeout 10 "$BROKER_BIN" topic list --broker "tcp://127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
}

# True while some `cargo install nisshi` is running (e.g. started by hand into the same cache).
broker_install_running() {
    local cmdline
    for cmdline in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' <"$cmdline" 2>/dev/null | grep -Eq '(^|/)cargo (\+[a-z0-9.-]+ )?install nisshi ' && return 0
    done
    return 1
}

ensure_cargo() {
    command -v cargo >/dev/null && return
    # shellcheck source=/dev/null
    [[ -f $HOME/.cargo/env ]] && source "$HOME/.cargo/env"
    command -v cargo >/dev/null || die "cargo is not installed; install Rust with rustup (https://rustup.rs)."
}

# The minor version of a toolchain's rustc ("95" for 1.95.0), or nothing.
rustc_minor() {
    local v
    v="$(cargo ${1:+"+$1"} --version 2>/dev/null)" || return 0
    [[ $v =~ ^cargo\ 1\.([0-9]+)\. ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# Prints the `+toolchain` argument for cargo that builds nisshi (empty: the default toolchain).
broker_toolchain() {
    local minor
    minor="$(rustc_minor)"
    if [[ -n $minor ]] && ((minor >= BROKER_MIN_RUSTC_MINOR)); then
        return
    fi
    minor="$(rustc_minor nightly)"
    if [[ -n $minor ]] && ((minor >= BROKER_MIN_RUSTC_MINOR)); then
        printf '+nightly'
        return
    fi
    die "building nisshi $BROKER_VERSION needs rustc >= 1.$BROKER_MIN_RUSTC_MINOR: the default toolchain is $(cargo --version 2>/dev/null || echo missing) and there is no new enough nightly ('rustup toolchain install nightly'), or point SHOPSTREAM_BROKER_BIN at a built nisshi."
}

kafka_install() {
    [[ -x $BROKER_BIN ]] && return
    if [[ -n ${SHOPSTREAM_BROKER_BIN:-} ]]; then
        die "SHOPSTREAM_BROKER_BIN=$BROKER_BIN is not an executable."
    fi
    if broker_install_running; then
        log "Another 'cargo install nisshi' is running; waiting for it to finish (check its log)."
        while broker_install_running; do sleep 10; done
        [[ -x $BROKER_BIN ]] && return
        log "It finished without producing $BROKER_BIN; building nisshi here."
    fi
    ensure_cargo
    mkdir -p "$CACHE_DIR"
    local install_log="$CACHE_DIR/nisshi-install.log" toolchain
    toolchain="$(broker_toolchain)"
    (
        flock 9
        [[ -x $BROKER_BIN ]] && exit 0
        log "Building nisshi $BROKER_VERSION into $CACHE_DIR/nisshi (about 25 minutes on 2 cores, once); log: $install_log"
        # shellcheck disable=SC2086 # $toolchain is empty or one word
        if ! cargo $toolchain install nisshi --version "$BROKER_VERSION" --locked --no-default-features \
            --features libsql --root "$CACHE_DIR/nisshi" >"$install_log" 2>&1; then
            tail -n 40 "$install_log" >&2
            die "cargo install nisshi failed (log: $install_log). A C toolchain (gcc, make) and pkg-config are needed."
        fi
    ) 9>"$CACHE_DIR/nisshi-install.lock"
    [[ -x $BROKER_BIN ]] || die "nisshi was built but $BROKER_BIN is missing."
}

kafka_start() {
    local dir="$STACK_DIR/kafka"
    # --storage-engine's sqlite path is relative to the working directory, hence the cd into $dir.
    spawn kafka "$dir" "$dir/kafka.log" "$BROKER_BIN" broker \
        --cluster-id shopstream \
        --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
        --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
        --storage-engine "sqlite://broker.db"
}

# ---------------------------------------------------------------------------------------------------------------
# clickhouse: Debian's clickhouse-server with its own config, data and logs in .stack/clickhouse/

clickhouse_bin() {
    command -v clickhouse-server 2>/dev/null || { [[ -x /usr/sbin/clickhouse-server ]] && echo /usr/sbin/clickhouse-server; }
}

clickhouse_healthy() {
    [[ "$(curl -s --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]
}

clickhouse_install() {
    [[ -n $(clickhouse_bin) ]] && return
    [[ $(id -u) == 0 ]] || die "clickhouse-server is not installed; run: sudo apt-get install -y clickhouse-server clickhouse-client"
    log "Installing clickhouse-server from Debian (apt-get)."
    # Keep the package from starting its system service on our ports: invoke-rc.d and deb-systemd-invoke honour
    # policy-rc.d exit code 101 ("action forbidden").
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    fi
    local ok=1
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client; } >&2 || ok=0
    ((added_policy)) && rm -f "$policy"
    ((ok)) || die "apt-get install clickhouse-server failed."
    [[ -n $(clickhouse_bin) ]] || die "clickhouse-server is still missing after apt-get install."
}

clickhouse_write_config() {
    local dir="$STACK_DIR/clickhouse"
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
    # No interserver_http_port: a single server needs none. UTC so that a machine without /etc/localtime works.
    cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/stack; edits are overwritten on the next start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/log/clickhouse-server.log</log>
        <errorlog>$dir/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
</yandex>
EOF
    cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by scripts/stack: user "default" with no password, from localhost only, and the user the
     credential tests log in as (tests/hardening.rs), with a password, from localhost only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <shopstream_auth_test>
            <password>ch-test-Hk29sQvT</password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </shopstream_auth_test>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

clickhouse_start() {
    local dir="$STACK_DIR/clickhouse"
    clickhouse_write_config
    spawn clickhouse "$dir" "$dir/stdout.log" "$(clickhouse_bin)" --config-file="$dir/config.xml"
}

clickhouse_ready() {
    local out
    out="$(curl -sS --max-time 10 --data-binary "CREATE DATABASE IF NOT EXISTS $CH_DATABASE" \
        "http://127.0.0.1:$CH_HTTP_PORT/" 2>&1)" || die "could not create database $CH_DATABASE: $out"
}

# ---------------------------------------------------------------------------------------------------------------
# registry: `shopstream registry`, the project's schema registry (stores schemas in Kafka)

registry_bin() {
    if [[ -n ${SHOPSTREAM_REGISTRY_BIN:-} ]]; then
        printf '%s' "$SHOPSTREAM_REGISTRY_BIN"
        return
    fi
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    [[ $target == /* ]] || target="$PWD/$target"
    printf '%s/release/shopstream' "$target"
}

registry_healthy() {
    curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/subjects" 2>/dev/null
}

registry_install() {
    if [[ -n ${SHOPSTREAM_REGISTRY_BIN:-} ]]; then
        [[ -x $SHOPSTREAM_REGISTRY_BIN ]] || die "SHOPSTREAM_REGISTRY_BIN=$SHOPSTREAM_REGISTRY_BIN is not an executable."
        return
    fi
    ensure_cargo
    log "Building shopstream (cargo build --release --bin shopstream; a no-op when it is fresh)."
    (cd "$ROOT" && cargo build --quiet --release --bin shopstream >&2) \
        || die "cargo build --release --bin shopstream failed; fix it, or skip the registry with SHOPSTREAM_STACK_SKIP_REGISTRY=1."
}

registry_start() {
    kafka_healthy || die "the registry needs the broker, which is not healthy on port $KAFKA_PORT; run: scripts/stack up kafka"
    local dir="$STACK_DIR/registry"
    SHOPSTREAM_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
        spawn registry "$dir" "$dir/registry.log" "$(registry_bin)" registry --listen "127.0.0.1:$REGISTRY_PORT"
}

# ---------------------------------------------------------------------------------------------------------------
# Commands

skipped() { [[ $1 == registry && $SKIP_REGISTRY == 1 ]]; }

up_one() {
    local service="$1" pid port
    if skipped "$service"; then
        log "$service: skipped (SHOPSTREAM_STACK_SKIP_REGISTRY=1)."
        return
    fi
    mkdir -p "$STACK_DIR/$service"
    if pid="$(running_pid "$service")"; then
        local started_ports
        started_ports="$(cat "$STACK_DIR/$service/ports" 2>/dev/null || true)"
        if [[ $started_ports != "$(service_ports "$service")" ]]; then
            die "$service is running (pid $pid) on port(s) ${started_ports:-unknown}, not $(service_ports "$service") as the environment asks; run 'scripts/stack down $service' first."
        fi
        if "${service}_healthy"; then
            log "$service: already running (pid $pid) and healthy."
        else
            log "$service: running (pid $pid) but not healthy yet; waiting."
            wait_healthy "$service" "$pid" keep
            log "$service: healthy."
        fi
        ! declare -F "${service}_ready" >/dev/null || "${service}_ready"
        return
    fi
    rm -f "$(pid_file "$service")"
    "${service}_install"
    for port in $(service_ports "$service"); do
        if port_open "$port"; then
            die "$service: port $port is in use by a process this script did not start; stop it or set $(port_var "$port")."
        fi
    done
    log "$service: starting."
    "${service}_start"
    service_ports "$service" >"$STACK_DIR/$service/ports"
    pid="$(<"$(pid_file "$service")")"
    wait_healthy "$service" "$pid"
    ! declare -F "${service}_ready" >/dev/null || "${service}_ready"
    log "$service: healthy (pid $pid, port $(service_ports "$service" | tr ' ' ','); log $(service_log "$service"))."
}

down_one() {
    local service="$1" pid
    if pid="$(running_pid "$service")"; then
        log "$service: stopping pid $pid."
        stop_pid "$service" "$pid"
        log "$service: stopped."
    else
        log "$service: not running."
    fi
    rm -f "$(pid_file "$service")" "$STACK_DIR/$service/ports"
}

status() {
    local service pid health
    printf '%-11s %-8s %-11s %s\n' SERVICE PID PORT HEALTH
    for service in "${SERVICES[@]}"; do
        pid="$(running_pid "$service")" || pid=-
        if "${service}_healthy"; then
            health=healthy
            [[ $pid != - ]] || health="healthy, but not started by scripts/stack"
        elif skipped "$service" && [[ $pid == - ]]; then
            health="skipped (SHOPSTREAM_STACK_SKIP_REGISTRY=1)"
        elif [[ $pid != - ]]; then
            health=unhealthy
            local started_ports
            started_ports="$(cat "$STACK_DIR/$service/ports" 2>/dev/null || true)"
            if [[ $started_ports != "$(service_ports "$service")" ]]; then
                health="unhealthy on the ports asked for: it was started on ${started_ports:-unknown ports}"
            fi
        else
            health=down
        fi
        printf '%-11s %-8s %-11s %s\n' "$service" "$pid" "$(service_ports "$service" | tr ' ' ',')" "$health"
    done
}

print_env() {
    cat <<EOF
export SHOPSTREAM_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export SHOPSTREAM_CLICKHOUSE_URL=http://127.0.0.1:$CH_HTTP_PORT
export SHOPSTREAM_CLICKHOUSE_DATABASE=$CH_DATABASE
export SHOPSTREAM_SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT
export SHOPSTREAM_BROKER_BIN=$BROKER_BIN
EOF
}

# Prints the services named in "$@" (all if none), checking each name.
select_services() {
    local service
    if (($# == 0)); then
        printf '%s\n' "${SERVICES[@]}"
        return
    fi
    for service in "$@"; do
        [[ " ${SERVICES[*]} " == *" $service "* ]] || die "unknown service '$service' (one of: ${SERVICES[*]})"
        echo "$service"
    done
}

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$ROOT/scripts/stack" >&2
}

main() {
    local command="${1:-}"
    (($# == 0)) || shift
    init_env
    local services service
    case "$command" in
        up)
            services="$(select_services "$@")"
            mkdir -p "$STACK_DIR"
            # Everything in .stack/ is local state; keep it out of git even without the root .gitignore entry.
            [[ -f $STACK_DIR/.gitignore ]] || echo '*' >"$STACK_DIR/.gitignore"
            # The registry needs the broker: sorted into start order whatever order they were named in.
            for service in "${SERVICES[@]}"; do
                if grep -qx "$service" <<<"$services"; then up_one "$service"; fi
            done
            print_env
            ;;
        down)
            services="$(select_services "$@")"
            for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
                service="${SERVICES[i]}"
                if grep -qx "$service" <<<"$services"; then down_one "$service"; fi
            done
            ;;
        status) status ;;
        env) print_env ;;
        logs)
            (($# == 1)) || die "usage: scripts/stack logs SERVICE"
            service="$(select_services "$1")"
            exec tail -n 50 -F "$(service_log "$service")"
            ;;
        -h | --help | help) usage ;;
        *)
            usage
            die "unknown command '${command}'"
            ;;
    esac
}
