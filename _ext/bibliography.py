"""One citation style in the text and in the list, and a list that assistive technology reads.

The chapters cite author-year (``bibtex_reference_style: author_year``: "(Howard et al., 2017)"),
but sphinxcontrib-bibtex labels the bibliography with pybtex's default *alpha* labels
("[HZC+17]"), so a reader who follows a citation lands on a label that looks like neither. This
extension registers a pybtex formatting style, ``author_year``, whose labels are the same
author-year text, built with sphinxcontrib-bibtex's own name templates (one author: "Chollet,
2017"; two: "Zagoruyko and Komodakis, 2016"; more: "Howard et al., 2017"; a letter tells apart
two entries that would get the same label) and whose list is sorted by author and year.
``_config.yml`` selects it with ``bibtex_default_style: author_year``.

docutils writes each citation as ``<div role="doc-biblioentry">`` inside ``<div role="list">``:
the DPub role is deprecated in ARIA, and a list whose children have no ``listitem`` role is
an error for screen readers (axe-core: aria-required-children, critical). The citation nodes
are written here as list items of that list instead.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Iterator
from types import SimpleNamespace

import pybtex.plugin
from docutils import nodes
from pybtex.database import Entry
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.template import author_or_editor_or_title, join
from sphinxcontrib.bibtex.style.template import field as bib_field

NAME = "author_year"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels as the text cites: "Howard et al., 2017", with a, b... for equal labels."""

    _template = join(sep=", ")[author_or_editor_or_title(sep=", ", sep2=" and ", last_sep=", and ",
                                                        other=" et al."),
                               bib_field("year")]
    _data = {"style": SimpleNamespace(person=PersonStyle())}

    def label(self, entry: Entry) -> str:
        return self._template.format_data({**self._data, "entry": entry}).render_as("text")

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        labels = [self.label(e) for e in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                label += string.ascii_lowercase[seen[label] - 1]
            yield label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt entries, labelled author-year, listed by author, year and title."""

    default_label_style = NAME
    default_sorting_style = "author_year_title"


def visit_citation(self, node: nodes.citation) -> None:
    """docutils' ``visit_citation`` with the ARIA role of a list item."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def depart_citation(self, node: nodes.citation) -> None:
    self.body.append("</div>\n")
    if not isinstance(node.next_node(descend=False, siblings=True), type(node)):
        self.body.append("</div>\n")


def setup(app: Sphinx) -> dict:
    pybtex.plugin.register_plugin("pybtex.style.labels", NAME, AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle, force=True)
    app.add_node(nodes.citation, override=True, html=(visit_citation, depart_citation))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
