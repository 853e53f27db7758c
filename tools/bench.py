"""`make bench`: speed, memory and accuracy, side by side (a benchmark, not a test).

In one invocation, on the same machine and the same NLU/dialogue data:
  ours   - the assistant as configured (config.yml, endpoints.yml, credentials.yml);
  stock  - the same data trained with the config `rasa init` writes (Rasa's default pipeline and policies),
           served the way `rasa init` would: stock REST channel, default in-memory tracker and lock stores;
  tfidf  - a TF-IDF + logistic-regression intent classifier on the same training examples (accuracy only).
Both Rasa candidates use the same action server and content, so only Rasa's side differs.

For each Rasa candidate: training time (cached in var/bench/ while its inputs are unchanged; `--retrain`),
start-up until REST answers, resident memory, p50/p95/p99 and messages/s at 1, 10 and 50 concurrent
conversations (10-turn realistic conversations, warm-up first, median of `--repeats`), open-loop latency
(visitors arriving at 10 and 20 messages/s whatever the server's speed: what real traffic sees), latency of
turns 1-20 vs 280-300 of one conversation, time to refuse (or, stock, to answer) a 1 MB message, answers
right per category on the development and held-out conversation sets through the served bot, held-out NLU
accuracy / macro F1 / out-of-scope rejection on tests/nlu_holdout.yml; with PostgreSQL, Redis and nginx
installed, 50 conversations through the scale profile with 1 and 2 Rasa replicas. Writes bench/results.json
and docs/benchmarks.md and prints the table with ours/stock ratios.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import aiohttp
import yaml

from bot import servers
from bot.nlu.embedding_intent_classifier import CACHE_DIR as ENCODER_CACHE
from bot.settings import ROOT
from tools.evaluate import CASES_FILE, GATES, HELD_OUT_DIR, evaluate

OUT = ROOT / "bench"
WORK = ROOT / "var" / "bench"
CONVERSATION = ["Hello", "What does the Brussels office do?", "when was it established?", "why then?",
                "Who are the partners?", "Do you work with trade unions?", "What are the priorities?",
                "tell me more about return", "What is IOM?", "thanks"]
HUGE_TIMEOUT_S = 60
OPEN_LOOP_RATES = (10, 20)  # messages/s arriving whatever the server's speed
OPEN_LOOP_SECONDS = 30
DEV_SETS = [*sorted(CASES_FILE.parent.glob("dev_cases*.yml")), *sorted((ROOT.parent / "shared" / "eval").glob("*.yml"))]
# The bench's load comes from one address and runs conversations back to back: the per-client and
# per-conversation limits (issue 14, README "Operations") would turn it into a test of the limiter.
NO_LIMITS = {"CLIENT_MESSAGES_PER_MINUTE": "0", "CONVERSATION_MESSAGES_PER_MINUTE": "0"}
DOC = ROOT / "docs" / "benchmarks.md"
DOC_TEMPLATE = """# Benchmarks

Written by `make bench` (tools/bench.py) on {date}. Reproduce: `make bench` (about 30 min from a fresh
clone, of which ~10 min train both Rasa models; later runs reuse the models while their inputs are unchanged).

Machine: {machine}.

What runs: **ours** is the assistant as configured (config.yml, endpoints.yml, credentials.yml). **stock** is
the same domain and training data trained with the `config.yml` that `rasa init` writes (Rasa's default
pipeline and policies: DIET, ResponseSelector, TED, UnexpecTED, Memoization, Rules) and served the way
`rasa init` serves it (stock REST channel, in-memory tracker and lock stores). Both use the same action
server and content store. **TF-IDF + LR** is a scikit-learn intent classifier on the same examples
(accuracy only; it is not a server). Training is cold (empty Rasa cache, no cached encoder vectors). Load:
an aiohttp client runs N concurrent conversations of 10 realistic turns each, back to back (no think time),
after a warm-up; each level is repeated and the median reported. Open loop: messages arrive at a fixed rate
for {open_loop_s} s whatever the server's speed, each timed from its own send. The per-client and
per-conversation limits are off for the load (one client address). Answers right per category: the
development sets (tests/dev_cases*.yml, ../shared/eval/) and the held-out sets (tests/heldout/, never
trained on or tuned against) through the served bot, fallback included. NLU held-out rows:
`tests/nlu_holdout.yml` (never trained on).

