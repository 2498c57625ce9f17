"""Measure issue 24's cause: cell replies that nbclient reads only when its wait times out.

    python tests/stress/lost_wakeup.py                      # 100 cells of each kind, 3 s limit
    python tests/stress/lost_wakeup.py --kernel probe-k73   # another kernelspec (ipykernel 7.3)

Each kind of cell runs ``--cells`` times in one notebook, through nbclient's own client and
through the test harness's ``PromptClient``. A reply counts as late when the client took 80% of
the per-cell limit or more to read it: the kernel had answered (the cell's ``idle`` status came
first), so the wait was the limit running out, not the cell. Only cells that show an Output widget
(``widgets.interact``) make nbclient send on the shell channel, and only they are late; a kernel
that strands the request itself (ipykernel 7.0-7.3, ipython/ipykernel#1554) fails the run with a
timeout instead.
"""

from __future__ import annotations

import argparse
import time

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from f2p_tools.runner import PromptClient

SETUP = (
    "import ipywidgets as widgets\n"
    "from tqdm.auto import tqdm\n"
    "def show(k=0, setting='a'):\n"
    "    print(setting * (k + 1))"
)
CELLS = {
    "output widget (interact)": "widgets.interact(show, k=(0, 5), setting=['a', 'b']);",
    "progress bar widget": "for _ in tqdm(range(5)):\n    pass",
    "slider widget": "widgets.IntSlider(3)",
    "printing": "for i in range(30):\n    print(i)",
}


def late_replies(client_class: type[NotebookClient], source: str, args: argparse.Namespace):
    """Indices and waits of the cells whose reply came at 80% of the limit or later, and the
    run's seconds."""
    cells = [new_code_cell(SETUP)] + [new_code_cell(source) for _ in range(args.cells)]
    client = client_class(new_notebook(cells=cells), timeout=args.timeout, kernel_name=args.kernel)
    started: dict[int, float] = {}
    late: list[tuple[int, float]] = []

    def cell_done(cell: object, cell_index: int, execute_reply: object) -> None:
        wait = time.monotonic() - started[cell_index]
        if wait >= 0.8 * args.timeout:
            late.append((cell_index, round(wait, 1)))

    def cell_starts(cell: object, cell_index: int) -> None:
        started[cell_index] = time.monotonic()

    client.on_cell_start = cell_starts
    client.on_cell_executed = cell_done
    start = time.monotonic()
    client.execute()
    return late, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=100, help="cells of each kind")
    parser.add_argument("--timeout", type=int, default=3, help="per-cell limit, seconds")
    parser.add_argument("--kernel", default="python3", help="kernelspec name")
    args = parser.parse_args()
    for kind, source in CELLS.items():
        for client_class in (NotebookClient, PromptClient):
            late, seconds = late_replies(client_class, source, args)
            print(
                f"{kind:26} {client_class.__name__:14} late {len(late):3} of {args.cells} "
                f"({seconds:.0f} s) {late[:6]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
