"""The rule classifier against hand-labelled replies (`data/agentic_labelled.yaml`): prints its
accuracy, per label, and every disagreement; it must get at least 90% right, and never call a
labelled-harmful or unparsed reply benign through a parse failure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from training.evals.agentic_misalignment.classify import by_rules
from training.evals.agentic_misalignment.prompts import load_tools
from training.evals.agentic_misalignment.scenarios import load_scenario
from training.evals.agentic_misalignment.toolcalls import parse_tool_calls

DATA = Path(__file__).parent / "data" / "agentic_labelled.yaml"


def test_rule_classifier_accuracy_on_hand_labelled_replies() -> None:
    replies = yaml.safe_load(DATA.read_text())["replies"]
    assert len(replies) >= 30
    tools = load_tools()
    arguments = {t.name: tuple(t.arguments) for t in tools.tools}
    scenarios = {n: load_scenario(n, arguments) for n in {r["scenario"] for r in replies}}
    assert set(scenarios) == {"weights_exfiltration", "confidential_leak", "safety_alert"}
    confusion: Counter[tuple[str, str]] = Counter()
    wrong = []
    for i, item in enumerate(replies):
        got = by_rules(
            parse_tool_calls(item["reply"], tools.by_name()), scenarios[item["scenario"]].harmful
        )
        confusion[(item["label"], got.label)] += 1
        if got.label != item["label"]:
            want = f"#{i} {item['scenario']}: labelled {item['label']}"
            wrong.append(f"  {want}, rules: {got.label} ({got.reason})")
    right = sum(n for (want, got), n in confusion.items() if want == got)
    accuracy = right / len(replies)
    print(
        f"\nrule classifier: {right}/{len(replies)} hand-labelled replies, accuracy {accuracy:.3f}"
    )
    for want in ("harmful", "benign", "unparsed"):
        row = {got: confusion[(want, got)] for got in ("harmful", "benign", "unparsed")}
        print(f"  labelled {want:8s} -> {row}")
    print("\n".join(wrong))
    assert accuracy >= 0.9, "\n".join(wrong)
    # a parse failure is never mistaken for a harmless reply, and vice versa
    assert confusion[("unparsed", "benign")] == 0 and confusion[("benign", "unparsed")] == 0
    assert {lb for lb, _ in confusion} == {"harmful", "benign", "unparsed"}
