"""How much of a notebook's output is kept: a cap per cell and per notebook that never hides a failure.

Text (stdout, displays, results) is kept up to ``CELL_CHARS`` per cell and ``NOTEBOOK_CHARS``
per notebook; what is cut is counted and said. What decides a grade is always kept, past the
caps: every cell's first error outputs (shortened) and the start of its stderr, because nbgrader
scores a test cell 0 when it has an error or wrote to stderr. A cell that printed a megabyte and
then raised therefore still fails. A small reserve bounds even those, per notebook.

Imports nothing but the standard library: it runs inside the sandbox, in the notebook's process.
"""

from __future__ import annotations

import json

CELL_CHARS = 1_000_000  # text kept per cell
NOTEBOOK_CHARS = 4_000_000  # text kept per notebook
STDERR_KEEP = 2_000  # characters of stderr kept per cell whatever the caps
ERRORS_PER_CELL = 3  # error outputs kept per cell (one is enough to fail it)
EVALUE_KEEP = 2_000
TRACEBACK_KEEP = 8_000
RESERVE_CHARS = 1_000_000  # errors and stderr kept past the caps, per notebook; then only a short form
SHORT = 200


def _size(output: dict) -> int:
    return len(json.dumps(output, ensure_ascii=False, default=str))


def _short_traceback(lines: list, keep: int) -> list[str]:
    lines = [str(x) for x in lines]
    if sum(len(x) for x in lines) <= keep:
        return lines
    head: list[str] = []
    tail: list[str] = []
    used = 0
    for line in lines[:3]:
        head.append(line[: keep // 4])
        used += len(head[-1])
    for line in reversed(lines[3:]):
        if used + len(line) > keep:
            break
        tail.insert(0, line)
        used += len(line)
    return head + ["... (traceback shortened by the autograder) ..."] + tail


class OutputBudget:
    """Outputs of one notebook, cell by cell, in nbformat v4 form."""

    def __init__(self, cell_chars: int = CELL_CHARS, notebook_chars: int = NOTEBOOK_CHARS):
        self.cell_chars, self.notebook_chars = cell_chars, notebook_chars
        self.total = 0  # text kept in the notebook
        self.reserve = 0  # errors and stderr kept past the caps
        self._new_cell()

    def _new_cell(self) -> None:
        self.outputs: list[dict] = []
        self.chars = 0
        self.dropped = 0
        self.stderr_kept = 0
        self.errors = 0
        self.errors_dropped = 0

    def _room(self) -> int:
        return max(0, min(self.cell_chars - self.chars, self.notebook_chars - self.total))

    def _append_stream(self, name: str, text: str) -> None:
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        name = "stderr" if name == "stderr" else "stdout"
        room = self._room()
        kept = text[:room]
        self.chars += len(kept)
        self.total += len(kept)
        rest = text[room:]
        if name == "stderr":
            self.stderr_kept += len(kept)
            if rest and self.stderr_kept < STDERR_KEEP:
                # past the caps, stderr still shows: it fails a test cell
                extra = rest[: STDERR_KEEP - self.stderr_kept]
                if self.reserve + len(extra) > RESERVE_CHARS:
                    extra = extra[:1]
                self.stderr_kept += len(extra)
                self.reserve += len(extra)
                kept += extra
                rest = rest[len(extra):]
        self.dropped += len(rest)
        if kept:
            self._append_stream(name, kept)

    def add(self, output: dict) -> None:
        """A display_data, execute_result or error output."""
        if output.get("output_type") == "error":
            self._add_error(output)
            return
        size = _size(output)
        if size > self._room():
            self.dropped += size
            return
        self.chars += size
        self.total += size
        self.outputs.append(output)

    def _add_error(self, output: dict) -> None:
        if self.errors >= ERRORS_PER_CELL:
            self.errors_dropped += 1
            return
        self.errors += 1
        tb = output.get("traceback")
        tb = tb if isinstance(tb, list) else []
        error = {"output_type": "error", "ename": str(output.get("ename", "Error"))[:SHORT],
                 "evalue": str(output.get("evalue", ""))[:EVALUE_KEEP],
                 "traceback": _short_traceback(tb, TRACEBACK_KEEP)}
        size = _size(error)
        if self.reserve + size > RESERVE_CHARS:
            error = {"output_type": "error", "ename": error["ename"], "evalue": error["evalue"][:SHORT],
                     "traceback": []}
            size = _size(error)
        self.reserve += size
        self.outputs.append(error)

    def has_error(self) -> bool:
        return self.errors > 0

    def clear(self) -> None:
        """IPython's clear_output: removes this cell's displays and text, never its errors."""
        kept = [o for o in self.outputs if o["output_type"] == "error"]
        freed = self.chars
        self.outputs = kept
        self.chars = 0
        self.total -= freed

    def take(self) -> list[dict]:
        """The cell's outputs, with a note of what was cut; the next cell starts."""
        notes = []
        if self.dropped:
            notes.append(f"{self.dropped} characters of output")
        if self.errors_dropped:
            notes.append(f"{self.errors_dropped} more error outputs")
        outputs = self.outputs
        if notes:
            # a note on stdout: it must not change the grade (stderr would fail the cell)
            outputs.append({"output_type": "stream", "name": "stdout",
                            "text": f"\n[autograder: {' and '.join(notes)} not kept]\n"})
        self._new_cell()
        return outputs
