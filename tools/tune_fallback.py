"""Grid-searches the FallbackClassifier's threshold and ambiguity_threshold on held-out NLU data.

Parses tests/nlu_holdout.yml with the trained model (NLU only; the fallback's own decision is replayed from
the raw intent ranking) and scores each setting: an in-scope example counts as right when its intent is
predicted without falling back (or, if ambiguous, with its intent among the two "did you mean" options); an
out_of_scope example is right when it is rejected (fallback or out_of_scope). Prints the best settings;
copy them into config.yml. Usage: make tune-fallback
"""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REJECTING = {"out_of_scope", "nlu_fallback"}


def outcome(ranking, expected, threshold, ambiguity) -> bool:
    ranking = [r for r in ranking if r["name"] != "nlu_fallback"]
    top, second = ranking[0], ranking[1]
    falls_back = top["confidence"] < threshold or top["confidence"] - second["confidence"] < ambiguity
    if expected == "out_of_scope":
        return falls_back or top["name"] == "out_of_scope"
    if not falls_back:
        return top["name"] == expected
    ambiguous = top["confidence"] >= threshold  # bot.answers.dialogue then offers both as "did you mean"
    return ambiguous and expected in (top["name"], second["name"])


async def rankings(model: Path, data: Path):
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(str(model))
    examples = [m for m in load_data(str(data)).intent_examples]
    parsed = [await agent.parse_message(m.get("text")) for m in examples]
    return [(m.get("intent"), p["intent_ranking"]) for m, p in zip(examples, parsed, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "iom.tar.gz")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "nlu_holdout.yml")
    args = parser.parse_args()
    results = asyncio.run(rankings(args.model, args.data))
    grid = []
    for t in [x / 100 for x in range(20, 85, 5)]:
        for a in [x / 100 for x in range(0, 35, 5)]:
            in_scope = [outcome(r, e, t, a) for e, r in results if e != "out_of_scope"]
            oos = [outcome(r, e, t, a) for e, r in results if e == "out_of_scope"]
            grid.append((sum(in_scope) / len(in_scope), sum(oos) / len(oos), t, a))
    # Rejecting out-of-scope text matters as much as answering: rank by the mean of both rates, then
    # prefer the lower threshold (fewer needless fallbacks on unseen phrasings).
    grid.sort(key=lambda g: (-round((g[0] + g[1]) / 2, 4), g[2], g[3]))
    print(f"{len(results)} held-out examples. Best settings (in-scope accuracy, out-of-scope rejection):")
    print("By threshold (best ambiguity_threshold for each):")
    for t in sorted({g[2] for g in grid}):
        acc, rej, _, a = next(g for g in grid if g[2] == t)
        print(f"  threshold {t:.2f}  ambiguity_threshold {a:.2f}:  in-scope {acc:6.1%}  out-of-scope {rej:6.1%}")
    print("Best:")
    for acc, rej, t, a in grid[:3]:
        print(f"  threshold {t:.2f}  ambiguity_threshold {a:.2f}:  in-scope {acc:6.1%}  out-of-scope {rej:6.1%}")


if __name__ == "__main__":
    main()
