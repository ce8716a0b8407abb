"""Loading user YAML (recipes, mixtures, reference configs) without its traps.

``yaml.safe_load`` accepts three things a configuration file should not have:

- aliases that expand without limit ("billion laughs": nine anchors of ten aliases each make
  10^9 nodes, which PyYAML shares but every later walk, merge or hash of the data expands);
- a key twice in one mapping (the last silently wins);
- nesting deep enough to exhaust Python's stack in the composer (libyaml, used when
  present, stops at depth 1000 and is fast; PyYAML's own scanner is quadratic in the depth).

:func:`load_yaml` refuses each with one line naming the file and the cause.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

# Nodes after expanding aliases: a large recipe has a few thousand.
MAX_EXPANDED_NODES = 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlRefused(ValueError):
    """YAML that is valid syntax but refused; the message is one line."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # merge keys may override; complex keys are refused by the base class
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise YamlRefused(
                    f"duplicate key {key!r} at line {line} (first at line {first_line[key]})"
                )
            first_line[key] = line
        return super().construct_mapping(node, deep)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def expanded_size(root: Node) -> int:
    """Nodes in ``root`` with every alias expanded, counted once per shared node (iteratively:
    the tree may be deep)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    pending: list[tuple[Node, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), MAX_EXPANDED_NODES + 1)
            open_nodes.discard(id(node))
            continue
        if id(node) in open_nodes:
            raise YamlRefused("an alias refers to a node that contains it")
        open_nodes.add(id(node))
        pending.append((node, True))
        pending.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_yaml(text: str) -> Any:
    """The data of one YAML document; ``YamlRefused`` or ``yaml.YAMLError`` when refused."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if expanded_size(root) > MAX_EXPANDED_NODES:
            raise YamlRefused(
                f"more than {MAX_EXPANDED_NODES} nodes once aliases are expanded (an alias bomb?)"
            )
        return loader.construct_document(root)
    except RecursionError:
        raise YamlRefused("nested too deeply") from None
    finally:
        loader.dispose()
