#!/usr/bin/env bash
# What a team would receive from vigil with a given detector config.
#
# Usage: scripts/bench_alert_week.sh [--vigil PATH] [--days 28] [--checked-days 7]
#            [--seed 42] [--now "2026-11-30 00:00:00"] [--users N] [--config FILE]
#            [--label NAME] [--fake-telegram] [--replay] [--keep]
#
# 1. Simulates a fresh embedded store in a temp dir:
#      vigil simulate --reset --days D --seed S --now NOW --data-dir DIR
#    (always without --config, so every detector config is judged on the same
#    events; the fixed --now makes the events and incidents reproducible).
# 2. Replays a live instance: `vigil check --at <bucket end + 120 s>
#    --grace-seconds 120` for every 15-minute bucket of the last
#    --checked-days days before NOW, oldest first, on the same data dir, so
#    the alert state (vigil-state.sqlite) carries over from check to check.
#    --config FILE (default: none, the embedded default) is passed to every
#    check. A config that sends to Telegram or reads ClickHouse is refused.
# 3. Counts what would have been sent, from the state file's outbox. Without
#    Telegram every notification is queued there and "delivered" to the log,
#    item for item as it would go to Telegram. A "message" is what lands in
#    the chat as a new message, grouped as vigil's delivery groups the outbox
#    (delivery/mod.rs, batch_len): consecutive outbox items of one check of
#    kind `opened` are one message (the chart + the group list); every
#    `repeat` is one reply message; `resolved` items edit the original
#    message (counted as edits, not messages). Caption overflow follow-ups
#    (a caption over 1024 characters) are not in the outbox; --fake-telegram
#    counts them (see below).
#    Inside/outside an incident: an alert (its first bucket) or a
#    notification (the bucket that caused it) is inside when the bucket lies
#    in [start, end + 4 buckets) of a labelled incident of the SAME metric.
#    Slice incidents count for every alert of their metric (whole or any
#    slice), as `vigil tune` treats them as neutral. A message is inside when
#    any alert it announces is inside. A second, "related" figure also
#    counts incidents of another metric of the same source table
#    (feed_* / messenger_active_users + messages_sent), since a feed outage
#    also empties feed_active_users, feed_likes and feed_ctr.
#    Per whole-metric incident starting in the checked window: the delay in
#    buckets from its start to the first alert opened on the whole metric in
#    [start, end + 4 buckets), or "missed" (or "already firing" when an alert
#    on the whole metric opened earlier was still open at its start).
#    Messages per incident: the messages inside incidents over the incidents
#    overlapping the checked window (whole or slice, the 4-bucket tail
#    included, also those that got no message); each message counts once,
#    for the first incident it is inside.
# 4. Prints a report and, as the last line, one JSON object.
#
# --fake-telegram additionally configures [telegram] against a local fake Bot
# API (python3 http.server) and reports the requests it received (sendPhoto,
# sendMessage with/without reply, editMessageCaption, ...), a cross-check of
# the outbox count. It renders a chart per alert message, so it is slower.
# --replay runs one `vigil replay` over the checked window instead of a
# `vigil check --at` per bucket: the same decision (tests walk both and
# compare), counted from its CSV instead of the state file, in seconds
# instead of minutes. Not with --fake-telegram.
# --keep keeps the temp dir (store, state file, logs) and prints its path.
# Needs: vigil, python3 (its sqlite3 module), bash.
set -euo pipefail

VIGIL="" DAYS=28 CHECKED_DAYS=7 SEED=42 NOW="2026-11-30 00:00:00" USERS=""
CONFIG="" LABEL="" FAKE_TELEGRAM=0 KEEP=0 REPLAY=0
GRACE=120

