"""What happened to each stack of a command, and the report of it: a summary, JSON and Markdown."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from shared.config import PROMOTION_ORDER, EnvironmentConfig
from shared.cost import plan as cost
from shared.files import owner_only, write_atomically
from shared.ops.engine.workdir import Stack
from shared.ops.runner import guard, widening
from shared.ops.runner.steps import Plan
from shared.ops.state_bucket.releases import revision_or_unknown
from shared.options import current
from shared.paths import REPORTS_DIR


class Status(StrEnum):
    """A stack's status in a command's summary and report (the words are the report's contract)."""

    NOT_RUN = "not run"
    PLANNED = "planned"
    NO_CHANGES = "no changes"
    APPLIED = "applied"
    DESTROYED = "destroyed"
    REFUSED = "refused"  # the data guard did not let its plan be applied
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    DRIFTED = "drifted"
    IN_SYNC = "in sync"
    UNCHANGED = "unchanged"  # its fingerprint equals the one recorded when it was last applied: skipped


# The statuses whose summary line shows the plan's counts, and below it one line per changed resource.
COUNTED = (Status.APPLIED, Status.PLANNED, Status.DESTROYED, Status.DRIFTED, Status.REFUSED)
# Terraform's symbols for a change's actions: a replacement reads as one, not as a create and a delete.
SYMBOLS = {
    ("create",): "+",
    ("update",): "~",
    ("delete",): "-",
    ("delete", "create"): "-/+",
    ("create", "delete"): "+/-",
}
FENCE = "`" * 3  # a Markdown code block's fence
# Where the summary sends a reader who asks what counts as widening.
WIDENING_DOC = "shared/ops/runner/widening.py"
# Characters of one stack's engine plan kept in the Markdown report (a pull-request comment holds 65536 in all).
PLAN_TEXT_KEPT = 12000
# Resource lines shown under one stack in the terminal before the rest is folded into a count (the report has all).
FOLD_AFTER = 20


def change_line(change: dict) -> str:
    """`-/+ aws_sqs_queue.dlq: name (forces replacement), tags`: the action, the address, and for an update or a
    replacement the attributes it changes, by name only (values can be secrets)."""
    symbol = SYMBOLS.get(tuple(change["actions"]), "/".join(change["actions"]))
    forcing = change.get("forces_replacement", [])
    named = [f"{a} (forces replacement)" if a in forcing else a for a in change.get("attributes", [])]
    named += [f"{a} (forces replacement)" for a in forcing if a not in change.get("attributes", [])]
    detail = f": {', '.join(named)}" if named and symbol not in ("+", "-") else ""
    return f"{symbol:>3} {change['address']}{detail}"


@dataclass
class Outcome:
    stack: Stack
    status: Status = Status.NOT_RUN
    add: int = 0
    change: int = 0
    destroy: int = 0
    error: str = ""
    note: str = ""  # e.g. "speculative: network-dev not deployed"
    addresses: list[str] = field(default_factory=list)  # what the plan changes
    seconds: float = 0.0
    precious: list[guard.Finding] = field(default_factory=list)  # what the plan destroys that is precious
    # Per changed resource: its actions and the names (never the values) of the attributes it changes.
    changes: list[dict] = field(default_factory=list)
    widens: list[widening.Widening] = field(default_factory=list)  # the IAM and network access the plan widens
    plan_text: str = ""  # the engine's own output of the plan, folded into the Markdown report
    refusal: str = ""  # why the guard (or a missing yes to a widening) did not let the plan be applied
    hint: str = ""  # what to do about a failure, when the tool knows (a state locked by another run)
    plan_document: dict = field(default_factory=dict, repr=False)  # the plan's `show -json`, priced by the report

    def as_dict(self, monthly_cost: dict | None) -> dict:
        """The stack's part of the JSON report; `monthly_cost` ({"before", "after", "currency"}, from
        Report.costs()) is the plan's effect on the bill."""
        return {
            "stack": self.stack.id,
            "status": self.status,
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "addresses": self.addresses,
            "seconds": round(self.seconds, 1),
            "note": self.note,
            "precious": [f.as_dict() for f in self.precious],
            "widens": [w.as_dict() for w in self.widens],
            "changes": self.changes,
            # Why it failed or was refused, as the terminal said it ("" otherwise): a script needs no log.
            "error": self.error,
            "refusal": self.refusal,
            "monthly_cost": monthly_cost,
        }

    def took(self, plan: Plan, precious: list[guard.Finding], widens: list[widening.Widening]) -> None:
        """What the stack's plan changes, as the summary and the reports show it, what of it is precious, and what
        access it widens."""
        self.add, self.change, self.destroy = plan.add, plan.change, plan.destroy
        self.changes, self.addresses = list(plan.changes), plan.addresses
        self.precious, self.widens = precious, widens
        self.plan_text = plan.text
        self.plan_document = plan.document

    def counts(self) -> str:
        return f"+{self.add} ~{self.change} -{self.destroy}"


def _precious_marker(found: list[guard.Finding]) -> str:
    """`PRECIOUS: destroys 1, weakens 2`: a lowered retention is marked as plainly as a deletion."""
    destroys, weakens = sum(not f.weakens for f in found), sum(f.weakens for f in found)
    parts = [f"destroys {destroys}" if destroys else "", f"weakens {weakens}" if weakens else ""]
    return f"PRECIOUS: {', '.join(filter(None, parts))}" if found else ""


# A status's colour on a terminal (ANSI): done green, stopped red, to be looked at yellow.
COLOURS = {
    Status.APPLIED: "32",
    Status.DESTROYED: "32",
    Status.IN_SYNC: "32",
    Status.NO_CHANGES: "32",
    Status.FAILED: "31",
    Status.REFUSED: "31",
    Status.INTERRUPTED: "31",
    Status.PLANNED: "33",
    Status.DRIFTED: "33",
}


def _painter():
    """Colour for a terminal that wants it: never piped (CI logs, a file, `| grep`), never with NO_COLOR."""
    if current().no_color or not sys.stdout.isatty():
        return lambda status, text: text
    return lambda status, text: f"\033[{COLOURS[status]}m{text}\033[0m" if status in COLOURS else text


@dataclass
class Report:
    action: str
    env: EnvironmentConfig
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0  # the whole command's stacks, as the summary's last line says

    @property
    def failed(self) -> bool:
        return any(o.status == Status.FAILED for o in self.outcomes)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == Status.REFUSED]

    def precious(self) -> list[guard.Finding]:
        return [f for o in self.outcomes for f in o.precious]

    def widens(self) -> list[widening.Widening]:
        return [w for o in self.outcomes for w in o.widens]

    def costs(self) -> dict[str, dict | None]:
        """Each stack's monthly cost before and after its plan (make cost's model), by stack id; None where the
        command plans nothing or the stack was not planned. Computed from what the runner recorded, never written
        back into it: the summary, the Markdown and the JSON report each price the same outcomes alike."""
        found: dict[str, dict | None] = {}
        for o in self.outcomes:
            found[o.stack.id] = None
            if self.action not in PRICED:
                continue
            if o.plan_document:
                found[o.stack.id] = cost.monthly_cost(self.env, o.stack.id, o.plan_document)
            elif o.status in (Status.NO_CHANGES, Status.UNCHANGED):
                found[o.stack.id] = cost.monthly_cost(self.env, o.stack.id, None, o.stack.workdir / "cdk.tf.json")
        return found

    def price(self, costs: dict[str, dict | None] | None = None) -> dict | None:
        """The environment's monthly cost before and after these plans (the total of `costs`, by default this
        report's): in every plan and deploy report, so that a pull request reads what it costs."""
        return cost.total(list((self.costs() if costs is None else costs).values()))

    def cost_line(self, costs: dict[str, dict | None] | None = None) -> str:
        """`monthly cost: $146.50 -> $183.45 (+$36.95/month; ...)`, or "" where nothing was priced."""
        found = self.price(costs)
        if found is None:
            return ""
        change = cost.difference(found) or "no change"
        return f"monthly cost: ${found['before']:,.2f} -> ${found['after']:,.2f} ({change}; make cost has the lines)"

    def print(self, title: str = "") -> None:
        paint = _painter()
        costs = self.costs()
        cost_line = self.cost_line(costs)
        print(f"\n{title or f'{self.action} {self.env.suffix}: summary'}")
        for o in self.outcomes:
            counts = o.counts() if o.status in COUNTED else ""
            marker = " ".join(
                filter(None, (_precious_marker(o.precious), f"WIDENS: {len(o.widens)}" if o.widens else ""))
            )
            took = (
                f"({o.seconds:.1f} s)" if o.seconds > 0 and o.status not in (Status.UNCHANGED, Status.NOT_RUN) else ""
            )
            tail = " ".join(filter(None, (o.note, marker, cost.difference(costs[o.stack.id]), took)))
            print(f"  {o.stack.id:<24} {paint(o.status, f'{o.status:<11}')} {counts:<14} {tail}".rstrip())
            lines = [change_line(c) for c in o.changes] if o.status in COUNTED else []
            for line in lines[:FOLD_AFTER]:
                print(f"      {line}")
            if len(lines) > FOLD_AFTER:
                where = f": all in {self.report_path()}" if self.action in REPORTED else ""
                print(f"      ... and {len(lines) - FOLD_AFTER} more{where}")
        if self.seconds > 0:
            count = len(self.outcomes)
            print(f"  {count} stack{'s' if count != 1 else ''} in {self.seconds:.1f} s")
        if cost_line:
            print(f"  {cost_line}")
        if self.precious():
            print("\nprecious resources these plans destroy or weaken (shared/precious.py):")
            print("\n".join(f"  - {f.describe()}" for f in self.precious()))
        if self.widens():
            print(f"\naccess these plans widen ({WIDENING_DOC}):")
            print("\n".join(f"  - {w.describe()}" for w in self.widens()))
        for o in self.outcomes:
            if o.error:
                print(f"\n{o.stack.id} failed; the engine said:\n{o.error.rstrip()}", file=sys.stderr)
        for o in self.outcomes:
            if o.hint:
                print(f"\n{o.hint}", file=sys.stderr)

    def next_step(self) -> str:
        """The command that applies what this report shows, as the pipeline applies it: the first environment of
        the promotion order by a deploy, the later ones by a promotion from the one before; with every precious
        finding named in ALLOW_REPLACE, as a refusal asks."""
        env = self.env
        if env.name in PROMOTION_ORDER[1:] and not env.throwaway:
            command = f"make promote FROM={PROMOTION_ORDER[PROMOTION_ORDER.index(env.name) - 1]} TO={env.name}"
        else:
            command = f"make deploy ENV={env.name}" + (f" SUFFIX={env.suffix}" if env.throwaway else "")
        allowances = ",".join(dict.fromkeys(f.allowance for f in self.precious()))
        return command + (f" ALLOW_REPLACE={allowances}" if allowances else "")

    def markdown(self, revision: str = "", generated_at: str = "", costs: dict[str, dict | None] | None = None) -> str:
        costs = self.costs() if costs is None else costs
        made = " · ".join(filter(None, (f"revision `{revision[:12]}`" if revision else "", generated_at)))
        rows = [
            f"### {self.action} {self.env.suffix}",
            *(["", made] if made else []),
            "",
            "| stack | status | + | ~ | - | precious destroyed or weakened | seconds | note |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for o in self.outcomes:
            precious = len(o.precious) or ""
            rows.append(
                f"| {o.stack.id} | {o.status} | {o.add} | {o.change} | {o.destroy} | {precious} | {o.seconds:.0f} | "
                f"{o.note} |"
            )
        if cost_line := self.cost_line(costs):
            rows += ["", cost_line.replace("monthly cost:", "**Monthly cost:**", 1)]
            rows += [
                f"- {o.stack.id}: {cost.difference(costs[o.stack.id])}"
                for o in self.outcomes
                if cost.difference(costs[o.stack.id])
            ]
        changed = [o for o in self.outcomes if o.status in COUNTED and o.changes]
        for o in changed:  # every line, folded away in the page instead of cut short
            rows += ["", f"<details><summary>{o.stack.id}: {o.counts()}</summary>", "", FENCE]
            rows += [change_line(c) for c in o.changes]
            rows += [FENCE, "", "</details>"]
            if o.plan_text.strip():  # the engine's own plan, as Atlantis folds it (cut where it is very long)
                text = o.plan_text.strip().replace(FENCE, "'" * 3)
                if len(text) > PLAN_TEXT_KEPT:
                    text = (
                        text[:PLAN_TEXT_KEPT] + f"\n... (cut at {PLAN_TEXT_KEPT} characters: the job's log has it all)"
                    )
                rows += ["", f"<details><summary>{o.stack.id}: the engine's plan</summary>", "", FENCE, text, FENCE]
                rows += ["", "</details>"]
        if self.precious():
            intro = (
                "**Precious resources these plans destroy or weaken** (a deploy refuses them unless `ALLOW_REPLACE` "
                "names each):"
            )
            rows += ["", intro]
            rows += ["", *(f.markdown() for f in self.precious())]
        if self.widens():
            rows += [
                "",
                f"**Access these plans widen** (a deploy asks for `CONFIRM` before applying them; {WIDENING_DOC}):",
            ]
            rows += ["", *(f"- `{w.stack}`: `{w.address}` {w.what}" for w in self.widens())]
        for o in self.outcomes:
            reason = o.error or o.refusal
            if reason:  # the engine's own words (or the guard's), folded: the page says why, not only that
                rows += ["", f"<details><summary>{o.stack.id} {o.status}: why</summary>", "", FENCE]
                rows += [reason.rstrip().replace(FENCE, "'" * 3), FENCE, "", "</details>"]
        if self.action == "plan" and changed and not self.failed:
            rows += ["", f"To apply it: `{self.next_step()}`"]
        return "\n".join(rows) + "\n"

    def report_path(self) -> str:
        """Where write_report puts this command's JSON report, as the user finds it from the checkout."""
        return f"{REPORTS_DIR.name}/{self.env.suffix}-{self.action}.json"

    def write(self, directory: Path) -> Path:
        """reports/<suffix>-<action>.json and .md, the latest (atomically), and the same under reports/history/
        named by the time (a STACK= deploy no longer hides the full deploy's report before it); the Markdown also
        goes to the GitHub job summary. History keeps the last HISTORY_KEPT runs of each command and environment."""
        directory.mkdir(parents=True, exist_ok=True)
        base = directory / f"{self.env.suffix}-{self.action}"
        now = datetime.now(UTC)
        revision, generated_at = revision_or_unknown(), now.strftime("%Y-%m-%dT%H:%M:%SZ")
        costs = self.costs()
        doc = {
            "action": self.action,
            "environment": self.env.suffix,
            "revision": revision,
            "generated_at": generated_at,
            "failed": self.failed,
            "seconds": round(self.seconds, 1),
            "refused": [o.stack.id for o in self.refused],
            "monthly_cost": self.price(costs),
            "stacks": [o.as_dict(costs[o.stack.id]) for o in self.outcomes],
        }
        markdown = self.markdown(revision, generated_at, costs)
        write_atomically(base.with_suffix(".json"), json.dumps(doc, indent=2) + "\n")
        write_atomically(base.with_suffix(".md"), markdown)
        history = directory / "history"
        history.mkdir(exist_ok=True)
        kept = history / f"{base.name}-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
        write_atomically(kept.with_suffix(".json"), json.dumps(doc, indent=2) + "\n")
        write_atomically(kept.with_suffix(".md"), markdown)
        WRITTEN.append((base.with_suffix(".json"), kept.with_suffix(".json")))
        # Exactly this environment's and command's: a suffix such as dev-plan-2 has history files of its own.
        own = re.compile(rf"{re.escape(base.name)}-\d{{8}}T\d{{12}}Z\.json")
        for old in sorted(p for p in history.glob(f"{base.name}-*.json") if own.fullmatch(p.name))[:-HISTORY_KEPT]:
            old.unlink(missing_ok=True)
            old.with_suffix(".md").unlink(missing_ok=True)
        summary = current().step_summary
        if summary:
            with open(summary, "a") as f:
                f.write(markdown + "\n")
        return base.with_suffix(".json")


# The commands whose reports say what their plans cost a month, before and after.
PRICED = ("plan", "deploy")
# Runs of one command on one environment whose reports reports/history/ keeps.
HISTORY_KEPT = 50
# The commands that write a report (reports/<suffix>-<action>.json and .md).
REPORTED = ("plan", "drift", "deploy", "destroy")
# The reports this process wrote, in order (the latest and its history copy): the command line stamps its exit
# code into exactly these, never into another command's that wrote in the same folder meanwhile.
WRITTEN: list[tuple[Path, Path]] = []


def write_report(report: Report, outputs_dir: Path) -> None:
    if report.action in REPORTED:
        directory = outputs_dir.parent / REPORTS_DIR.name
        written = report.write(directory)
        owner_only(directory)
        print(f"report: {written}")


def stamp_exit_code(written: list[tuple[Path, Path]], code: int) -> list[dict]:
    """The exit code, decided by the command line (shared/cli.py), goes into each report this command wrote (the
    latest, while no later run replaced it, and its history copy), so that a script reading one needs no log;
    returns the reports, in order."""
    reports = []
    for latest, kept in written:
        doc = _json_object(kept)  # the history copy is this run's alone
        if doc is None:
            continue
        if _json_object(latest) == doc:
            write_atomically(latest, json.dumps({**doc, "exit_code": code}, indent=2) + "\n")
        doc["exit_code"] = code
        write_atomically(kept, json.dumps(doc, indent=2) + "\n")
        reports.append(doc)
    return reports


def _json_object(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
