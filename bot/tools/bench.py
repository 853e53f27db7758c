"""`make bench`: speed, memory and accuracy of the assistant as configured (a benchmark, not a test).

Starts its own action server + Rasa server on free ports with a fresh tracker database, then measures:
start-up time until REST answers, resident memory, latency p50/p95/p99 and messages/s at 1, 10 and 50
concurrent conversations (each several realistic FAQ turns; warm-up first; median of repetitions), the
latency of turns 1-20 against 280-300 of one long conversation, the time to refuse a 1 MB message, and
dev-set accuracy. Writes bench/results.json and bench/results.md and prints the table.

Also scores a TF-IDF + logistic-regression intent classifier on the same training examples and the held-out
file. Not yet here (see the issue): the side-by-side run of Rasa's stock config.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import time
import uuid
from pathlib import Path
from typing import Dict, List

import aiohttp

from bot.tools import servers
from bot.tools.evaluate import evaluate

ROOT = servers.ROOT
OUT = ROOT / "bench"
CONVERSATION = ["Hello", "What does the Brussels office do?", "when was it established?", "why then?",
                "Who are the partners?", "Do you work with trade unions?", "What are the priorities?",
                "tell me more about return", "What is IOM?", "thanks"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def conversation(session: aiohttp.ClientSession, url: str, turns: List[str], latencies: List[float]):
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    for text in turns:
        started = time.perf_counter()
        async with session.post(url, json={"sender": sender, "message": text}) as response:
            await response.read()
            assert response.status == 200
        latencies.append(time.perf_counter() - started)


async def load(url: str, users: int, rounds: int) -> Dict[str, float]:
    latencies: List[float] = []
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(session, url, CONVERSATION * rounds, latencies) for _ in range(users)))
        elapsed = time.perf_counter() - started
    return {"users": users, "messages": len(latencies), "msgs_per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


async def long_conversation(url: str, turns: int = 300) -> Dict[str, float]:
    latencies: List[float] = []
    async with aiohttp.ClientSession() as session:
        texts = (CONVERSATION * (turns // len(CONVERSATION) + 1))[:turns]
        await conversation(session, url, texts, latencies)
    early, late = statistics.mean(latencies[:20]), statistics.mean(latencies[-21:])
    return {"turn_1_20_ms": early * 1000, "turn_280_300_ms": late * 1000, "ratio": late / early}


async def refuse_huge(url: str, repeats: int = 5) -> float:
    body = {"sender": "bench-huge", "message": "x" * 1_000_000}
    times = []
    async with aiohttp.ClientSession() as session:
        for _ in range(repeats):
            started = time.perf_counter()
            async with session.post(url, json=body) as response:
                await response.read()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def nlu_examples(path: Path):
    """(text, intent) pairs of a Rasa NLU YAML file, entity annotations removed."""
    import re
    import yaml
    pairs = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" in block:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    text = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
                    pairs.append((text, block["intent"]))
    return pairs


def held_out_scores(predicted: List[str], expected: List[str]) -> Dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score
    in_scope = [p == e for p, e in zip(predicted, expected) if e != "out_of_scope"]
    rejected = [p in ("out_of_scope", "nlu_fallback") for p, e in zip(predicted, expected) if e == "out_of_scope"]
    return {"accuracy": accuracy_score(expected, predicted),
            "macro_f1": f1_score(expected, predicted, average="macro", zero_division=0),
            "in_scope_right": sum(in_scope) / len(in_scope), "out_of_scope_rejected": sum(rejected) / len(rejected)}


def tfidf_baseline(threshold: float) -> Dict[str, float]:
    """TF-IDF (words + character n-grams) + logistic regression on the same training examples."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.feature_extraction.text import TfidfVectorizer
    train = [p for f in sorted((ROOT / "data" / "nlu").glob("*.yml")) for p in nlu_examples(f)]
    test = nlu_examples(ROOT / "tests" / "nlu_holdout.yml")
    started = time.perf_counter()
    model = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                          LogisticRegression(C=10, max_iter=2000))
    model.fit([t for t, _ in train], [i for _, i in train])
    train_s = time.perf_counter() - started
    probabilities = model.predict_proba([t for t, _ in test])
    predicted = [model.classes_[row.argmax()] if row.max() >= threshold else "nlu_fallback" for row in probabilities]
    raw = [model.classes_[row.argmax()] for row in probabilities]
    return {"train_s": train_s, "raw": held_out_scores(raw, [i for _, i in test]),
            "served": held_out_scores(predicted, [i for _, i in test])}