die() { echo "bench_alert_week: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --vigil) VIGIL="${2:?--vigil needs a path}"; shift 2 ;;
        --days) DAYS="${2:?}"; shift 2 ;;
        --checked-days) CHECKED_DAYS="${2:?}"; shift 2 ;;
        --seed) SEED="${2:?}"; shift 2 ;;
        --now) NOW="${2:?}"; shift 2 ;;
        --users) USERS="${2:?}"; shift 2 ;;
        --config) CONFIG="${2:?}"; shift 2 ;;
        --label) LABEL="${2:?}"; shift 2 ;;
        --fake-telegram) FAKE_TELEGRAM=1; shift ;;
        --keep) KEEP=1; shift ;;
        --replay) REPLAY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[ "$REPLAY" = 0 ] || [ "$FAKE_TELEGRAM" = 0 ] || die "--replay sends nothing: it cannot be combined with --fake-telegram"
command -v python3 >/dev/null || die "python3 is needed (for the counting and its sqlite3 module)"
if [ -z "$VIGIL" ]; then
    here="$(cd "$(dirname "$0")/.." && pwd)"
    if [ -x "$here/target/release/vigil" ]; then VIGIL="$here/target/release/vigil"
    elif command -v vigil >/dev/null; then VIGIL="$(command -v vigil)"
    else die "no vigil binary: pass --vigil PATH (or build target/release/vigil)"; fi
fi
[ -x "$VIGIL" ] || die "--vigil $VIGIL is not executable"
case "$DAYS" in ''|*[!0-9]*) die "--days must be a whole number of days" ;; esac
case "$SEED" in ''|*[!0-9]*) die "--seed must be a non-negative integer" ;; esac
[ -z "$USERS" ] || case "$USERS" in *[!0-9]*) die "--users must be a number" ;; esac
# Checked buckets: --checked-days may be fractional (1.5 = 144 buckets).
CHECKS=$(python3 -c 'import sys; d=float(sys.argv[1]); print(int(round(d*96)))' "$CHECKED_DAYS") \
    || die "--checked-days must be a number"
[ "$CHECKS" -ge 1 ] || die "--checked-days must cover at least one bucket"
[ "$CHECKS" -le $((DAYS * 96 - 96)) ] || die "--checked-days must leave at least a day of history before the checked window"
NOW_TS=$(python3 -c '
import sys, datetime
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp()) // 900 * 900)' "$NOW") || die "--now must be \"YYYY-MM-DD HH:MM:SS\" (UTC)"
FIRST_BUCKET=$((NOW_TS - CHECKS * 900))

# Nothing from the caller's environment may redirect vigil (a real bot token!).
unset VIGIL_CONFIG VIGIL_DATA_DIR VIGIL_TELEGRAM_TOKEN VIGIL_GRACE_SECONDS VIGIL_OPERATOR_TOKEN
export VIGIL_LOG_FORMAT=human

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench_alert_week.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then echo "bench_alert_week: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATA="$WORK/data"
CFG_ARGS=()
CONFIG_NAME="(embedded default)"
if [ -n "$CONFIG" ]; then
    [ -f "$CONFIG" ] || die "--config $CONFIG: no such file"
    CONFIG="$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")"
    CONFIG_NAME="$CONFIG"
    summary="$("$VIGIL" config check --config "$CONFIG" 2>&1)" || { echo "$summary" >&2; die "--config $CONFIG is not valid"; }
    case "$summary" in *"source sqlite"*) ;; *) die "--config must use the embedded sqlite source (got: $summary)" ;; esac
    case "$summary" in *"alerts to the log"*) ;; *) die "--config sends to Telegram; the bench must not (use --fake-telegram without a [telegram] section)" ;; esac
    CFG_ARGS=(--config "$CONFIG")
fi
[ -n "$LABEL" ] || LABEL="$(basename "${CONFIG:-default}" .toml)"

if [ "$FAKE_TELEGRAM" = 1 ]; then
    if [ -n "$CONFIG" ] && grep -Eq '^[[:space:]]*\[telegram\]' "$CONFIG"; then
        die "--fake-telegram: $CONFIG already has a [telegram] section"
    fi
    cat >"$WORK/fake_telegram.py" <<'PY'
