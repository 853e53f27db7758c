"""The scale profile on one machine: PostgreSQL + Redis + M action servers + N Rasa replicas behind nginx.

`make scale-up N=2 M=2` starts it in the background and returns once nginx answers; `make scale-down`
stops it. Everything binds to 127.0.0.1; data, logs, configs and pids live in var/scale/ (ignored by git).

    clients -> nginx 127.0.0.1:LB_PORT (5080)  REST round-robin, /socket.io/ sticky (ip_hash)
                 -> Rasa replicas 127.0.0.1:RASA_REPLICA_BASE_PORT+i (5101, 5102, ...)
                      tracker store: PostgreSQL 127.0.0.1:PG_PORT (55432)    (bot.stores.tracker_store)
                      lock store:    Redis      127.0.0.1:REDIS_PORT (56379) (bot.stores.lock_store)
                      actions ->  nginx 127.0.0.1:ACTIONS_LB_PORT (5081) round-robin
                                    -> action servers 127.0.0.1:ACTION_REPLICA_BASE_PORT+i (5151, ...)

Rasa replicas read endpoints.scale.yml; its ${VARS} come from here (defaults: bot/settings.py). PostgreSQL
connections: each Rasa process keeps SQL_POOL_SIZE (+ SQL_MAX_OVERFLOW under bursts) connections; Rasa's
default 50 + 100 per process would exhaust PostgreSQL's 100 with one replica, so we set 4 + 4 and check
replicas x workers x 8 fits PG_MAX_CONNECTIONS minus a reserve. The SQL tracker store runs synchronously in
the event loop, so a process never uses more than a couple of connections at once.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bot import servers
from bot.settings import LOOPBACK, ROOT, Settings, process_environment


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


DEFAULT_DIR = ROOT / "var" / "scale"
NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
PG_RESERVED_CONNECTIONS = 10  # superuser + psql + migrations headroom
SECRET_BYTES = 18
START_TIMEOUT_S = {"postgres": 60, "redis": 30, "nginx": 30}
STOP_TIMEOUT_S = 15
NGINX_WORKER_USER = "www-data" if _user_exists("www-data") else "nobody"


def scale_settings(base_dir: Path = DEFAULT_DIR, overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of every process of the topology: bot/settings.py over the environment and `overrides`,
    everything on loopback, and passwords generated once per data directory (kept in secrets.json, mode 600)."""
    config = Settings.from_env({**process_environment(), **(overrides or {})})
    secret_file = base_dir / "secrets.json"  # never committed: var/ is ignored
    stored = json.loads(secret_file.read_text()) if secret_file.exists() else {}
    passwords = {"PG_PASSWORD": config.pg_password or stored.get("PG_PASSWORD") or secrets.token_urlsafe(SECRET_BYTES),
                 "REDIS_PASSWORD": config.redis_password or stored.get("REDIS_PASSWORD")
                 or secrets.token_urlsafe(SECRET_BYTES)}
    servers.write_private(secret_file, json.dumps(passwords))
    return servers.environment({**(overrides or {}), **passwords, "ENDPOINTS": "endpoints.scale.yml",
                                "ACTION_HOST": LOOPBACK, "ACTION_PORT": str(config.actions_lb_port),
                                "PG_HOST": LOOPBACK, "REDIS_HOST": LOOPBACK,
                                "PROXIES_COUNT": "1"})  # the replicas see clients through nginx


