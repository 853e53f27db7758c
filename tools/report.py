"""`make report`: one self-contained HTML file about the assistant's conversations over a period.

    python -m tools.report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--db URL] [--turn-log FILE] [--out FILE]

Reads the tracker store (tools/conversations.py), groups the unanswered questions by meaning
(tools/meaning_groups.py), computes the figures (tools/report_figures.py) and writes one HTML file (default
var/report.html; the path is printed): inline CSS, inline SVG charts, no script, no external resource of any
kind (a Content-Security-Policy forbids them), so it opens offline in any browser and prints cleanly. Every
visitor text is masked and HTML-escaped. The figures are also embedded as JSON (`<script
type="application/json" id="report-data">`), exactly what the page shows, for tests and other tools.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from bot.settings import ROOT, settings
from tools.conversations import Outcome, Scan, Turn, add_scan_arguments, scan_from_arguments
from tools.files import write_atomically
from tools.latency import Latencies, from_turn_log, from_turns
from tools.meaning_groups import DEFAULT_DISTANCE, Group, group_by_meaning
from tools.report_charts import lines, stacked_bars
from tools.report_figures import RATE_OUTCOMES, figures

DEFAULT_OUT = ROOT / "var" / "report.html"
SHOWN_GROUPS = 50
SHOWN_UNCERTAIN = 100
TRANSCRIPTS_PER_GROUP = 5
CONTEXT_TURNS = 2  # messages shown before and after an unanswered one in its conversation
REPLY_CHARS = 400
OUTCOME_LABELS = {"answered": "answered", "fallback": "fallback", "out_of_scope": "out of scope",
                  "did_you_mean": "did you mean", "no_detail": "detail not in content", "other": "chitchat / other",
                  "no_reply": "no reply"}
SECTIONS = [("summary", "Summary"), ("activity", "Conversations and messages"), ("outcomes", "Answered or not"),
            ("answers", "Top answers"), ("unanswered", "Top unanswered questions"),
            ("uncertain", "Low confidence and near ties"), ("feedback", "Feedback per answer"),
            ("latency", "Latency"), ("transcripts", "Transcripts of the unanswered questions")]


class Html(str):
    """Markup built here; every other value is escaped when it enters the page."""


def h(value: Any) -> Html:
    return value if isinstance(value, Html) else Html(html.escape("" if value is None else str(value)))


def tag(name: str, content: Any = "", **attributes: Any) -> Html:
    attrs = "".join(f' {k.rstrip("_").replace("_", "-")}="{html.escape(str(v))}"'
                    for k, v in attributes.items() if v is not None)
    return Html(f"<{name}{attrs}>{h(content)}</{name}>")


def join(parts: Iterable[Any], separator: str = "") -> Html:
    return Html(separator.join(h(p) for p in parts))


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], caption: Optional[str] = None,
          row_attributes: Optional[Sequence[Mapping[str, Any]]] = None) -> Html:
    head = tag("tr", join(tag("th", c, scope="col") for c in headers))
    body = [tag("tr", join(tag("td", c) for c in row), **(row_attributes[i] if row_attributes else {}))
            for i, row in enumerate(rows)]
    if not body:
        return tag("p", "Nothing in this period.", class_="empty")
    return tag("table", join([tag("caption", caption) if caption else "", tag("thead", head),
                              tag("tbody", join(body))]))


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def ms(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def figure(svg: str, caption: str) -> Html:
    return tag("figure", join([Html(svg), tag("figcaption", caption)]), role="img", aria_label=caption)


# ---------------------------------------------------------------------------------------------- sections

def _summary(f: Dict[str, Any]) -> Html:
    totals, latency = f["totals"], f["latency"]
    up = sum(r["up"] for r in f["feedback"])
    down = sum(r["down"] for r in f["feedback"])
    cards = [("conversations", totals["conversations"]["total"]),
             ("messages", f"{totals['messages']['total']:,}"),
             ("typed questions", f"{totals['messages']['questions']:,}"),
             *((OUTCOME_LABELS[o.value], percent(totals["rates"][o.value])) for o in RATE_OUTCOMES),
             ("unanswered groups", len(f["groups"])), ("rated helpful / not", f"{up} / {down}"),
             ("latency p50 / p95", f"{ms(latency['p50_ms'])} / {ms(latency['p95_ms'])}")]
    return tag("dl", join(tag("div", join([tag("dt", k), tag("dd", v)]), class_="card") for k, v in cards),
               class_="cards")


def _columns(f: Dict[str, Any], kind: str, key: str) -> List[str]:
    return sorted({k for day in f["days"] for k in day[kind][key]} | set(f["totals"][kind][key]))


def _activity(f: Dict[str, Any]) -> Html:
    channels, languages = _columns(f, "messages", "by_channel"), _columns(f, "messages", "by_language")
    days = [datetime.fromisoformat(d["day"]).date() for d in f["days"]]
    charts = [
        figure(stacked_bars("messages-by-channel", days, {c: [d["messages"]["by_channel"].get(c, 0) for d in f["days"]]
                                                          for c in channels}, "messages"),
               "Messages per day by channel"),
        figure(stacked_bars("messages-by-language", days, {lang: [d["messages"]["by_language"].get(lang, 0)
                                                                  for d in f["days"]] for lang in languages},
                            "messages"), "Messages per day by language"),
    ]
    conversation_languages = _columns(f, "conversations", "by_language")

    def conversations(label: str, a: Dict[str, Any]) -> List[Any]:
        c = a["conversations"]
        return [label, c["total"], *(c["by_channel"].get(ch, 0) for ch in channels),
                *(c["by_language"].get(lang, 0) for lang in conversation_languages)]

    def messages(label: str, a: Dict[str, Any]) -> List[Any]:
        m = a["messages"]
        return [label, m["total"], m["questions"], m["clicks"], *(m["by_channel"].get(ch, 0) for ch in channels),
                *(m["by_language"].get(lang, 0) for lang in languages)]

    periods = [(d["day"], d) for d in f["days"]] + [("whole period", f["totals"])]
    note = tag("p", "A conversation counts on each day it has a message, so the period's total can be lower than "
                    "the sum of its days; its language is that of most of its messages. Clicks are follow-up and "
                    "feedback buttons; a click's language is the conversation's.")
    return join([*charts,
                 table(["day", "conversations", *channels, *(f"in {lang}" for lang in conversation_languages)],
                       [conversations(label, a) for label, a in periods], "Conversations per day"),
                 table(["day", "messages", "typed", "clicks", *channels, *(f"in {lang}" for lang in languages)],
                       [messages(label, a) for label, a in periods], "Messages per day"), note])


def _outcomes(f: Dict[str, Any]) -> Html:
    days = [datetime.fromisoformat(d["day"]).date() for d in f["days"]]
    chart = figure(lines("outcome-rates", days, {OUTCOME_LABELS[o.value]: [d["rates"][o.value] for d in f["days"]]
                                                  for o in RATE_OUTCOMES}, "% of typed questions", percent=True),
                   "Share of typed questions answered, fallback, out of scope and did-you-mean, per day")
    headers = ["day", "typed questions", *(OUTCOME_LABELS[o.value] for o in Outcome)]

    def row(label: str, a: Dict[str, Any]) -> List[Any]:
        n = a["messages"]["questions"]
        return [label, n, *(f"{a['outcomes'][o.value]} ({percent(a['outcomes'][o.value] / n if n else None)})"
                            for o in Outcome)]

    rows = [row(d["day"], d) for d in f["days"]] + [row("whole period", f["totals"])]
    note = tag("p", "Rates are shares of typed questions: button clicks always get their answer. Out of scope: "
                    "the assistant understood a question it does not answer (out_of_scope, ask_unavailable, "
                    "ask_personal_case). No reply: no reply was stored (the visitor got \u201ctry again\u201d).")
    return join([chart, table(headers, rows, "Outcome of typed questions per day"), note])


def _answers(f: Dict[str, Any]) -> Html:
    rows = [[i, a["title"], tag("code", a["entry"]), a["count"], percent(a["share"])]
            for i, a in enumerate(f["top_answers"], start=1)]
    return table(["#", "answer", "entry", "times given", "share of answers"], rows,
                 "Answers given most (typed questions and clicks)")


def _groups(f: Dict[str, Any]) -> Html:
    shown = f["groups"][:SHOWN_GROUPS]
    rows = []
    for g in shown:
        wordings = tag("ul", join(tag("li", f"{w['text']} ({w['count']}, {w['language']})")
                                  for w in g["wordings"][:5]))
        more = f"and {len(g['wordings']) - 5} more wordings" if len(g["wordings"]) > 5 else ""
        intents = ", ".join(f"{i} {c:.2f}" for i, c in g["closest_intents"][:2]) or "–"
        outcomes = ", ".join(f"{OUTCOME_LABELS[o]} {n}" for o, n in g["outcomes"].items())
        rows.append([g["number"], join([wordings, more]), g["count"], len(g["wordings"]),
                     ", ".join(g["languages"]), tag("span", g["first_seen"], class_="when"),
                     tag("span", g["last_seen"], class_="when"), intents, outcomes,
                     tag("a", "transcripts", href=f"#transcript-{g['anchor']}")])
    attributes = [{"id": g["anchor"], "data_group": g["number"], "data_count": g["count"]} for g in shown]
    note = tag("p", f"Typed questions answered with a fallback, a did-you-mean or an out-of-scope reply, grouped "
                    f"by meaning (multilingual sentence encoder). {len(f['groups'])} groups"
                    + (f", the {SHOWN_GROUPS} most asked shown." if len(f["groups"]) > SHOWN_GROUPS else ".")
                    + " \u201cmake review\u201d assigns them to intents, sends them to the content backlog or "
                      "ignores them.")
    return join([note, table(["#", "examples (times, language)", "times asked", "wordings", "languages",
                              "first seen", "last seen", "closest intents (NLU)", "replies", ""], rows,
                             "Unanswered questions by meaning", attributes)])


def _uncertain(f: Dict[str, Any]) -> Html:
    u = f["uncertain"]
    pairs = table(["intents the NLU hesitated between", "times"],
                  [[" / ".join(p["intents"]), p["count"]] for p in u["pairs"]], "Competing intents")
    reasons = {"low_confidence": "low confidence", "ambiguous": "near tie"}
    rows = [[tag("span", t["at"], class_="when"), t["text"], reasons.get(t["reason"], t["reason"]),
             *(f"{i} {c:.2f}" for i, c in (t["intents"] + [["–", 0.0]] * 2)[:2]), OUTCOME_LABELS[t["reply"]]]
            for t in u["turns"][:SHOWN_UNCERTAIN]]
    note = tag("p", f"{u['count']} typed questions on which the NLU fell back: {u['low_confidence']} below the "
                    f"confidence threshold, {u['near_tie']} with its two best intents in a near tie (thresholds: "
                    "config.yml)." + (f" The first {SHOWN_UNCERTAIN} are listed." if u["count"] > SHOWN_UNCERTAIN
                                      else ""))
    return join([note, pairs, table(["time", "question", "why", "best intent", "second intent", "reply"], rows,
                                    "Questions the NLU was unsure about")])


def _feedback(f: Dict[str, Any]) -> Html:
    rows = []
    for r in f["feedback"]:
        comments = tag("ul", join(tag("li", f"{c['text']} ({c['rating'] or 'no rating'}"
                                             + (f", {c['reason']})" if c["reason"] else ")"))
                                  for c in r["comments"])) if r["comments"] else "–"
        rows.append([r["title"], tag("code", r["entry"]), r["up"], r["down"], *r["reasons"].values(), comments])
    reasons = list(f["feedback"][0]["reasons"]) if f["feedback"] else []
    return join([tag("p", "One rating per conversation and answer: the visitor's latest rating, reason and comment."),
                 table(["answer", "entry", "helpful", "not helpful", *reasons, "comments"], rows,
                       "Visitors' ratings per answer")])


def _latency(f: Dict[str, Any]) -> Html:
    lat = f["latency"]
    days = [datetime.fromisoformat(d["day"]).date() for d in f["days"]]
    by_day = {d["day"]: d for d in lat["by_day"]}
    chart = figure(lines("latency", days, {p: [by_day.get(d["day"], {}).get(f"{p}_ms") for d in f["days"]]
                                           for p in ("p50", "p95")}, "milliseconds"), "Reply latency per day")
    rows = [["all channels", lat["count"], ms(lat["p50_ms"]), ms(lat["p95_ms"])]]
    rows += [[c, v["count"], ms(v["p50_ms"]), ms(v["p95_ms"])] for c, v in lat["by_channel"].items()]
    return join([tag("p", join(["Measured from ", tag("strong", lat["source"]), "."]), class_="source"), chart,
                 table(["channel", "turns", "p50", "p95"], rows, "Reply latency")])


def _transcripts(groups: Sequence[Group], scan: Scan) -> Html:
    by_conversation: Dict[int, List[Turn]] = defaultdict(list)
    for turn in scan.turns:
        by_conversation[turn.conversation].append(turn)
    parts = []
    for group in groups[:SHOWN_GROUPS]:
        asked = {(t.conversation, t.position) for t in group.turns}
        conversations = sorted({t.conversation for t in group.turns})
        articles = [_conversation(by_conversation[c], asked) for c in conversations[:TRANSCRIPTS_PER_GROUP]]
        more = (tag("p", f"and {len(conversations) - TRANSCRIPTS_PER_GROUP} more conversations")
                if len(conversations) > TRANSCRIPTS_PER_GROUP else "")
        title = join([f"Group {group.number}: \u201c{group.wordings[0].text}\u201d ",
                      tag("a", "back to the table", href=f"#{group.anchor}", class_="back")])
        parts.append(tag("section", join([tag("h3", title), *articles, more]), id=f"transcript-{group.anchor}",
                         class_="transcript"))
    if not parts:
        return tag("p", "Nothing in this period.", class_="empty")
    return join([tag("p", "Each unanswered question in its conversation (the messages around it); the question "
                          "is highlighted. Conversations are numbered, not named: ids can be personal."), *parts])


def _conversation(turns: List[Turn], asked: set) -> Html:
    marked = [i for i, t in enumerate(turns) if (t.conversation, t.position) in asked]
    keep = sorted({j for i in marked for j in range(i - CONTEXT_TURNS, i + CONTEXT_TURNS + 1) if 0 <= j < len(turns)})
    items, previous = [], -1
    for i in keep:
        if i > previous + 1:
            items.append(tag("li", "…", class_="gap"))
        t = turns[i]
        reply = " ".join(" ".join(t.replies).split())
        reply = reply[:REPLY_CHARS] + ("…" if len(reply) > REPLY_CHARS else "")
        moment = t.at.strftime("%H:%M" if t.day == turns[0].day else "%Y-%m-%d %H:%M")
        items.append(tag("li", join([tag("span", moment, class_="time"),
                                     tag("p", join([tag("b", "Visitor (button): " if t.payload else "Visitor: "),
                                                    t.text]), class_="visitor"),
                                     tag("p", join([tag("b", f"Assistant ({OUTCOME_LABELS[t.outcome.value]}): "),
                                                    reply or "–"]), class_="assistant")]),
                         class_="asked" if i in marked else None))
        previous = i
    if keep and keep[-1] < len(turns) - 1:
        items.append(tag("li", "…", class_="gap"))
    first = turns[0]
    header = f"Conversation {first.conversation} · {first.channel} · {first.at:%Y-%m-%d}"
    return tag("article", join([tag("h4", header), tag("ol", join(items))]))


# ---------------------------------------------------------------------------------------------- the page

STYLE = """
:root { --ink: #1a1a1a; --muted: #555; --line: #d0d0d0; --accent: #0033a0; --mark: #fff4c2; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
       Roboto, Arial, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; color: var(--accent); }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