def ours_held_out(env) -> Dict[str, object]:
    from bot.dialogue import fallback_thresholds
    out = ROOT / "var" / "bench-nlu"
    subprocess.run([str(servers.VENV_BIN / "rasa"), "test", "nlu", "--model", env["MODEL"], "--nlu",
                    "tests/nlu_holdout.yml", "--out", str(out), "--successes"], cwd=ROOT, env=env,
                   capture_output=True, check=True)
    predictions = [*json.loads((out / "intent_successes.json").read_text()),
                   *json.loads((out / "intent_errors.json").read_text())]
    threshold = fallback_thresholds().threshold
    expected = [p["intent"] for p in predictions]
    raw = [p["intent_prediction"]["name"] for p in predictions]
    served = [p["intent_prediction"]["name"] if p["intent_prediction"]["confidence"] >= threshold
              else "nlu_fallback" for p in predictions]
    return {"raw": held_out_scores(raw, expected), "served": held_out_scores(served, expected)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = servers.settings({"RASA_PORT": str(servers.free_port()), "ACTION_PORT": str(servers.free_port()),
                            "TRACKER_DB": str(ROOT / "var" / f"bench-{uuid.uuid4().hex[:6]}.db")})
    log = open(ROOT / "var" / "bench-servers.log", "wb")
    actions = servers.start(servers.action_server_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    servers.wait_http(servers.action_health_url(env), 120, actions)
    started = time.perf_counter()
    rasa = servers.start(servers.rasa_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
    results: Dict[str, object] = {}
    try:
        servers.wait_http(servers.rasa_health_url(env), 300, rasa)
        results["startup_s"] = time.perf_counter() - started
        asyncio.run(load(url, 5, 1))  # warm-up
        for users in (1, 10, 50):
            runs = [asyncio.run(load(url, users, 1 if users > 1 else 3)) for _ in range(args.repeats)]
            results[f"load_{users}"] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{users:3d} users: {results[f'load_{users}']}", flush=True)
        results["long_conversation"] = asyncio.run(long_conversation(url))
        results["refuse_1mb_ms"] = asyncio.run(refuse_huge(url))
        results["rss_mb"] = rss_mb(rasa.pid)
        report = evaluate(f"http://127.0.0.1:{env['RASA_PORT']}")
        results["dev_accuracy"] = {c: report.score(c) for c in ("answer", "out_of_scope", "chitchat", "context")}
    finally:
        servers.stop(rasa)
        servers.stop(actions)
    from bot.dialogue import fallback_thresholds
    results["held_out_ours"] = ours_held_out(env)
    results["held_out_tfidf"] = tfidf_baseline(fallback_thresholds().threshold)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    rows = ["| measure | ours |", "|---|---|", f"| start-up until REST answers | {results['startup_s']:.1f} s |",
            f"| resident memory (Rasa process) | {results['rss_mb']:.0f} MB |"]
    for users in (1, 10, 50):
        r = results[f"load_{users}"]
        rows.append(f"| {users} concurrent: msgs/s, p50/p95/p99 | {r['msgs_per_s']:.1f}; {r['p50_ms']:.0f}/"
                    f"{r['p95_ms']:.0f}/{r['p99_ms']:.0f} ms |")
    lc = results["long_conversation"]
    rows.append(f"| turn 1-20 vs 280-300 | {lc['turn_1_20_ms']:.0f} ms vs {lc['turn_280_300_ms']:.0f} ms "
                f"(x{lc['ratio']:.2f}) |")
    rows.append(f"| refuse a 1 MB message | {results['refuse_1mb_ms']:.0f} ms |")
    rows.append("| dev set: answer / out-of-scope / chitchat / context | "
                + " / ".join(f"{v:.0%}" for v in results["dev_accuracy"].values()) + " |")
    for name in ("ours", "tfidf"):
        h = results[f"held_out_{name}"]
        rows.append(f"| held-out NLU, {name}: raw accuracy / macro F1; served in-scope right / out-of-scope rejected | "
                    f"{h['raw']['accuracy']:.3f} / {h['raw']['macro_f1']:.3f}; {h['served']['in_scope_right']:.1%} / "
                    f"{h['served']['out_of_scope_rejected']:.1%} |")
    (OUT / "results.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