class Topology:
    """Starts, stops and inspects one scale topology; shared by `make scale-up/down`, the tests and bench."""

    def __init__(self, env: Dict[str, str], replicas: int, actions: int, base_dir: Path = DEFAULT_DIR):
        self.env, self.replicas, self.actions, self.dir = env, replicas, actions, base_dir
        self.logs = base_dir / "logs"
        self.pg_data = base_dir / "postgres"
        self.processes: Dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------ ports and urls
    def rasa_port(self, i: int) -> int:
        return int(self.env["RASA_REPLICA_BASE_PORT"]) + i

    def action_port(self, i: int) -> int:
        return int(self.env["ACTION_REPLICA_BASE_PORT"]) + i

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['LB_PORT']}"

    def replica_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.rasa_port(i)}"

    # ------------------------------------------------------------------ processes
    def _start(self, name: str, command: List[str], env: Optional[Dict[str, str]] = None,
               as_user: Optional[str] = None) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:  # the child keeps its own handle
            process = subprocess.Popen(run_as(as_user, command), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       env={**(env or self.env), "SANIC_HOST": "127.0.0.1"}, start_new_session=True)
        self.processes[name] = process
        self._write_pids()
        return process

    def _write_pids(self) -> None:
        (self.dir / "pids.json").write_text(json.dumps({n: p.pid for n, p in self.processes.items()}))

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._write_pids()

    def kill_replica(self, i: int) -> None:
        """SIGKILL, as a crashed machine would do it."""
        self.stop(f"rasa-{i}", signal.SIGKILL)

    # ------------------------------------------------------------------ PostgreSQL
    def _pg_user(self) -> Optional[str]:
        return "postgres" if os.geteuid() == 0 else None  # postgres refuses to run as root

    def start_postgres(self) -> None:
        bin_dir = pg_bin_dir()
        user = self._pg_user()
        if not (self.pg_data / "PG_VERSION").exists():
            self.pg_data.mkdir(parents=True, exist_ok=True)
            pwfile = self.dir / "pg-password"
            servers.write_private(pwfile, self.env["PG_PASSWORD"] + "\n")
            if user:
                shutil.chown(self.pg_data, user)
                shutil.chown(pwfile, user)
            self.pg_data.chmod(0o700)
            subprocess.run(run_as(user, [str(bin_dir / "initdb"), "-D", str(self.pg_data), "-U", self.env["PG_USER"],
                                         "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8",
                                         "--no-instructions"]), check=True, capture_output=True)
            pwfile.unlink()
        self._start("postgres", [str(bin_dir / "postgres"), "-D", str(self.pg_data), "-p", self.env["PG_PORT"],
                                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.pg_data}",
                                 "-c", f"max_connections={self.env['PG_MAX_CONNECTIONS']}", "-c", "fsync=on"],
                    as_user=user)
        self.wait_postgres()
        import psycopg2
        connection = psycopg2.connect(**self.pg_connect("postgres"))
        try:
            connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.env["PG_DB"],))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{self.env["PG_DB"]}"')
        finally:
            connection.close()

    def pg_connect(self, db: Optional[str] = None) -> Dict[str, object]:
        return dict(host="127.0.0.1", port=int(self.env["PG_PORT"]), user=self.env["PG_USER"],
                    password=self.env["PG_PASSWORD"], dbname=db or self.env["PG_DB"], connect_timeout=3)

    def wait_postgres(self, timeout: float = START_TIMEOUT_S["postgres"]) -> None:
        import psycopg2
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(**self.pg_connect("postgres")).close()
                return
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline or self.processes["postgres"].poll() is not None:
                    raise RuntimeError(f"PostgreSQL did not start: {exc}; see {self.logs / 'postgres.log'}") from exc
                time.sleep(0.3)

    # ------------------------------------------------------------------ Redis
    def start_redis(self) -> None:
        data = self.dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        # The password goes in a config file of mode 600: on the command line `ps` would show it.
        config = self.dir / "redis.conf"
        servers.write_private(config, f"bind 127.0.0.1\nport {self.env['REDIS_PORT']}\ndir {data}\nsave \"\"\n"
                                      f"appendonly no\nrequirepass {self.env['REDIS_PASSWORD']}\n")
        self._start("redis", [shutil.which("redis-server") or "/usr/bin/redis-server", str(config)])
        import redis
        client = redis.Redis(host="127.0.0.1", port=int(self.env["REDIS_PORT"]), password=self.env["REDIS_PASSWORD"])
        deadline = time.monotonic() + START_TIMEOUT_S["redis"]
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.processes["redis"].poll() is not None:
                    raise RuntimeError(f"Redis did not start; see {self.logs / 'redis.log'}") from None
                time.sleep(0.2)

    # ------------------------------------------------------------------ action servers, Rasa, nginx
    def start_action_server(self, i: int) -> None:
        env = {**self.env, "ACTION_PORT": str(self.action_port(i))}
        process = self._start(f"actions-{i}", servers.action_server_command(env), env)
        servers.wait_http(f"http://127.0.0.1:{self.action_port(i)}/health", servers.ACTIONS_START_TIMEOUT_S, process)

    def start_replica(self, i: int, wait: bool = True) -> subprocess.Popen:
        env = {**self.env, "RASA_PORT": str(self.rasa_port(i))}
        process = self._start(f"rasa-{i}", servers.rasa_command(env), env)
        if wait:
            servers.wait_http(servers.rasa_health_url(env), servers.RASA_START_TIMEOUT_S, process)
        return process

    def nginx_config(self) -> str:
        rasa = "\n".join(f"    server 127.0.0.1:{self.rasa_port(i)} max_fails=1 fail_timeout=5s;"
                         for i in range(self.replicas))
        actions = "\n".join(f"    server 127.0.0.1:{self.action_port(i)} max_fails=1 fail_timeout=5s;"
                            for i in range(self.actions))
        temp = self.dir / "nginx-tmp"
        # Started as root, nginx runs its workers as an unprivileged user (Debian's www-data, else nobody).
        user = f"user {NGINX_WORKER_USER};" if os.geteuid() == 0 else ""
        config = Settings.from_env(self.env)
        per_minute, connections = config.client_messages_per_minute, config.client_connections
        zones = [f"  limit_req_zone $binary_remote_addr zone=clients:10m rate={per_minute}r/m;" if per_minute else "",
                 "  limit_conn_zone $binary_remote_addr zone=connections:10m;" if connections else ""]
        burst = max(1, per_minute // 4)
        return NGINX_TEMPLATE.read_text().format(
            user=user, dir=self.dir, logs=self.logs, temp=temp, rasa=rasa, actions=actions,
            lb_port=self.env["LB_PORT"], actions_lb_port=self.env["ACTIONS_LB_PORT"], limit_zones="\n".join(zones),
            limit_requests=f"      limit_req zone=clients burst={burst} nodelay;" if per_minute else "",
            limit_connections=f"      limit_conn connections {connections};" if connections else "")

    def start_nginx(self) -> None:
        (self.dir / "nginx-tmp").mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # the workers write request bodies and proxy buffers there
            shutil.chown(self.dir / "nginx-tmp", NGINX_WORKER_USER)
        conf = self.dir / "nginx.conf"
        conf.write_text(self.nginx_config())
        nginx = nginx_binary()
        if nginx is None:
            raise SystemExit("nginx not found: `make setup` installs it (apt-get install nginx) when root")
        check = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(self.dir)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejected {conf}: {check.stderr}")
        process = self._start("nginx", [nginx, "-c", str(conf), "-p", str(self.dir)])
        servers.wait_http(f"{self.url}/webhooks/rest/", START_TIMEOUT_S["nginx"], process)

    def check_pool_budget(self) -> None:
        per_process = int(self.env["SQL_POOL_SIZE"]) + int(self.env["SQL_MAX_OVERFLOW"])
        needed = self.replicas * int(self.env["SANIC_WORKERS"]) * per_process
        budget = int(self.env["PG_MAX_CONNECTIONS"]) - PG_RESERVED_CONNECTIONS
        if needed > budget:
            raise SystemExit(f"{self.replicas} replicas x {self.env['SANIC_WORKERS']} workers x {per_process} SQL "
                             f"connections = {needed} > {budget} (PG_MAX_CONNECTIONS - {PG_RESERVED_CONNECTIONS}); "
                             f"lower SQL_POOL_SIZE/SQL_MAX_OVERFLOW or raise PG_MAX_CONNECTIONS")

    def running(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def up(self) -> None:
        self.check_pool_budget()
        if not self.running("postgres"):  # the tests start PostgreSQL first and share it (tests/conftest.py)
            self.start_postgres()
        self.start_redis()
        for i in range(self.actions):
            self.start_action_server(i)
        started = [self.start_replica(i, wait=False) for i in range(self.replicas)]
        for i, process in enumerate(started):  # replicas load their models in parallel
            servers.wait_http(servers.rasa_health_url({"RASA_PORT": str(self.rasa_port(i))}),
                              servers.RASA_START_TIMEOUT_S, process)
        self.start_nginx()

    def down(self, keep: Tuple[str, ...] = ()) -> None:
        """Stops every process, except those named in `keep`."""
        for name in [n for n in self.processes if n.startswith("nginx")] + \
                    [n for n in self.processes if n.startswith("rasa")] + \
                    [n for n in self.processes if n.startswith("actions")] + ["redis", "postgres"]:
            if name in keep:
                continue
            # PostgreSQL's SIGTERM waits for clients to disconnect; SIGINT is its fast, clean shutdown.
            self.stop(name, signal.SIGINT if name == "postgres" else signal.SIGTERM)




def free_ports(replicas: int, actions: int) -> Dict[str, str]:
    """Ports for a topology that runs beside `make scale-up`'s (tests, bench): free now, replicas consecutive."""
    ports = {k: str(servers.free_port()) for k in ("LB_PORT", "ACTIONS_LB_PORT", "PG_PORT", "REDIS_PORT")}
    ports["RASA_REPLICA_BASE_PORT"] = str(_consecutive_free_ports(replicas))
    ports["ACTION_REPLICA_BASE_PORT"] = str(_consecutive_free_ports(actions))
    return ports


def _consecutive_free_ports(count: int) -> int:
    while True:
        first, sockets = servers.free_port(), []
        try:
            for port in range(first, first + count):
                sockets.append(socket.socket())
                sockets[-1].bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()


def nginx_binary() -> Optional[str]:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if Path(found).exists() else None


def run_as(user: Optional[str], command: List[str]) -> List[str]:
    return ["runuser", "-u", user, "--", *command] if user else command


def pg_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True)
    if candidates:
        return candidates[0].parent
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise SystemExit("PostgreSQL not found: `make scale-up` installs it (apt-get install postgresql) when root")


def stop_recorded(base_dir: Path = DEFAULT_DIR) -> int:
    """`make scale-down`: stop the processes a previous `make scale-up` recorded."""
    pid_file = base_dir / "pids.json"
    if not pid_file.exists():
        print("no scale topology is running (no var/scale/pids.json)")
        return 0
    pids = json.loads(pid_file.read_text())
    order = sorted(pids, key=lambda n: ["nginx", "rasa", "actions", "redis", "postgres"].index(n.split("-")[0]))
    for name in order:
        try:
            os.killpg(pids[name], signal.SIGINT if name == "postgres" else signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.killpg(pids[name], 0)
                time.sleep(0.2)
            except ProcessLookupError:
                break
        else:
            os.killpg(pids[name], signal.SIGKILL)
        print(f"stopped {name}")
    pid_file.unlink()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--actions", type=int, default=2)
    args = parser.parse_args()
    if args.command == "down":
        return stop_recorded()
    if (DEFAULT_DIR / "pids.json").exists():
        stop_recorded()
    env = scale_settings()
    topology = Topology(env, args.replicas, args.actions)
    try:
        topology.up()
    except BaseException:
        topology.down()
        raise
    print(f"\nScale topology up: {args.replicas} Rasa replicas, {args.actions} action servers.\n"
          f"  REST:      {topology.url}/webhooks/rest/webhook\n  socket.io: {topology.url}/socket.io/\n"
          f"  logs:      {topology.logs}/\n  stop:      make scale-down\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
