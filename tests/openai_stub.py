"""A tiny OpenAI-compatible chat server for tests, on 127.0.0.1 and a free port.

Serves ``POST /v1/chat/completions`` as plain JSON or, when the request asks for
``"stream": true``, as server-sent events ending in ``data: [DONE]``. Behaviour can be
changed between requests through the attributes::

    with OpenAIStub(reply="Rates were held [1].") as stub:
        model = init_chat_model("openai:test-model", base_url=stub.base_url, api_key="test-key")
        stub.mode = "error"   # HTTP 500 from now on
        stub.mode = "hang"    # accept the request, never answer (until the stub stops)

``stub.requests`` holds every request body received, for assertions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "error", "hang"]


class OpenAIStub:
    """An OpenAI-compatible chat completions server running in a background thread.

    ``reply`` is the answer text, or a function of the request body returning it.
    ``mode`` is ``"ok"``, ``"error"`` (HTTP ``status``, 500 by default) or ``"hang"``.
    ``fail_first`` makes that many requests fail with ``status`` before ``mode`` applies;
    ``delay`` waits before answering and ``chunk_delay`` between streamed chunks;
    ``finish_reason`` is what the reply reports (``"length"``: cut at ``max_tokens``).
    """

    def __init__(
        self,
        reply: str | Callable[[dict[str, Any]], str] = "The passages say so [1].",
        *,
        mode: Mode = "ok",
        status: int = 500,
        fail_first: int = 0,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
    ) -> None:
        """Configure the stub; :meth:`start` (or ``with``) opens the port."""
        self.reply = reply
        self.mode: Mode = mode
        self.status = status
        self.fail_first = fail_first
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.finish_reason = "stop"
        self.requests: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("OpenAIStub is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give an OpenAI client, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIStub:
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests and close the server."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_action(self, body: dict[str, Any]) -> tuple[Mode, str]:
        with self._lock:
            self.requests.append(body)
            if self.fail_first > 0:
                self.fail_first -= 1
                return "error", ""
            mode = self.mode
        reply = self.reply(body) if callable(self.reply) else self.reply
        return mode, reply

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the stub is stopping; True if it is stopping."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


def _completion(model: str, text: str, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


class _Handler(BaseHTTPRequestHandler):
    stub: OpenAIStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "test-model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "bad JSON", "type": "invalid_request"}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})
            return
        stub = self.stub
        mode, reply = stub._next_action(body)
        if mode == "hang":
            stub._stopping.wait(60)
            self.close_connection = True
            return
        if stub._wait(stub.delay):
            return
        if mode == "error":
            error = {"message": "stub failure", "type": "server_error", "code": None}
            self._send_json(stub.status, {"error": error})
            return
        model = str(body.get("model", "test-model"))
        if body.get("stream"):
            self._stream(model, reply)
        else:
            self._send_json(200, _completion(model, reply, stub.finish_reason))

    def _stream(self, model: str, reply: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        events = [_chunk(model, {"role": "assistant", "content": ""})]
        events += [_chunk(model, {"content": piece}) for piece in re.findall(r"\S+\s*", reply)]
        events.append(_chunk(model, {}, finish=self.stub.finish_reason))
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            if self.stub._wait(self.stub.chunk_delay):
                return
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
