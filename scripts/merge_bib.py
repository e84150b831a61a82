"""Merge the BibTeX files in .bib_parts/ into references.bib, one entry per key (maintainer tool)."""

import re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
entries: dict[str, str] = {}
for part in sorted((root / ".bib_parts").glob("*.bib")):
    for m in re.finditer(r"@\w+\{([^,]+),.*?\n\}", part.read_text(), re.S):
        entries.setdefault(m.group(1).strip(), m.group(0))
(root / "references.bib").write_text("\n\n".join(entries[k] for k in sorted(entries)) + "\n")
print(f"references.bib: {len(entries)} entries")
