"""Peak memory of one attendee's notebook kernels: notebooks 1-5 in sequence, one fresh kernel each.

Each notebook runs as ``rsna-workshop notebooks run`` runs it, with a probe cell before and after
it: the kernel's peak resident memory (``VmHWM`` in ``/proc/self/status``, Linux only) and its
peak private memory (``RssAnon``, sampled every 50 ms; the rest is shared libraries, which every
kernel on a machine shares). The peak of an attendee who shuts each kernel down when the lesson
is done is the largest of these; one who leaves every kernel running holds their sum (the last
column, resident memory at the end). Target (issue 15): <= 1 GB.

    RSNA_WORKSHOP_WEIGHTS=... .venv/bin/python benchmarks/bench_kernel_memory.py [--names 1 2 3 4 5]

It uses the data folder and caches of the environment (``RSNA_WORKSHOP_DATA``,
``RSNA_WORKSHOP_CACHE``, ``RSNA_WORKSHOP_SHARED_CACHE``); run it once to fill the cache, then
again for the warm figures an attendee meets after ``rsna-workshop classroom prepare``.
"""

from __future__ import annotations

import argparse
import time

TARGET_MB = 1000
#: Put first in a notebook: a thread that samples the kernel's private memory (``RssAnon``: what
#: this kernel alone holds; the rest of its resident memory is shared libraries, mapped once per
#: machine for every kernel) every 50 ms.
PROBE_START = (
    "import re as _re, threading as _threading, time as _time\n"
    "def _memory_mb(key):\n"
    "    return int(_re.search(key + r':\\s+(\\d+)', open('/proc/self/status').read())[1]) // 1024\n"
    "_private_peak = [0]\n"
    "def _sample(peak=_private_peak, memory_mb=_memory_mb, sleep=_time.sleep):\n"
    "    try:\n"
    "        while True:\n"
    "            peak[0] = max(peak[0], memory_mb('RssAnon'))\n"
    "            sleep(0.05)\n"
    "    except Exception:  # the kernel is shutting down\n"
    "        pass\n"
    "_threading.Thread(target=_sample, daemon=True).start()"
)
#: Put last: prints the kernel's peak resident memory, its sampled peak private memory and its
#: resident memory now, in MB.
PROBE_END = "print('KERNEL_MEMORY_MB', _memory_mb('VmHWM'), _private_peak[0], _memory_mb('VmRSS'))"


def probed(cells: list) -> list:
    """``cells`` (nbformat code cells) with :data:`PROBE_START` first and :data:`PROBE_END` last."""
    import nbformat

    return [nbformat.v4.new_code_cell(PROBE_START), *cells, nbformat.v4.new_code_cell(PROBE_END)]


def memory_from_outputs(outputs: list[dict]) -> tuple[int, int, int]:
    """(peak MB, private peak MB, current MB) from the outputs of :data:`PROBE_END`."""
    for output in outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith("KERNEL_MEMORY_MB"):
                peak, private, now = line.split()[1:4]
                return int(peak), int(private), int(now)
    raise RuntimeError(f"no KERNEL_MEMORY_MB line in {outputs}")


def run_one(path, timeout: int) -> tuple[float, int, int, int]:
    """Execute ``path`` in a fresh kernel with the probes: seconds, peak, private peak, current MB."""
    import nbformat
    from nbclient import NotebookClient

    from rsna_workshop.workshop.runner import _kernel_manager

    notebook = nbformat.read(path, as_version=4)
    notebook.cells = probed(notebook.cells)
    client = NotebookClient(notebook, km=_kernel_manager(), timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute(cleanup_kc=True)
    seconds = time.perf_counter() - start
    return (seconds, *memory_from_outputs(notebook.cells[-1].outputs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="+", default=["1", "2", "3", "4", "5"], help="notebooks to run")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args()

    from rsna_workshop.workshop.runner import select_notebooks

    print(f"{'notebook':36s} {'seconds':>8s} {'peak MB':>8s} {'private':>8s} {'end MB':>8s} {'all kept':>9s}")
    peaks, privates, kept = [], [], 0
    for path in select_notebooks(args.names):
        seconds, peak, private, now = run_one(path, args.timeout)
        peaks.append(peak)
        privates.append(private)
        kept += now
        print(f"{path.name:36s} {seconds:8.1f} {peak:8d} {private:8d} {now:8d} {kept:9d}", flush=True)
    print(f"largest kernel peak: {max(peaks)} MB ({max(peaks) / TARGET_MB:.2f} of the {TARGET_MB} MB "
          f"target), private {max(privates)} MB; every kernel left running: {kept} MB")

if __name__ == "__main__":
    main()