# A fake Telegram Bot API: answers every method with ok and logs each call.
import json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

log = open(sys.argv[1], "a", buffering=1)
next_id = [1000]

class Bot(BaseHTTPRequestHandler):
    def do_POST(self):
        method = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = False
        if "json" in (self.headers.get("Content-Type") or ""):
            try:
                reply = "reply_to_message_id" in json.loads(body or b"{}")
            except ValueError:
                pass
        log.write(f"{method}\t{int(reply)}\n")
        if method == "getUpdates":
            result = []
        elif method in ("sendPhoto", "sendMessage"):
            next_id[0] += 1
            result = {"message_id": next_id[0], "chat": {"id": -100123, "type": "supergroup"},
                      "date": int(time.time())}
        else:  # editMessageCaption, editMessageText, answerCallbackQuery, ...
            result = True
        out = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Bot)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
PY
    : >"$WORK/telegram_requests.tsv"
    python3 "$WORK/fake_telegram.py" "$WORK/telegram_requests.tsv" "$WORK/telegram_port" &
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$WORK/telegram_port" ] && break; sleep 0.1; done
    [ -s "$WORK/telegram_port" ] || die "the fake Telegram server did not start"
    port="$(cat "$WORK/telegram_port")"
    {
        [ -z "$CONFIG" ] || cat "$CONFIG"
        printf '\n[telegram]\ntoken = "123456789:BENCHbenchBENCHbenchBENCH"\nchat = -100123\n'
        printf 'api_url = "http://127.0.0.1:%s"\npoll_updates = false\n' "$port"
    } >"$WORK/with_telegram.toml"
    if [ -n "$CONFIG" ] && grep -Eq '^[^#]*model[[:space:]]*=' "$CONFIG"; then
        echo "bench_alert_week: warning: model paths in $CONFIG now resolve against $WORK" >&2
    fi
    "$VIGIL" config check --config "$WORK/with_telegram.toml" >/dev/null
    CFG_ARGS=(--config "$WORK/with_telegram.toml")
fi

now_s() { python3 -c 'import time; print(time.time())'; }
fmt_time() { python3 -c 'import sys,datetime; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))' "$1"; }
echo "bench_alert_week [$LABEL]: vigil $VIGIL, config $CONFIG_NAME" >&2
echo "  simulating $DAYS days up to $NOW (seed $SEED${USERS:+, $USERS users})" >&2
sim_start=$(now_s)
if ! "$VIGIL" simulate --reset --days "$DAYS" --seed "$SEED" --now "$NOW" --data-dir "$DATA" \
        ${USERS:+--users "$USERS"} >"$WORK/simulate.log" 2>&1; then
    cat "$WORK/simulate.log" >&2; die "vigil simulate failed"
fi
sim_end=$(now_s)
loop_start=$(now_s)
REPLAY_CSV=""
if [ "$REPLAY" = 1 ]; then
    echo "  replaying $CHECKS buckets from $(fmt_time "$FIRST_BUCKET") to $(fmt_time $((NOW_TS - 900))) (one vigil replay)" >&2
    REPLAY_CSV="$WORK/replay.csv"
    if ! "$VIGIL" replay --from "$FIRST_BUCKET" --to "$((NOW_TS + GRACE))" \
            --data-dir "$DATA" ${CFG_ARGS[@]+"${CFG_ARGS[@]}"} >"$REPLAY_CSV" 2>"$WORK/replay.log"; then
        tail -n 20 "$WORK/replay.log" >&2
        die "vigil replay failed"
    fi
