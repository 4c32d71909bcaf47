"""The README's picture of a night is the nightly DAG's task graph, and the README stays a front door.

The picture is a mermaid flowchart whose `daybreak_nightly` subgraph has one node per task id and the DAG's edges
between them; data drawn outside the subgraph (the export, the readers) may only flow into or out of a task. A task
added, removed or rewired in `dags/daybreak_nightly.py` fails this test until the README draws it.
"""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
# `a --> b`, `a -.-> b`, either with a `|label|`
ARROW = re.compile(r"\s*-\.?->\s*(?:\|[^|]*\|\s*)?")
NODE = re.compile(r"[A-Za-z_]\w*")


def picture(text: str) -> tuple[set[str], set[tuple[str, str]], set[tuple[str, str]]]:
    """The first mermaid block of `text`: the nodes and edges inside the `daybreak_nightly` subgraph, and the
    edges outside it.

    Args:
        text: a Markdown document.

    Returns:
        (nodes, edges) of the subgraph, and the edges drawn outside it.
    """
    block = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    outside: set[tuple[str, str]] = set()
    inside = False
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("subgraph daybreak_nightly"):
            inside = True
        elif line == "end":
            inside = False
        elif line and not line.startswith(("flowchart", "%%", "subgraph", "classDef", "class ", "style ")):
            ids = [NODE.match(part).group(0) for part in ARROW.split(line)]
            pairs = set(zip(ids, ids[1:], strict=False))
            if inside:
                nodes.update(ids)
                edges |= pairs
            else:
                outside |= pairs
    return nodes, edges, outside


def test_the_picture_reads_nodes_and_edges_inside_the_subgraph_only():
    text = (
        "intro\n```mermaid\nflowchart LR\n  src[(export)] --> a\n"
        '  subgraph daybreak_nightly["the DAG"]\n    a["a<br/>lands"] --> b{"b?"}\n'
        "    b -.-> c\n    b -->|always| d --> e\n  end\n  e --> readers\n```\n"
    )
    nodes, edges, outside = picture(text)
    assert nodes == {"a", "b", "c", "d", "e"}
    assert edges == {("a", "b"), ("b", "c"), ("b", "d"), ("d", "e")}
    assert outside == {("src", "a"), ("e", "readers")}


def test_the_readme_draws_the_nightly_dags_tasks_and_edges():
    from dags.daybreak_nightly import nightly

    tasks = {task.task_id for task in nightly.tasks}
    dependencies = {(task.task_id, after) for task in nightly.tasks for after in task.downstream_task_ids}
    nodes, edges, outside = picture(README.read_text(encoding="utf-8"))

    assert nodes == tasks, f"README lacks tasks {tasks - nodes}, draws unknown ones {nodes - tasks}"
    assert edges == dependencies, (
        f"README lacks edges {dependencies - edges}, draws wrong ones {edges - dependencies}"
    )
    for source, target in outside:
        assert (source in tasks) != (target in tasks), (
            f"{source} --> {target}: task edges belong in the subgraph"
        )


def test_the_readme_is_a_front_door():
    """At most 150 lines: what Daybreak is, the two commands, a night, where to go next; the rest is in docs/."""
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150
