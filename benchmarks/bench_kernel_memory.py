"""Peak memory of one attendee's notebook kernels: notebooks 1-5 in sequence, one fresh kernel each.

Each notebook runs as ``rsna-workshop notebooks run`` runs it, with one extra cell at its end that
reads the kernel's own peak resident memory (``VmHWM`` in ``/proc/self/status``, Linux only). The
peak of an attendee who shuts each kernel down when the lesson is done is the largest of these; one
who leaves every kernel running holds their sum (the last column). Target (issue 15): <= 1 GB.

    RSNA_WORKSHOP_WEIGHTS=... .venv/bin/python benchmarks/bench_kernel_memory.py [--names 1 2 3 4 5]

It uses the data folder and caches of the environment (``RSNA_WORKSHOP_DATA``,
``RSNA_WORKSHOP_CACHE``, ``RSNA_WORKSHOP_SHARED_CACHE``); run it once to fill the cache, then
again for the warm figures an attendee meets after ``rsna-workshop classroom prepare``.
"""

from __future__ import annotations

import argparse
import time

TARGET_MB = 1000
#: The cell appended to each notebook: prints the kernel's peak and current resident memory in MB.
PEAK_CELL = (
    "import re as _re\n"
    "_status = open('/proc/self/status').read()\n"
    "print('KERNEL_MEMORY_MB', *(int(_re.search(rf'{key}:\\s+(\\d+)', _status)[1]) // 1024 "
    "for key in ('VmHWM', 'VmRSS')))"
)


def peak_from_outputs(outputs: list[dict]) -> tuple[int, int]:
    """(peak MB, current MB) from the outputs of :data:`PEAK_CELL`."""
    for output in outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith("KERNEL_MEMORY_MB"):
                peak, now = line.split()[1:3]
                return int(peak), int(now)
    raise RuntimeError(f"no KERNEL_MEMORY_MB line in {outputs}")


def run_one(path, timeout: int) -> tuple[float, int, int]:
    """Execute ``path`` in a fresh kernel with :data:`PEAK_CELL` appended: seconds, peak, current MB."""
    import nbformat
    from nbclient import NotebookClient

    from rsna_workshop.workshop.runner import _kernel_manager

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    client = NotebookClient(notebook, km=_kernel_manager(), timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute(cleanup_kc=True)
    seconds = time.perf_counter() - start
    return (seconds, *peak_from_outputs(notebook.cells[-1].outputs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="+", default=["1", "2", "3", "4", "5"], help="notebooks to run")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args()

    from rsna_workshop.workshop.runner import select_notebooks

    print(f"{'notebook':36s} {'seconds':>8s} {'peak MB':>8s} {'end MB':>8s} {'all kept MB':>12s}")
    peaks, kept = [], 0
    for path in select_notebooks(args.names):
        seconds, peak, now = run_one(path, args.timeout)
        peaks.append(peak)
        kept += now
        print(f"{path.name:36s} {seconds:8.1f} {peak:8d} {now:8d} {kept:12d}", flush=True)
    print(f"largest kernel peak: {max(peaks)} MB ({max(peaks) / TARGET_MB:.2f} of the {TARGET_MB} MB target); "
          f"every kernel left running: {kept} MB")


if __name__ == "__main__":
    main()