{table}
"""


@dataclass
class Candidate:
    name: str
    config: Path
    endpoints: Path
    credentials: Path

    @property
    def model(self) -> Path:
        return WORK / self.name / f"{self.name}.tar.gz"

    def fallback_threshold(self) -> float:
        for component in yaml.safe_load(self.config.read_text()).get("pipeline") or []:
            if str(component.get("name", "")).endswith("FallbackClassifier"):
                return float(component.get("threshold", 0.3))
        return 0.3  # Rasa's default pipeline


def candidates() -> List[Candidate]:
    """Ours as checked in; stock from the files `rasa init` writes, taken from the installed Rasa."""
    import rasa.cli
    stock = WORK / "stock"
    stock.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(rasa.cli.__file__).parent / "initial_project" / "config.yml", stock / "config.yml")
    (stock / "credentials.yml").write_text("rest:\n")
    (stock / "endpoints.yml").write_text("action_endpoint:\n  url: http://${ACTION_HOST}:${ACTION_PORT}/webhook\n")
    return [Candidate("ours", ROOT / "config.yml", ROOT / "endpoints.yml", ROOT / "credentials.yml"),
            Candidate("stock", stock / "config.yml", stock / "endpoints.yml", stock / "credentials.yml")]


# ---------------------------------------------------------------------------------------------- load
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
            if response.status != 200:
                raise RuntimeError(f"{url}: HTTP {response.status} for {text!r}")
        latencies.append(time.perf_counter() - started)


async def load(url: str, users: int, rounds: int) -> Dict[str, float]:
    latencies: List[float] = []
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(session, url, CONVERSATION * rounds, latencies) for _ in range(users)))
        elapsed = time.perf_counter() - started
    return {"users": users, "messages": len(latencies), "msgs_per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


async def open_loop(url: str, rate: float, seconds: float) -> Dict[str, float]:
    """Messages sent at a fixed rate (turns of conversations taken in turn), each timed from its own send:
    queueing shows as latency, as it does for visitors, instead of slowing the client down."""
    latencies: List[float] = []
    failures = 0
    senders = [f"bench-open-{uuid.uuid4().hex[:8]}" for _ in range(int(rate * 2))]

    async def one(session: aiohttp.ClientSession, sender: str, text: str) -> None:
        nonlocal failures
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
                    return
        except (aiohttp.ClientError, asyncio.TimeoutError):
            failures += 1
            return
        latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        tasks, started = [], time.perf_counter()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            sender = senders[n % len(senders)]
            text = CONVERSATION[(n // len(senders)) % len(CONVERSATION)]
            tasks.append(asyncio.create_task(one(session, sender, text)))
        await asyncio.gather(*tasks)
    return {"rate": rate, "messages": len(latencies), "failures": failures,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


def load_levels(url: str, repeats: int) -> Dict[str, Dict[str, float]]:
    asyncio.run(load(url, 5, 1))  # warm-up
    results = {}
    for users in (1, 10, 50):
        runs = [asyncio.run(load(url, users, 3 if users == 1 else 1)) for _ in range(repeats)]
        results[str(users)] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"    {users:3d} users: {results[str(users)]['msgs_per_s']:.1f} msg/s, "
              f"p95 {results[str(users)]['p95_ms']:.0f} ms", flush=True)
    return results


async def long_conversation(url: str, turns: int = 300) -> Dict[str, float]:
    latencies: List[float] = []
    async with aiohttp.ClientSession() as session:
        texts = (CONVERSATION * (turns // len(CONVERSATION) + 1))[:turns]
        await conversation(session, url, texts, latencies)
    early, late = statistics.mean(latencies[:20]), statistics.mean(latencies[-21:])
    return {"turn_1_20_ms": early * 1000, "turn_280_300_ms": late * 1000, "ratio": late / early}


async def huge_message(url: str, repeats: int) -> Dict[str, object]:
    body = {"sender": f"bench-huge-{uuid.uuid4().hex[:6]}", "message": "x" * 1_000_000}
    times, statuses = [], []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HUGE_TIMEOUT_S)) as session:
        for _ in range(repeats):
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as response:
                    await response.read()
                    statuses.append(response.status)
            except asyncio.TimeoutError:
                statuses.append("timeout")
            times.append(time.perf_counter() - started)
    return {"ms": statistics.median(times) * 1000, "statuses": statuses}


# ------------------------------------------------------------------------------------------ accuracy
def nlu_examples(path: Path):
    """(text, intent) pairs of a Rasa NLU YAML file, entity annotations removed."""
    pairs = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
        if "intent" in block:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    text = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
                    pairs.append((text, block["intent"]))
    return pairs


def held_out_scores(predicted: List[str], expected: List[str]) -> Dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score
    pairs = list(zip(predicted, expected, strict=True))
    in_scope = [p == e for p, e in pairs if e != "out_of_scope"]
    rejected = [p in ("out_of_scope", "nlu_fallback") for p, e in pairs if e == "out_of_scope"]
    return {"accuracy": accuracy_score(expected, predicted),
            "macro_f1": f1_score(expected, predicted, average="macro", zero_division=0),
            "in_scope_right": sum(in_scope) / len(in_scope), "out_of_scope_rejected": sum(rejected) / len(rejected)}


def tfidf_baseline(threshold: float) -> Dict[str, object]:
    """TF-IDF (words + character n-grams) + logistic regression on the same training examples."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    train = [p for f in sorted((ROOT / "data" / "nlu").rglob("*.yml")) for p in nlu_examples(f)]
    test = nlu_examples(ROOT / "tests" / "nlu_holdout.yml")
    started = time.perf_counter()
    model = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                     TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                          LogisticRegression(C=10, max_iter=2000))
    model.fit([t for t, _ in train], [i for _, i in train])
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    probabilities = model.predict_proba([t for t, _ in test])
    predict_ms = (time.perf_counter() - started) * 1000 / len(test)
    raw = [model.classes_[row.argmax()] for row in probabilities]
    served = [model.classes_[row.argmax()] if row.max() >= threshold else "nlu_fallback" for row in probabilities]
    expected = [i for _, i in test]
    return {"train_s": train_s, "predict_ms_per_message": predict_ms, "threshold": threshold,
            "raw": held_out_scores(raw, expected), "served": held_out_scores(served, expected)}