else
echo "  checking $CHECKS buckets from $(fmt_time "$FIRST_BUCKET") to $(fmt_time $((NOW_TS - 900))) (one vigil check --at each)" >&2
i=0
while [ "$i" -lt "$CHECKS" ]; do
    bucket=$((FIRST_BUCKET + i * 900))
    if ! "$VIGIL" check --at "$((bucket + 900 + GRACE))" --grace-seconds "$GRACE" \
            --data-dir "$DATA" ${CFG_ARGS[@]+"${CFG_ARGS[@]}"} >/dev/null 2>"$WORK/check.log"; then
        tail -n 20 "$WORK/check.log" >&2
        die "vigil check --at $((bucket + 900 + GRACE)) (bucket $(fmt_time "$bucket")) failed"
    fi
    i=$((i + 1))
    if [ $((i % 96)) -eq 0 ] || [ "$i" -eq "$CHECKS" ]; then
        python3 -c 'import sys,time; print("  %d/%d checks, %.0f s" % (int(sys.argv[1]), int(sys.argv[2]), time.time()-float(sys.argv[3])))' \
            "$i" "$CHECKS" "$loop_start" >&2
    fi
done
fi
loop_end=$(now_s)

TELEGRAM_LOG=""
[ "$FAKE_TELEGRAM" = 1 ] && TELEGRAM_LOG="$WORK/telegram_requests.tsv"

python3 - "$DATA/vigil.sqlite" "$DATA/vigil-state.sqlite" "$FIRST_BUCKET" "$NOW_TS" "$CHECKS" \
    "$LABEL" "$CONFIG_NAME" "$SEED" "$DAYS" "$NOW" "$sim_start" "$sim_end" "$loop_start" "$loop_end" \
    "$VIGIL" "$TELEGRAM_LOG" "$REPLAY_CSV" <<'PY'
import collections, csv, datetime, json, sqlite3, sys

(store, state, first, end, checks, label, config, seed, days, now, sim_start, sim_end,
 loop_start, loop_end, vigil, telegram_log, replay_csv) = sys.argv[1:]
first, end, checks, seed, days = int(first), int(end), int(checks), int(seed), int(days)
B = 900
TAIL = 4 * B  # an alert up to 4 buckets after an incident still belongs to it
weeks = checks / (7 * 96)
wall = float(loop_end) - float(loop_start)

