"""The one way we read YAML (front matter, sidecars, expert profiles, the taxonomy): safe, and plain.

yaml's ``SafeLoader`` builds only plain data, but it still follows anchors and aliases: a few lines
that alias a list of aliases of lists ("billion laughs") expand to billions of items. People writing
metadata never need them, so a node with an anchor (``&naam``) or an alias (``*naam``) is refused while
the document is composed, before anything is built; so is nesting too deep for the parser's recursion.
Callers catch ``yaml.YAMLError`` as they do for any broken YAML.

>>> load_yaml_strict("title: Verslag\\nateliers: [armoede]")
{'title': 'Verslag', 'ateliers': ['armoede']}
>>> try:
...     load_yaml_strict("a: &x [1]\\nb: *x")
... except yaml.YAMLError as exc:
...     print(exc.problem, "- regel", exc.problem_mark.line + 1)
ankers en verwijzingen (&naam, *naam) zijn niet toegestaan - regel 1
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import Node


class UnsafeYamlError(yaml.MarkedYAMLError):
    """YAML that plain metadata never needs and an attack does."""


class _StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise UnsafeYamlError(problem="ankers en verwijzingen (&naam, *naam) zijn niet toegestaan",
                                  problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def load_yaml_strict(text: str) -> Any:
    """Like ``yaml.safe_load``, but anchors, aliases and absurd nesting raise ``UnsafeYamlError``."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise UnsafeYamlError(problem="te diep geneste YAML") from None
    finally:
        loader.dispose()