def rasa_held_out(candidate: Candidate, env: Dict[str, str]) -> Dict[str, object]:
    out = WORK / candidate.name / "nlu-test"
    subprocess.run([str(servers.VENV_BIN / "rasa"), "test", "nlu", "--model", str(candidate.model), "--nlu",
                    "tests/nlu_holdout.yml", "--out", str(out), "--successes"], cwd=ROOT, env=env,
                   capture_output=True, check=True)
    predictions = [*json.loads((out / "intent_successes.json").read_text()),
                   *json.loads((out / "intent_errors.json").read_text())]
    threshold = candidate.fallback_threshold()
    expected = [p["intent"] for p in predictions]
    raw = [p["intent_prediction"]["name"] for p in predictions]
    served = [p["intent_prediction"]["name"] if p["intent_prediction"]["confidence"] >= threshold
              else "nlu_fallback" for p in predictions]
    return {"threshold": threshold, "raw": held_out_scores(raw, expected), "served": held_out_scores(served, expected)}


# ----------------------------------------------------------------------------------- train and serve
def training_inputs_key(candidate: Candidate) -> str:
    import rasa
    digest = hashlib.sha256(rasa.__version__.encode())
    for path in [candidate.config, ROOT / "domain.yml", *sorted((ROOT / "data").rglob("*.yml")),
                 *sorted((ROOT / "var" / "spacy").rglob("*.json")), *sorted((ROOT / "bot" / "nlu").glob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(candidate: Candidate, env: Dict[str, str], retrain: bool) -> Dict[str, object]:
    record = candidate.model.with_suffix(".json")
    key = training_inputs_key(candidate)
    if not retrain and candidate.model.exists() and record.exists():
        cached = json.loads(record.read_text())
        if cached.get("key") == key:
            print(f"  {candidate.name}: model unchanged since it was trained in {cached['train_s']:.0f} s (cached)")
            return {"train_s": cached["train_s"], "cached": True}
    print(f"  {candidate.name}: training with {candidate.config.relative_to(ROOT)} (cold caches) ...", flush=True)
    # Cold: an empty Rasa cache, and no cached encoder vectors (a fresh clone's first `make train`).
    cache = WORK / candidate.name / f"rasa-cache-{uuid.uuid4().hex[:6]}"
    shutil.rmtree(ENCODER_CACHE, ignore_errors=True)
    started = time.perf_counter()
    # `make train`'s command: `rasa train`, with the encoder's examples started first (bot/train.py)
    subprocess.run([str(servers.VENV_BIN / "python"), "-m", "bot.train", "--config", str(candidate.config), "--domain",
                    "domain.yml", "--data", "data", "--out", str(candidate.model.parent), "--fixed-model-name",
                    candidate.name, "--force"], cwd=ROOT, env={**env, "RASA_CACHE_DIRECTORY": str(cache)}, check=True)
    shutil.rmtree(cache, ignore_errors=True)
    train_s = time.perf_counter() - started
    record.write_text(json.dumps({"key": key, "train_s": train_s}))
    return {"train_s": train_s, "cached": False}


def serve_and_measure(candidate: Candidate, env: Dict[str, str], repeats: int) -> Dict[str, object]:
    env = {**env, "RASA_PORT": str(servers.free_port()),
           "TRACKER_DB": str(WORK / candidate.name / f"tracker-{uuid.uuid4().hex[:6]}.db")}
    # Ours starts through bot.server (our Rasa patches installed first); stock is plain `rasa run`.
    rasa = [str(servers.VENV_BIN / "python"), "-m", "bot.server"] if candidate.name == "ours" else \
        [str(servers.VENV_BIN / "rasa")]
    command = [*rasa, "run", "--model", str(candidate.model), "--endpoints",
               str(candidate.endpoints), "--credentials", str(candidate.credentials), "--port", env["RASA_PORT"],
               "--interface", "127.0.0.1"]
    url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
    results: Dict[str, object] = {}
    with open(WORK / f"{candidate.name}-server.log", "wb") as log:
        started = time.perf_counter()
        rasa = servers.start(command, env, stdout=log, stderr=subprocess.STDOUT)
        try:
            servers.wait_http(servers.rasa_health_url(env), 300, rasa)
            results["startup_s"] = time.perf_counter() - started
            print(f"  {candidate.name}: up in {results['startup_s']:.1f} s; load ...", flush=True)
            results["load"] = load_levels(url, repeats)
            results["open_loop"] = {}
            for rate in OPEN_LOOP_RATES:
                results["open_loop"][str(rate)] = measured = asyncio.run(open_loop(url, rate, OPEN_LOOP_SECONDS))
                print(f"    open loop {rate}/s: p50 {measured['p50_ms']:.0f} ms, p99 {measured['p99_ms']:.0f} ms",
                      flush=True)
            results["long_conversation"] = asyncio.run(long_conversation(url))
            results["huge_message"] = asyncio.run(huge_message(url, 3 if candidate.name == "ours" else 1))
            results["rss_mb"] = rss_mb(rasa.pid)
            base = f"http://127.0.0.1:{env['RASA_PORT']}"
            for key, files in (("dev", DEV_SETS), ("held_out_sets", sorted(HELD_OUT_DIR.glob("*.yml")))):
                report = evaluate(base, files)
                results[key] = {c: report.score(c) for c in report.by_category()}
        finally:
            servers.stop(rasa)
    return results


# ------------------------------------------------------------------------------------------- scale
def scale_section(repeats: int) -> Dict[str, object]:
    """50 concurrent conversations through nginx (PostgreSQL + Redis, 2 action servers): 1 replica, 2 replicas,
    and 1 replica running 2 Sanic workers (possible because the lock store is shared)."""
    from tools.scale import Topology, free_ports, scale_settings
    results: Dict[str, object] = {}
    for label, replicas, workers in (("1 replica", 1, 1), ("2 replicas", 2, 1), ("1 replica x 2 workers", 1, 2)):
        base = WORK / f"scale-{replicas}-{workers}"
        shutil.rmtree(base, ignore_errors=True)
        topology = Topology(scale_settings(base, {**free_ports(replicas, 2), "SANIC_WORKERS": str(workers)}),
                            replicas, 2, base)
        print(f"[scale] {label} behind nginx ...", flush=True)
        try:
            topology.up()
            url = f"{topology.url}/webhooks/rest/webhook"
            asyncio.run(load(url, 10, 1))  # warm-up
            runs = [asyncio.run(load(url, 50, 1)) for _ in range(repeats)]
            results[label] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"    {results[label]['msgs_per_s']:.1f} msg/s, p95 {results[label]['p95_ms']:.0f} ms", flush=True)
        finally:
            topology.down()
            shutil.rmtree(base, ignore_errors=True)
    return results


def scale_available() -> bool:
    from tools.scale import nginx_binary, pg_bin_dir
    try:
        pg_bin_dir()
    except SystemExit:
        return False
    return bool(shutil.which("redis-server") and nginx_binary())


# ----------------------------------------------------------------------------------------- reporting
def fmt_ratio(ours: float, stock: float) -> str:
    return f"x{ours / stock:.2f}" if stock else "-"


def table(results: Dict[str, Dict[str, object]]) -> List[str]:
    ours, stock, tfidf = results["ours"], results["stock"], results["tfidf"]
    rows = ["| measure | ours | stock `rasa init` config | ours/stock | TF-IDF + LR |", "|---|---|---|---|---|"]

    def row(label, getter, unit="", digits=0, ratio=True, baseline="-"):
        a, b = getter(ours), getter(stock)
        rows.append(f"| {label} | {a:.{digits}f}{unit} | {b:.{digits}f}{unit} | "
                    f"{fmt_ratio(a, b) if ratio else '-'} | {baseline} |")

    row("training", lambda r: r["train_s"], " s", baseline=f"{tfidf['train_s']:.1f} s")
    row("start-up until REST answers", lambda r: r["startup_s"], " s", 1)
    row("resident memory (Rasa process)", lambda r: r["rss_mb"], " MB")
    for users in ("1", "10", "50"):
        row(f"{users} concurrent: messages/s", lambda r, u=users: r["load"][u]["msgs_per_s"], "", 1)
        for p in ("p50", "p95", "p99"):
            in_process = f"{tfidf['predict_ms_per_message']:.2f} ms (in-process)"
            row(f"{users} concurrent: {p}", lambda r, u=users, q=p: r["load"][u][f"{q}_ms"], " ms",
                baseline=in_process if p == "p50" and users == "1" else "-")
    for rate in OPEN_LOOP_RATES:
        for p in ("p50", "p95", "p99"):
            row(f"open loop, {rate} messages/s arriving: {p}", lambda r, t=str(rate), q=p: r["open_loop"][t][f"{q}_ms"],
                " ms")
    row("turn 1-20 of one conversation", lambda r: r["long_conversation"]["turn_1_20_ms"], " ms")
    row("turn 280-300 of one conversation", lambda r: r["long_conversation"]["turn_280_300_ms"], " ms")
    row("turn 280-300 / turn 1-20", lambda r: r["long_conversation"]["ratio"], "", 2, ratio=False)
    ours_huge, stock_huge = ours["huge_message"], stock["huge_message"]
    rows.append(f"| 1 MB message | refused before NLU (HTTP {ours_huge['statuses'][0]}) in {ours_huge['ms']:.0f} ms "
                f"| processed by NLU (HTTP {stock_huge['statuses'][0]}) in {stock_huge['ms']:.0f} ms | - | - |")
    for key, label in (("dev", "development sets"), ("held_out_sets", "held-out sets")):
        for category in sorted(GATES):
            a, b = ours[key].get(category), stock[key].get(category)
            rows.append(f"| {label}: {category} (gate {GATES[category]:.0%}) | {a:.1%} | {b:.1%} | - | - |")
    for label, key, sub in (("held-out intent accuracy (raw)", "raw", "accuracy"),
                            ("held-out macro F1 (raw)", "raw", "macro_f1"),
                            ("held-out in-scope answered right (with fallback)", "served", "in_scope_right"),
                            ("held-out out-of-scope rejected (with fallback)", "served", "out_of_scope_rejected")):
        values = [r.get("held_out", r)[key][sub] for r in (ours, stock, tfidf)]
        rows.append(f"| {label} | {values[0]:.3f} | {values[1]:.3f} | - | {values[2]:.3f} |")
    thresholds = [r.get("held_out", r)["threshold"] for r in (ours, stock, tfidf)]
    rows.append(f"| fallback threshold used | {thresholds[0]} | {thresholds[1]} | - | {thresholds[2]} |")
    if results.get("scale"):
        rows += ["", "Scale profile (nginx -> Rasa replicas, PostgreSQL tracker store, Redis ticket lock, "
                 "2 action servers), 50 concurrent conversations:", "",
                 "| Rasa processes | messages/s | p50 | p95 | p99 |", "|---|---|---|---|---|"]
        for replicas, r in results["scale"].items():
            rows.append(f"| {replicas} | {r['msgs_per_s']:.1f} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
                        f"{r['p99_ms']:.0f} ms |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="load runs per level; the median is reported")
    parser.add_argument("--retrain", action="store_true", help="retrain even when a model's inputs are unchanged")
    parser.add_argument("--only", choices=["ours", "stock", "scale"], help="measure one part only (no table)")
    parser.add_argument("--report", action="store_true", help="only rewrite docs/benchmarks.md from bench/results.json")
    args = parser.parse_args()
    if args.report:
        return report(json.loads((OUT / "results.json").read_text()))
    WORK.mkdir(parents=True, exist_ok=True)
    env = servers.environment({"ACTION_PORT": str(servers.free_port()), **NO_LIMITS})
    results: Dict[str, Dict[str, object]] = {}
    with open(WORK / "actions-server.log", "wb") as log:
        actions = servers.start(servers.action_server_command(env), env, stdout=log, stderr=subprocess.STDOUT)
        try:
            servers.wait_http(servers.action_health_url(env), 120, actions)
            for candidate in candidates() if args.only != "scale" else []:
                if args.only and candidate.name != args.only:
                    continue
                print(f"[{candidate.name}]", flush=True)
                results[candidate.name] = train(candidate, env, args.retrain)
                results[candidate.name].update(serve_and_measure(candidate, env, args.repeats))
                results[candidate.name]["held_out"] = rasa_held_out(candidate, env)
        finally:
            servers.stop(actions)
    if args.only in (None, "scale"):
        results["scale"] = scale_section(args.repeats) if scale_available() else {}
    if args.only:
        print(json.dumps(results, indent=2))
        return 0
    results["tfidf"] = tfidf_baseline(results["ours"]["held_out"]["threshold"])
    return report(results)


def report(results: Dict[str, object]) -> int:
    results.setdefault("machine", machine())
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    rows = table(results)
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(DOC_TEMPLATE.format(machine=results["machine"], date=time.strftime("%Y-%m-%d"),
                                       table="\n".join(rows), open_loop_s=OPEN_LOOP_SECONDS))
    print("\n".join(rows))
    print(f"\nwritten: {DOC.relative_to(ROOT)}, {(OUT / 'results.json').relative_to(ROOT)}")
    return 0


def machine() -> str:
    import os
    import platform
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {memory} GB RAM, Python {sys.version.split()[0]}, {platform.platform()}"


if __name__ == "__main__":
    raise SystemExit(main())
