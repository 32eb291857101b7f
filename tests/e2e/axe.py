"""axe-core in a real page: the serious and critical accessibility violations, readably.

axe-core comes from the npm registry (package-lock.json pins it; `npm ci` installs it in
node_modules). Without it the browser walks skip their accessibility checks on a laptop;
CI sets TRELLIS_REQUIRE_SERVICES=1 and then a missing axe fails the run.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

# Runs axe on the whole document and keeps what a reader needs: the rule, its impact, what
# it asks for, and where (a few selectors and the first failure summary).
_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 4).map(n => ({
            target: n.target.join(' '),
            summary: (n.failureSummary || '').split('\\n').slice(1, 3).map(s => s.trim()).join(' '),
        })),
        more: Math.max(0, v.nodes.length - 4),
    }));
}"""


@cache
def axe_source() -> str | None:
    """The axe-core script, or None where node_modules is missing (and CI does not insist)."""
    if AXE.exists():
        return AXE.read_text()
    if os.environ.get("TRELLIS_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
        raise AssertionError("node_modules/axe-core is missing: run `npm ci`")
    return None


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now ([] without axe).

    The script is evaluated through the browser's debugging protocol, which the page's own
    Content-Security-Policy does not govern, so the walks keep the real policy on.
    """
    source = axe_source()
    if source is None:
        return []
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    found = page.evaluate(_RUN)
    return [v for v in found if v["impact"] in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line a rule, then one indented line a failing element."""
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"]:
            lines.append(f"      {node['target']}  ({node['summary']})")
        if v["more"]:
            lines.append(f"      ... and {v['more']} more")
    return "\n".join(lines)
