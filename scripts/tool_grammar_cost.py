#!/usr/bin/env python3
"""Decode time per token with and without a forced 10-tool grammar, through moxing serve.
usage: ROUNDS=4 [ONLY=required] tool_grammar_cost.py URL
(a `moxing serve` with a Hermes template on a 151k-vocabulary model, e.g. a forged Qwen2.5-0.5B)"""
import json, sys, time, urllib.request
URL = sys.argv[1]
S = [
 ("get_weather", {"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}),
 ("get_time", {"type":"object","properties":{"zone":{"enum":["utc","local"]}},"required":["zone"]}),
 ("search_web", {"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}},"required":["query"]}),
 ("read_file", {"type":"object","properties":{"path":{"type":"string"},"lines":{"type":"array","items":{"type":"integer"}}},"required":["path"]}),
 ("send_email", {"type":"object","properties":{"to":{"type":"string"},"subject":{"type":"string"},"body":{"type":"string"}},"required":["to","body"]}),
 ("calculate", {"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},"op":{"enum":["add","sub","mul","div"]}},"required":["a","b","op"]}),
 ("create_task", {"type":"object","properties":{"title":{"type":"string"},"due":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["title"]}),
 ("lookup_user", {"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]}},"required":["user"]}),
 ("http_request", {"type":"object","properties":{"url":{"type":"string"},"method":{"enum":["GET","POST"]},"headers":{"type":"object"}},"required":["url"]}),
 ("run_python", {"type":"object","properties":{"code":{"type":"string"},"timeout":{"type":"integer"}},"required":["code"]}),
]
TOOLS = [{"type":"function","function":{"name":n,"description":n.replace("_"," "),"parameters":p}} for n,p in S]

def stream(body):
    body = dict(body, stream=True, stream_options={"include_usage": True})
    req = urllib.request.Request(URL + "/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    first = last = None; n = 0; usage = None
    with urllib.request.urlopen(req) as r:
        for line in r:
            line = line.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]": continue
            e = json.loads(line[6:])
            if e.get("usage"): usage = e["usage"]
            if e.get("choices"):
                now = time.perf_counter()
                if first is None: first = now
                last = now; n += 1
    return usage["completion_tokens"], (last - first), n

def itl():
    text = urllib.request.urlopen(URL + "/metrics").read().decode()
    v = {}
    for l in text.splitlines():
        for k in ("moxing_inter_token_latency_seconds_sum", "moxing_inter_token_latency_seconds_count"):
            if l.startswith(k + " "): v[k] = float(l.split()[1])
    return v["moxing_inter_token_latency_seconds_sum"], v["moxing_inter_token_latency_seconds_count"]

msgs = [{"role":"user","content":"What is the weather in Paris tomorrow?"}]
import os
ONLY = os.environ.get("ONLY")
for rnd in range(int(os.environ.get("ROUNDS", "3"))):
    for name, extra in [("plain", {"max_tokens": 96, "ignore_eos": True}),
                        ("tools none (same prompt, no grammar)", {"tools": TOOLS, "tool_choice": "none", "max_tokens": 96, "ignore_eos": True}),
                        ("tools required", {"tools": TOOLS, "tool_choice": "required", "parallel_tool_calls": False, "max_tokens": 96})]:
        if ONLY and ONLY not in name: continue
        s0, c0 = itl()
        toks, secs, chunks = stream(dict({"messages": msgs, "temperature": 0.8, "seed": rnd}, **extra))
        s1, c1 = itl()
        print(f"round {rnd} {name}: {toks} tokens, server inter-token latency {1000*(s1-s0)/(c1-c0):.2f} ms")
