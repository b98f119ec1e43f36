"""The stream viewer in a real kernel with a live frontend's rules (not test mode).

Display first, then change: the widget is displayed before its thread starts;
the thread changes widget state only, so no cell gets stray printed output;
``stop()`` ends the thread.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from streamlab.tooling.run_notebooks import execute

CELLS = [
    """
import time
import streamlab
from streamlab.aws import streams, tables
from streamlab.widgets import StreamViewer
lab = streamlab.connect()
name = lab.name("KernelViewer")
tables.delete_table(lab, name)
tables.create_table(lab, name, hash_key=("RecordID", "N"), stream_view_type="NEW_IMAGE")
viewer = StreamViewer(lab, streams.stream_arn(lab, name), interval=0.05)
assert not viewer.headless
""",
    "viewer.show()\nviewer.start()",
    "tables.put_items(lab, name, [{'RecordID': n} for n in range(3)])",
    """
deadline = time.monotonic() + 30
while len(viewer.changes) < 3 and time.monotonic() < deadline:
    time.sleep(0.05)
""",
    "viewer.stop()\nprint(viewer.running, len(viewer.changes), 'INSERT' in viewer._table.value)",
]


def test_live_viewer_in_a_kernel_displays_first_and_never_prints(
    emulator: str, tmp_path: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source.strip()) for source in CELLS]
    result = execute(nb, env={"LAB_TEST_MODE": "0"}, cwd=tmp_path, allow_errors=False)
    cells = result.notebook.cells
    shown = cells[1].outputs
    assert [o.output_type for o in shown] == ["display_data"]
    assert "application/vnd.jupyter.widget-view+json" in shown[0].data
    for cell in cells[:4]:
        assert not [o for o in cell.outputs if o.output_type == "stream"], cell.source
    assert cells[4].outputs[0].text == "False 3 True\n"