def t(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")

def table_of(metric):
    if metric.startswith("feed_"):
        return "feed_actions"
    if metric.startswith("messenger_") or metric == "messages_sent":
        return "message_actions"
    return metric  # a metric of the config: only its own incidents

src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
incidents = [dict(zip(("id", "start", "end", "kind", "metric", "dim", "value", "description"), r))
             for r in src.execute('SELECT id, "start", "end", kind, metric, slice_dimension, '
                                  "slice_value, description FROM incidents "
                                  # Experiments are labelled too (their treatment group as a
                                  # slice, for days): not incidents an alert should match.
                                  "WHERE kind NOT LIKE 'experiment%' ORDER BY \"start\"")]

def incident_at(metric, bucket, related=False):
    for i in incidents:
        same = i["metric"] == metric or (related and table_of(i["metric"]) == table_of(metric))
        if same and i["start"] <= bucket < i["end"] + TAIL:
            return i
    return None

def from_state():
    st = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    alerts = [dict(zip(("id", "metric", "dim", "value", "started", "resolved", "muted", "deviation"), r))
              for r in st.execute("SELECT id, metric, slice_dimension, slice_value, started_at, "
                                  "resolved_at, muted, deviation FROM alerts ORDER BY id")]
    items = []
    for oid, alert_id, kind, payload in st.execute(
            "SELECT id, alert_id, kind, payload FROM outbox ORDER BY id"):
        p = json.loads(payload)
        items.append({"id": oid, "alert": alert_id, "kind": kind, "metric": p["metric"],
                      "slice": p.get("slice"), "bucket": p["bucket"], "notice": p.get("notice")})
    return alerts, items

def from_replay():
    # `vigil replay` lists a metric's notifications at a time; the outbox holds
    # them check by check (metric order kept within a check).
    def ts(text):
        return int(datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
                   .replace(tzinfo=datetime.timezone.utc).timestamp())
    rows = sorted(csv.DictReader(open(replay_csv)), key=lambda r: ts(r["bucket"]))
    ids, alerts, items = {}, [], []
    for r in rows:
        dim, _, value = r["slice"].partition("=")
        key = (r["metric"], r["slice"], r["started_at"])
        if key not in ids:
            ids[key] = len(ids) + 1
            alerts.append({"id": ids[key], "metric": r["metric"], "dim": dim or None,
                           "value": value or None, "started": ts(r["started_at"]), "resolved": None,
                           "muted": r["muted"] == "true",
                           "deviation": float(r["deviation"]) if r["deviation"] else None})
        if r["notify"] == "resolved":
            alerts[ids[key] - 1]["resolved"] = ts(r["bucket"])
        if r["muted"] == "true":
            continue  # recorded, not queued
        items.append({"id": len(items) + 1, "alert": ids[key], "kind": r["notify"],
                      "metric": r["metric"], "slice": r["slice"] or None,
                      "bucket": ts(r["bucket"]), "notice": None})
    return alerts, items

alerts, items = from_replay() if replay_csv else from_state()

# Delivery's grouping (delivery/mod.rs batch_len): consecutive items of one check
# (one process delivers only its own items) and one kind; repeats and notices alone.
batches = []
for it in items:
    last = batches[-1] if batches else None
    if (last and it["kind"] in ("opened", "resolved") and not it["notice"]
            and last[0]["kind"] == it["kind"] and not last[0]["notice"]
            and last[0]["bucket"] == it["bucket"]):
        last.append(it)
    else:
        batches.append([it])

message_of = {}  # alert id -> index of the message that announced it
messages = []    # (kind, bucket, members)
edits = 0
for batch in batches:
    kind = batch[0]["kind"]
    if kind == "reopened":
        # A flapping alert firing again edits its original message.
        edits += 1
        continue
    if kind == "resolved":
        # One edit per original message; an alert never announced gets a short
        # new message instead (does not happen without silences).
        originals = {message_of.get(it["alert"]) for it in batch}
        edits += len(originals - {None})
        for it in batch:
            if message_of.get(it["alert"]) is None:
                messages.append(("resolved", it["bucket"], [it]))
        continue
    messages.append((kind, batch[0]["bucket"], batch))
    for it in batch:
        message_of.setdefault(it["alert"], len(messages) - 1)

def inside_any(members, related=False):
    return any(incident_at(m["metric"], m["bucket"], related) for m in members)

out_msgs = [m for m in messages if not inside_any(m[2])]
out_msgs_rel = [m for m in messages if not inside_any(m[2], related=True)]
opened_msgs = [m for m in messages if m[0] == "opened"]
repeat_msgs = [m for m in messages if m[0] == "repeat"]
out_alerts = [a for a in alerts if not incident_at(a["metric"], a["started"])]
out_alerts_rel = [a for a in alerts if not incident_at(a["metric"], a["started"], related=True)]

# Messages per incident: a message inside an incident counts for the first
# incident of its alerts' metric it falls in; every incident overlapping the
# checked window (tail included) counts, also one that got no message.
window_incidents = [i for i in incidents if i["start"] < end and i["end"] + TAIL > first]
by_incident = collections.Counter()
for m in messages:
    hit = next(filter(None, (incident_at(x["metric"], x["bucket"]) for x in m[2])), None)
    if hit:
        by_incident[hit["id"]] += 1
msgs_inside = sum(by_incident.values())
per_incident = round(msgs_inside / len(window_incidents), 2) if window_incidents else None

# Incidents: delays.
report_incidents = []
for i in incidents:
    entry = {"id": i["id"], "kind": i["kind"], "metric": i["metric"],
             "slice": f'{i["dim"]}={i["value"]}' if i["dim"] else None,
             "start": t(i["start"]), "end": t(i["end"])}
    if not (first <= i["start"] < end):
        entry["status"] = "not in checked window"
        report_incidents.append(entry)
        continue
    def first_alert(whole_only):
        hits = [a for a in alerts if a["metric"] == i["metric"]
                and (a["dim"] is None or not whole_only)
                and i["start"] <= a["started"] < i["end"] + TAIL]
        return min(hits, key=lambda a: a["started"]) if hits else None
    anyslice = first_alert(False)
    entry["first_alert_any_slice_delay"] = (anyslice["started"] - i["start"]) // B if anyslice else None
    if i["dim"] is None:
        whole = first_alert(True)
        if whole:
            entry["delay_buckets"] = (whole["started"] - i["start"]) // B
            entry["first_alert_deviation"] = (round(whole["deviation"], 3)
                                              if whole["deviation"] is not None else None)
            entry["status"] = "alerted"
        else:
            entry["delay_buckets"] = None
            before = [a for a in alerts if a["metric"] == i["metric"] and a["dim"] is None
                      and a["started"] < i["start"]
                      and (a["resolved"] is None or a["resolved"] > i["start"])]
            entry["status"] = ("already firing since %s" % t(before[0]["started"])) if before else "missed"
    else:
        entry["status"] = "slice incident (neutral; no delay target)"
    report_incidents.append(entry)
whole_in = [e for e in report_incidents if e["slice"] is None and e["status"] != "not in checked window"]
caught2 = [e for e in whole_in if e.get("delay_buckets") is not None and e["delay_buckets"] <= 2]

telegram = None
if telegram_log:
    calls = collections.Counter()
    for line in open(telegram_log):
        method, reply = line.rstrip("\n").split("\t")
        calls[method + (" (reply)" if reply == "1" else "")] += 1
    telegram = dict(sorted(calls.items()))
    telegram["new_messages"] = sum(n for k, n in calls.items()
                                   if k.split()[0] in ("sendPhoto", "sendMessage"))

# Where the noise comes from.
by_hour = collections.Counter(datetime.datetime.fromtimestamp(m[1], datetime.timezone.utc).hour
                              for m in out_msgs)
by_metric = collections.Counter(a["metric"] + ("" if a["dim"] is None else " (slices)")
                                for a in out_alerts)
by_slice = collections.Counter(f'{a["metric"]} {a["dim"]}={a["value"]}' if a["dim"] else a["metric"]
                               for a in out_alerts)
out_msg_metric = collections.Counter()
for m in out_msgs:
    members = m[2]
    whole = [x for x in members if x["slice"] is None]
    out_msg_metric[(whole or members)[0]["metric"]] += 1
sizes = collections.Counter(len(m[2]) for m in opened_msgs)

def pw(n):
    return round(n / weeks, 1)

print()
print(f"== bench_alert_week [{label}]")
print(f"vigil {vigil}; config {config}")
print(f"store: {days} days up to {now} UTC, seed {seed}; simulate {float(sim_end) - float(sim_start):.1f} s")
print(f"checked: {checks} buckets ({checks / 96:g} days = {weeks:.2f} weeks) {t(first)} .. {t(end - B)}, "
      f"{'one `vigil replay`' if replay_csv else 'one `vigil check --at` each'}: {wall:.0f} s wall ({wall / checks:.3f} s per check)")
print(f"alerts opened: {len(alerts)} ({len(out_alerts)} outside incidents, "
      f"{len(out_alerts_rel)} outside incl. related metrics); "
      f"whole-metric {sum(a['dim'] is None for a in alerts)}, slices {sum(a['dim'] is not None for a in alerts)}")
print(f"outbox: {sum(x['kind'] == 'opened' for x in items)} opened, "
      f"{sum(x['kind'] == 'repeat' for x in items)} repeat, {sum(x['kind'] == 'resolved' for x in items)} resolved")
print(f"messages: {len(messages)} = {len(opened_msgs)} alert messages (grouped) + {len(repeat_msgs)} repeat replies; "
      f"{edits} resolution edits (not new messages)")
print(f"messages outside incidents: {len(out_msgs)} = {pw(len(out_msgs))} per week "
      f"(incl. related metrics' incidents as inside: {len(out_msgs_rel)} = {pw(len(out_msgs_rel))} per week)")
print(f"messages inside incidents: {msgs_inside} over {len(window_incidents)} incidents = "
      f"{per_incident} per incident (" + ", ".join(f'#{i["id"]} {i["metric"]}'
      + (f' [{i["dim"]}={i["value"]}]' if i["dim"] else "") + f': {by_incident[i["id"]]}'
      for i in window_incidents) + ")")
print(f"  outside, alert messages {sum(m[0] == 'opened' for m in out_msgs)}, repeat replies {sum(m[0] == 'repeat' for m in out_msgs)}")
print(f"  alerts per alert message: " + ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())))
print(f"  outside messages by leading metric: " + ", ".join(f"{k} {v}" for k, v in out_msg_metric.most_common()))
print(f"  outside alerts by metric: " + ", ".join(f"{k} {v}" for k, v in by_metric.most_common()))
print(f"  outside alerts, top series: " + ", ".join(f"{k} {v}" for k, v in by_slice.most_common(8)))
print(f"  outside messages by hour (UTC): " + " ".join(f"{h:02d}h:{by_hour[h]}" for h in range(24) if by_hour[h]))
print("incidents:")
for e in report_incidents:
    what = f'#{e["id"]} {e["kind"]} {e["metric"]}' + (f' [{e["slice"]}]' if e["slice"] else "")
    extra = ""
    if "delay_buckets" in e and e["delay_buckets"] is not None:
        extra = f': first whole-metric alert after {e["delay_buckets"]} buckets'
        if e.get("first_alert_deviation") is not None:
            extra += f' ({e["first_alert_deviation"] * 100:+.0f}% vs expected)'
    elif e["status"] not in ("not in checked window",):
        extra = f': {e["status"]}'
    if e.get("first_alert_any_slice_delay") is not None:
        extra += f' (first alert on any slice of it: {e["first_alert_any_slice_delay"]} buckets)'
    if e["status"] == "not in checked window":
        extra = ": not in the checked window"
    print(f"  {what} {e['start']} .. {e['end']}{extra}")
