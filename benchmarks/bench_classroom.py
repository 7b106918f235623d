"""The load of a class on one machine: a real JupyterHub whose N attendees run notebooks 1-3 at once.

For each N (``--users``, default 1 2 4 8) it starts N attendees' servers on one JupyterHub, then
every attendee's server executes notebooks 1, 2 and 3 in order, all attendees at the same time,
through the Jupyter server's REST and websocket API: a fresh kernel per notebook, each code cell
sent as an ``execute_request``, the kernel shut down when its notebook is done (an attendee who
closes a finished lesson). Recorded per attendee and notebook: wall time, the kernel's peak
resident and private memory (probe cells from ``bench_kernel_memory.py``), the attendee's server's
memory, and failures (a cell that raised, a timeout); per N, the machine's memory in use.

Setup, once (neither is a dependency of the package; CI never needs them):

    .venv/bin/pip install -e ".[classroom]"                      # JupyterHub
    npm install --prefix build/classroom-bench/node configurable-http-proxy@5

Run (about 15 minutes for 1, 2, 4 and 8 attendees on 2 cores):

    RSNA_WORKSHOP_WEIGHTS=/path/to/weights.h5 .venv/bin/python benchmarks/bench_classroom.py

The attendees read one classroom folder made by ``rsna-workshop classroom prepare`` (``--classroom``;
prepared there first if missing, about 4 minutes) and each writes only their own cache in their
home under the benchmark folder. The hub uses the dummy authenticator and
``SimpleLocalProcessSpawner``: every server runs as the user who runs the benchmark, so no system
users are made and nothing outside the benchmark folder changes (a real class uses TLJH's systemd
spawner or Kubernetes pods, which add isolation, not memory). Everything binds to 127.0.0.1; the
run stops by itself after ``--minutes`` and always stops the hub and every server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench_kernel_memory import PROBE_END, PROBE_START, memory_from_outputs

NOTEBOOKS = ["1", "2", "3"]
CELL_TIMEOUT_S = 900
#: Run in each kernel after the notebook: the pid and resident memory (MB) of its parent, the
#: attendee's server.
SERVER_PROBE = ("import os as _os\n_server = open(f'/proc/{_os.getppid()}/status').read()\n"
                "print('SERVER', _os.getppid(), int(_re.search(r'VmRSS:\\s+(\\d+)', _server)[1]) // 1024)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def classroom_env(classroom: Path) -> dict[str, str]:
    """The variables ``classroom.env`` exports (values unquoted; ``$HOME`` left for the package)."""
    env = {}
    for line in (classroom / "classroom.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = shlex.split(line[len("export "):])[0].partition("=")
            env[key] = value
    return env


def hub_config(folder: Path, port: int, token: str, classroom: Path, proxy: Path) -> str:
    """jupyterhub_config.py: loopback only, dummy authenticator, simple local spawner, one service."""
    settings = {
        "JupyterHub.bind_url": f"http://127.0.0.1:{port}",
        "JupyterHub.hub_ip": "127.0.0.1",
        "JupyterHub.hub_port": free_port(),
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{free_port()}",
        "ConfigurableHTTPProxy.command": [str(proxy)],
        "JupyterHub.db_url": f"sqlite:///{folder / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(folder / "cookie_secret"),
        "JupyterHub.authenticator_class": "dummy",
        "Authenticator.allow_all": True,
        "JupyterHub.spawner_class": "simple",
        "SimpleLocalProcessSpawner.home_dir_template": str(folder / "homes" / "{username}"),
        "Spawner.cmd": [sys.executable, "-m", "jupyterhub.singleuser"],
        "Spawner.args": ["--allow-root"] if os.geteuid() == 0 else [],  # a container's root user
        "Spawner.environment": {**classroom_env(classroom), "PATH": os.environ["PATH"]},
        "Spawner.start_timeout": 300,
        "Spawner.http_timeout": 300,
        "JupyterHub.services": [{"name": "bench", "api_token": token}],
        "JupyterHub.load_roles": [{"name": "bench", "services": ["bench"],
                                   "scopes": ["admin:users", "admin:servers", "access:servers"]}],
        "JupyterHub.cleanup_servers": True,
        "Application.log_level": "WARN",
    }
    return "".join(f"c.{key} = {value!r}\n" for key, value in settings.items())


class Hub:
    """A running JupyterHub and its REST API, as the benchmark's admin service."""

    def __init__(self, folder: Path, classroom: Path, proxy: Path):
        from tornado.httpclient import AsyncHTTPClient

        self.port, self.token = free_port(), uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "jupyterhub_config.py"
        config.write_text(hub_config(folder, self.port, self.token, classroom, proxy))
        self.log = open(folder / "jupyterhub.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=folder,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.http = AsyncHTTPClient()

    async def api(self, method: str, path: str, body=None, timeout: float = 60):
        """One request to ``path`` (under the hub's URL) as the service; the decoded JSON reply."""
        response = await self.http.fetch(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"},
            body=None if body is None and method != "POST" else json.dumps(body or {}),
            request_timeout=timeout, raise_error=True, allow_nonstandard_methods=True)
        return json.loads(response.body) if response.body else None

    async def wait_ready(self, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited ({self.process.returncode}); see {self.log.name}")
            try:
                return await self.api("GET", "/hub/api/")
            except Exception:  # not listening yet
                await asyncio.sleep(1)
        raise TimeoutError(f"JupyterHub did not answer in {timeout} s; see {self.log.name}")

    async def start_server(self, user: str, timeout: float = 300) -> float:
        """Start ``user``'s server; seconds until it is ready."""
        start = time.monotonic()
        await self.api("POST", f"/hub/api/users/{user}/server")
        while time.monotonic() - start < timeout:
            model = await self.api("GET", f"/hub/api/users/{user}")
            if model["servers"].get("", {}).get("ready"):
                return time.monotonic() - start
            await asyncio.sleep(1)
        raise TimeoutError(f"{user}'s server was not ready in {timeout} s")

    def stop(self):
        """Stop the hub and everything it started (its process group), firmly if need be."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


async def execute(websocket, session: str, code: str, timeout: float) -> tuple[str | None, str]:
    """Run ``code`` in the kernel: (error or None, printed text)."""
    msg_id = uuid.uuid4().hex
    await websocket.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                   "username": "bench", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    error, text, replied, idle = None, [], False, False
    deadline = time.monotonic() + timeout
    while not (replied and idle):
        raw = await asyncio.wait_for(websocket.read_message(), max(1.0, deadline - time.monotonic()))
        if raw is None:
            return "the kernel's websocket closed", "".join(text)
        if isinstance(raw, bytes):  # a message with binary buffers (widgets): none of ours
            continue
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["header"]["msg_type"], message["content"]
        if kind == "stream":
            text.append(content["text"])
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
        elif kind == "execute_reply":
            replied = True
            if content["status"] != "ok" and error is None:
                error = content.get("ename", content["status"])
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    return error, "".join(text)


async def run_notebook(hub: Hub, user: str, path: Path) -> dict:
    """Execute one notebook in a fresh kernel of ``user``'s server: seconds, memory, failure."""
    import nbformat
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    base = f"/user/{user}/api/kernels"
    start = time.monotonic()
    record, kernel = {"notebook": path.name, "failure": None}, None
    try:
        kernel = await hub.api("POST", base, {"name": "python3"})
        request = HTTPRequest(f"ws://127.0.0.1:{hub.port}{base}/{kernel['id']}/channels",
                              headers={"Authorization": f"token {hub.token}"})
        websocket = await websocket_connect(request)
        session = uuid.uuid4().hex
        for number, code in enumerate([PROBE_START, *cells]):
            error, _ = await execute(websocket, session, code, CELL_TIMEOUT_S)
            if error:
                record["failure"] = f"code cell {number}: {error}"
                break
        record["seconds"] = round(time.monotonic() - start, 1)
        _, text = await execute(websocket, session, PROBE_END + "\n" + SERVER_PROBE, 60)
        peak, private, _ = memory_from_outputs([{"text": text}])
        _, pid, server = next(line for line in text.splitlines() if line.startswith("SERVER")).split()
        record.update(peak_mb=peak, private_mb=private, server_mb=int(server), server_pid=int(pid))
        websocket.close()
    except Exception as error:  # a failure is a result here: record it and go on
        record["failure"] = record["failure"] or f"{type(error).__name__}: {error}"
        record.setdefault("seconds", round(time.monotonic() - start, 1))
    finally:
        if kernel is not None:
            await hub.api("DELETE", f"{base}/{kernel['id']}")
    return record


async def attendee(hub: Hub, user: str, notebooks: list[Path]) -> list[dict]:
    """One attendee's lessons, in order."""
    return [await run_notebook(hub, user, path) for path in notebooks]


def memory_available_mb() -> int:
    meminfo = Path("/proc/meminfo").read_text()
    return int(next(line for line in meminfo.splitlines() if line.startswith("MemAvailable")).split()[1]) // 1024


async def lowest_available(stop: asyncio.Event) -> int:
    """The lowest MemAvailable (MB) seen every second until ``stop`` is set."""
    lowest = memory_available_mb()
    while not stop.is_set():
        lowest = min(lowest, memory_available_mb())
        await asyncio.sleep(1)
    return lowest


async def one_class(hub: Hub, n: int, notebooks: list[Path]) -> dict:
    """N attendees: start their servers, run their lessons at once, stop and remove them."""
    users = [f"attendee{n}x{i}" for i in range(n)]
    before = memory_available_mb()
    await hub.api("POST", "/hub/api/users", {"usernames": users})
    try:
        spawn = await asyncio.gather(*(hub.start_server(user) for user in users))
        stop = asyncio.Event()
        sampler = asyncio.create_task(lowest_available(stop))
        started = time.monotonic()
        lessons = await asyncio.gather(*(attendee(hub, user, notebooks) for user in users))
        wall = time.monotonic() - started
        stop.set()
        lowest = await sampler
    finally:
        for user in users:
            await hub.api("DELETE", f"/hub/api/users/{user}/server", timeout=120)
            await hub.api("DELETE", f"/hub/api/users/{user}")
    return {"users": n, "spawn_seconds": [round(s, 1) for s in spawn], "wall_seconds": round(wall, 1),
            "machine_mb_used": before - lowest, "load_average": os.getloadavg()[0],
            "attendees": dict(zip(users, lessons))}


def summary(run: dict) -> str:
    """One table row: N, per-attendee peaks, wall time per notebook (mean), failures."""
    records = [r for lessons in run["attendees"].values() for r in lessons]
    peaks = [max(r.get("peak_mb", 0) for r in lessons) for lessons in run["attendees"].values()]
    privates = [max(r.get("private_mb", 0) for r in lessons) for lessons in run["attendees"].values()]
    servers = [max(r.get("server_mb", 0) for r in lessons) for lessons in run["attendees"].values()]
    times = {}
    for record in records:
        times.setdefault(record["notebook"][:2], []).append(record["seconds"])
    walls = " ".join(f"{sum(v) / len(v):6.1f}" for _, v in sorted(times.items()))
    failures = sum(r["failure"] is not None for r in records)
    return (f"{run['users']:3d} {max(peaks):9d} {max(privates):9d} {max(servers):8d} {walls} "
            f"{run['wall_seconds']:8.1f} {run['machine_mb_used']:9d} {failures:4d}")


async def benchmark(args, notebooks: list[Path], classroom: Path, runs: list[dict]) -> None:
    """One hub; for each class size, a class; ``runs`` gets each class's record as it ends."""
    hub = Hub(args.folder / "hub", classroom, args.proxy)
    try:
        await hub.wait_ready()
        for n in args.users:
            runs.append(await one_class(hub, n, notebooks))
            print(summary(runs[-1]), flush=True)
            for records in runs[-1]["attendees"].values():
                for record in records:
                    if record["failure"]:
                        print(f"    {record['notebook']}: {record['failure']}", flush=True)
    finally:
        hub.stop()
        stop_leftover_servers(runs)


def stop_leftover_servers(runs: list[dict]) -> None:
    """Stop any attendee's server (by the pid its kernels reported) that the hub left running."""
    pids = {r["server_pid"] for run in runs for lessons in run["attendees"].values() for r in lessons
            if "server_pid" in r}
    for pid in pids:
        try:
            if b"jupyterhub.singleuser" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
        except (FileNotFoundError, ProcessLookupError):
            pass  # gone, as it should be


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 2, 4, 8], help="class sizes, in order")
    parser.add_argument("--folder", type=Path, default=Path("build/classroom-bench"),
                        help="the benchmark's folder: hub state, attendees' homes, results")
    parser.add_argument("--classroom", type=Path, default=Path("build/classroom-bench/classroom"),
                        help="the prepared classroom folder (prepared there if missing)")
    parser.add_argument("--proxy", type=Path,
                        default=Path("build/classroom-bench/node/node_modules/.bin/configurable-http-proxy"),
                        help="configurable-http-proxy, from npm")
    parser.add_argument("--notebooks", nargs="+", default=NOTEBOOKS, help="the lessons each attendee runs")
    parser.add_argument("--minutes", type=float, default=25, help="stop after this long, finished or not")
    args = parser.parse_args()
    args.folder, args.classroom, args.proxy = args.folder.resolve(), args.classroom.resolve(), args.proxy.resolve()
    if not args.proxy.is_file():
        sys.exit(f"No proxy at {args.proxy}: npm install --prefix build/classroom-bench/node "
                 f"configurable-http-proxy@5")

    from rsna_workshop.workshop.classroom import ENV_FILE, prepare_classroom
    from rsna_workshop.workshop.runner import select_notebooks

    if not (args.classroom / ENV_FILE).is_file():
        prepare_classroom(args.classroom)
    notebooks = select_notebooks(args.notebooks)
    print(f"{'N':>3s} {'peak MB':>9s} {'private':>9s} {'server':>8s} "
          + " ".join(f"{'nb' + n + ' s':>6s}" for n in args.notebooks)
          + f" {'all s':>8s} {'machine':>9s} {'fail':>4s}")
    runs: list[dict] = []
    try:
        asyncio.run(asyncio.wait_for(benchmark(args, notebooks, args.classroom, runs), args.minutes * 60))
    except TimeoutError:
        print(f"Stopped after {args.minutes} minutes (--minutes), with {len(runs)} class size(s) done.")
    out = args.folder / "bench_classroom.json"
    out.write_text(json.dumps(runs, indent=1))
    print(f"per attendee and notebook: {out}")


if __name__ == "__main__":
    main()
