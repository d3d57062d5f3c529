"""The one YAML reader for files users edit (fleet files, ``Pulumi.<stack>.yaml``).

PyYAML's ``safe_load`` builds whatever the text describes. Three things in untrusted text make
that cost unbounded, so each is bounded while the document is composed, before any Python
object exists:

    size       more than ``max_bytes`` of text is refused unread
    depth      nesting deeper than ``MAX_DEPTH`` (``[[[[…`` would exhaust Python's stack)
    expansion  more than ``MAX_NODES`` nodes once aliases are counted as the copies they stand
               for (a few hundred bytes of nested ``*alias`` lists expand to billions of nodes
               in anything that walks the result: validation, JSON, hashing)

and duplicate keys in a mapping are refused with both line numbers (PyYAML keeps the last one
silently). Every refusal is a ``YamlError`` whose message names the line.
"""
from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from placement.errors import InputError

MAX_BYTES = 8 * 1024 * 1024   # a stack file with a 1,000-model plan is about 2 MB
MAX_DEPTH = 64                # fleet files and stack files nest at most ~8 levels
MAX_NODES = 1_000_000         # after alias expansion; a 1,000-model plan has ~60,000


class YamlError(InputError):
    """Text that is not YAML this roost will read; the message starts with the source."""


class _LimitExceeded(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and alias-expanded nodes as it composes, and refuses
    duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._anchor_sizes: dict[str, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._count(self._anchor_sizes.get(event.anchor or "", 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _LimitExceeded(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        start = self._nodes
        self._count(1, event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        anchor = getattr(event, "anchor", None)
        if anchor:
            self._anchor_sizes[anchor] = self._nodes - start
        return node

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise _LimitExceeded(f"expands to more than {MAX_NODES:,} values (through aliases or sheer size)", mark)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not key_node:
                raise ConstructorError(None, None, f"duplicate key {key!r} (first on line "
                                       f"{first.start_mark.line + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str | bytes, source: str, *, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one YAML document from untrusted text, within the bounds above."""
    if len(text) > max_bytes:
        raise YamlError(f"{source}: is {len(text):,} bytes; roost reads at most {max_bytes:,}")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(f"{source}: is not UTF-8 text (byte {exc.start}); is it a binary file?") from None
    loader = None
    try:
        loader = _BoundedLoader(text)  # its reader already refuses control characters
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: {describe(exc)}") from None
    except RecursionError:  # a safety net: MAX_DEPTH keeps well under the interpreter's limit
        raise YamlError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def describe(exc: yaml.YAMLError) -> str:
    """'line L, column C: invalid YAML: problem' from any PyYAML error."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}invalid YAML: {problem}"


def read_yaml_file(path: Any, source: str | None = None, *, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse a user's YAML file; a directory, unreadable or binary file is a YamlError."""
    from pathlib import Path

    p = Path(path)
    name = source or str(p)
    try:
        if p.is_dir():
            raise YamlError(f"{name}: is a directory, not a YAML file")
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise YamlError(f"{name}: not found") from None
    except OSError as exc:
        raise YamlError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return load_yaml(data, name, max_bytes=max_bytes)