print(f"whole-metric incidents alerted within 2 buckets: {len(caught2)} of {len(whole_in)}")
if telegram is not None:
    print(f"fake Telegram received: " + ", ".join(f"{k} {v}" for k, v in telegram.items()))
summary = {
    "label": label, "config": config, "vigil": vigil, "seed": seed, "days": days, "now": now,
    "checked_days": round(checks / 96, 3), "checks": checks, "wall_seconds": round(wall, 1),
    "seconds_per_check": round(wall / checks, 3),
    "alerts_opened": len(alerts), "alerts_outside": len(out_alerts),
    "alerts_outside_related": len(out_alerts_rel),
    "messages": len(messages), "alert_messages": len(opened_msgs), "repeat_messages": len(repeat_msgs),
    "resolution_edits": edits,
    "messages_outside": len(out_msgs), "messages_outside_per_week": pw(len(out_msgs)),
    "messages_outside_related": len(out_msgs_rel),
    "messages_outside_related_per_week": pw(len(out_msgs_rel)),
    "messages_inside": msgs_inside, "incidents_in_window": len(window_incidents),
    "messages_per_incident": per_incident,
    "whole_incidents_within_2": f"{len(caught2)}/{len(whole_in)}",
    "incidents": report_incidents,
    "fake_telegram": telegram,
}
print(json.dumps(summary, separators=(",", ":")))
PY
