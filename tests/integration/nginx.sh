# nginx.sh: a private nginx on 127.0.0.1 serving a directory, for tests and
# benchmarks (sourced; bash).
#
#   nginx_start ROOTDIR [WORKDIR]   start it; sets NGINX_PORT, NGINX_PID, NGINX_LOG
#   nginx_stop                      stop it (idempotent)
#
# WORKDIR (default $tm_scratch/nginx, else ./nginx) holds the generated
# nginx.conf, the pid file, temp dirs, error.log and access.log; nothing goes
# to /var or /etc.  The access log has one line per request:
#   METHOD URI "RANGE" STATUS BODY_BYTES
# e.g.  GET /a/b.warc.gz "bytes=1000-" 206 51234  ("-" when no Range).
# nginx cannot listen on port 0, so a free port is taken from the kernel
# (python3 binds port 0 and closes it) and nginx_start retries with another
# one if something grabbed it meanwhile.  Under lib.sh the server is stopped
# at exit (tm_atexit); other callers trap nginx_stop themselves.  timeout(1)
# stops it after NGINX_MAX_SECONDS (default 1800) whatever happens.  Runs as
# root too (then the workers run as root, to read a 0700 scratch dir).
# nginx comes from scripts/deps.sh (nginx-light); if it is missing,
# nginx_start fails with a message saying so.

NGINX_PORT=
NGINX_PID=
NGINX_LOG=

# a free port from the kernel (tm_free_port, tests/integration/freeport.sh)
. "$(dirname "${BASH_SOURCE[0]}")/freeport.sh"
nginx_free_port() {
	tm_free_port
}

nginx_start() {
	local root work conf port try token i
	root=$(cd "$1" && pwd) || { echo "nginx_start: $1: no such directory" >&2; return 1; }
	work=${2:-${tm_scratch:-$PWD}/nginx}
	local nginx
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	if [ ! -x "$nginx" ]; then
		echo "nginx_start: nginx is not installed; run scripts/deps.sh (it installs nginx-light)" >&2
		return 1
	fi
	command -v curl >/dev/null || { echo "nginx_start: curl is not installed; run scripts/deps.sh" >&2; return 1; }
	mkdir -p "$work/tmp" || return 1
	work=$(cd "$work" && pwd)
	token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	NGINX_LOG=$work/access.log
	for try in 1 2 3 4 5; do
		port=$(nginx_free_port) || return 1
		conf=$work/nginx.conf
		{
			[ "$(id -u)" -eq 0 ] && echo "user root;"
			cat <<-EOF
			daemon off;
			master_process on;
			worker_processes ${NGINX_WORKERS:-2};
			pid $work/nginx.pid;
			error_log $work/error.log warn;
			events { worker_connections 256; }
			http {
				default_type application/octet-stream;
				types { }
				client_body_temp_path $work/tmp/body;
				proxy_temp_path $work/tmp/proxy;
				fastcgi_temp_path $work/tmp/fastcgi;
				uwsgi_temp_path $work/tmp/uwsgi;
				scgi_temp_path $work/tmp/scgi;
				log_format tamis '\$request_method \$uri "\$http_range" \$status \$body_bytes_sent';
				access_log $NGINX_LOG tamis;
				sendfile on;
				tcp_nopush on;
				keepalive_requests 100000;
				keepalive_timeout 30s;
				server {
					listen 127.0.0.1:$port;
					server_name localhost;
					root $root;
					location = /.nginx-sh-$token { return 200 "$token"; }
				}
			}
			EOF
		} >"$conf"
		: >"$work/error.log"
		# timeout(1) is the watchdog, and passes our SIGTERM on to nginx
		timeout -k 5 "${NGINX_MAX_SECONDS:-1800}" \
			"$nginx" -p "$work" -e "$work/error.log" -c "$conf" </dev/null >>"$work/error.log" 2>&1 &
		NGINX_PID=$!
		# up when it answers our token (not just anything on that port)
		for i in $(seq 1 100); do
			if [ "$(curl -s --max-time 1 "http://127.0.0.1:$port/.nginx-sh-$token" 2>/dev/null)" = "$token" ]; then
				NGINX_PORT=$port
				declare -F tm_atexit >/dev/null && tm_atexit nginx_stop
				return 0
			fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
		NGINX_PID=
		grep -q 'Address already in use' "$work/error.log" && continue
		break
	done
	echo "nginx_start: nginx did not start (try $try); $work/error.log says:" >&2
	sed 's/^/nginx_start:   /' "$work/error.log" >&2
	return 1
}

nginx_stop() {
	local i
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null
		for i in $(seq 1 50); do
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
		NGINX_PID=
	fi
	NGINX_PORT=
	return 0
}