h4 { font-size: .95rem; margin: .8rem 0 .3rem; color: var(--muted); }
a { color: var(--accent); }
.meta { color: var(--muted); margin: 0; }
nav ol { columns: 3; padding-left: 1.2rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(10.5rem, 1fr)); gap: .6rem; margin: 0; }
.card { border: 1px solid var(--line); border-radius: .4rem; padding: .5rem .7rem; }
.card dt { font-size: .8rem; color: var(--muted); }
.card dd { margin: 0; font-size: 1.25rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .85rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .45rem; text-align: left; vertical-align: top; }
th { background: #f3f5fa; }
td ul { margin: 0; padding-left: 1rem; }
tbody tr:target { background: var(--mark); }
figure { margin: .8rem 0; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: .85rem; color: var(--muted); }
code { font-size: .85em; }
.when { white-space: nowrap; }
.empty, .source { color: var(--muted); }
.transcript article { border-left: 3px solid var(--line); padding-left: .8rem; margin: .6rem 0; }
.transcript ol { list-style: none; padding: 0; margin: 0; }
.transcript li { margin: .25rem 0; }
.transcript li.asked { background: var(--mark); }
.transcript li p { margin: 0; }
.transcript .time { float: right; color: var(--muted); font-size: .8rem; }
.transcript .gap { color: var(--muted); }
.back { font-size: .8rem; font-weight: normal; margin-left: .5rem; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, .back { display: none; }
  h2 { break-after: avoid; }
  figure, .card, tr, article, h3, h4 { break-inside: avoid; }
  table { font-size: 8.5pt; }
  th { background: #fff; border-bottom: 2px solid #000; }
  a { color: inherit; text-decoration: none; }
  .transcript li.asked, tbody tr:target { background: none; outline: 1px solid #000; }
  section#transcripts { break-before: page; }
}
"""
# No script may run and nothing may load: the file must stay one self-contained document.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _json_block(data: Dict[str, Any]) -> Html:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # cannot close the element
    return Html(f'<script type="application/json" id="report-data">{text}</script>')


def render(scan: Scan, groups: Sequence[Group], latencies: Latencies, titles: Mapping[str, str],
           generated: datetime) -> str:
    f = figures(scan, groups, latencies, titles)
    f["generated"] = generated.strftime("%Y-%m-%d %H:%M %Z")
    bodies = {"summary": _summary(f), "activity": _activity(f), "outcomes": _outcomes(f), "answers": _answers(f),
              "unanswered": _groups(f), "uncertain": _uncertain(f), "feedback": _feedback(f), "latency": _latency(f),
              "transcripts": _transcripts(groups, scan)}
    sections = join(tag("section", join([tag("h2", title), bodies[key]]), id=key)
                    for key, title in SECTIONS)
    nav = tag("nav", tag("ol", join(tag("li", tag("a", title, href=f"#{key}")) for key, title in SECTIONS)),
              aria_label="Sections")
    period = f"{f['period']['from']} to {f['period']['to']} ({f['period']['timezone']})"
    header = tag("header", join([tag("h1", "IOM Brussels assistant: conversations report"),
                                 tag("p", f"{period} · {scan.events:,} events read from {scan.source} · "
                                          f"generated {f['generated']}", class_="meta")]))
    title = f"Conversations report {f['period']['from']} to {f['period']['to']}"
    return ("<!DOCTYPE html>\n" + tag("html", join([
        tag("head", join([Html('<meta charset="utf-8">'),
                          Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
                          Html(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'),
                          tag("title", title), tag("style", Html(STYLE))])),
        tag("body", join([header, nav, tag("main", sections), _json_block(f)]))]), lang="en") + "\n")


def content_titles() -> Dict[str, str]:
    """Content entry id -> English title; ids only if the content does not load (the report still works)."""
    from bot.answers.content_store import ContentError, load_content
    try:
        return {i: e.title["en"] for i, e in load_content(settings().content_dir).entries.items()}
    except ContentError as exc:
        print(f"warning: the content store did not load ({exc}); answers are shown by id", file=sys.stderr)
        return {}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scan_arguments(parser)
    parser.add_argument("--turn-log", type=Path, help="server output with the iom.turns lines, for the latency "
                        "(default: measured in the tracker store)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the HTML file to write (default: %(default)s)")
    parser.add_argument("--group-distance", type=float, default=DEFAULT_DISTANCE,
                        help="how far apart (cosine distance) questions of one group may be (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.turn_log and not args.turn_log.is_file():
        raise SystemExit(f"error: --turn-log {args.turn_log}: no such file")
    scan = scan_from_arguments(args)
    groups = group_by_meaning(scan.turns, args.group_distance, sys.stderr)
    latencies = from_turn_log(args.turn_log, scan.period) if args.turn_log else from_turns(scan.turns)
    page = render(scan, groups, latencies, content_titles(), datetime.now(scan.period.zone))
    write_atomically(args.out, page)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
