"""The OSC address space of ``producer live``, its server and its parameter stream (python-osc).

Address space (all values 32-bit floats unless said; descriptors in their own units: loudness
dBFS, centroid and bandwidth log2 Hz, flatness dB, in ``producer.agent.features.DESCRIPTORS``
order):

Into ``--osc-in PORT`` (UDP, 127.0.0.1 unless another host is given):

* ``/producer/features`` + 4 floats (imitation policy: the incoming sound's descriptors), or
  8 floats (cross-adaptive: control's then the dry source's descriptors), or 12 (the same plus
  the processed source's, when the sender measures them). One message = one block; the agent
  answers each with the parameters below.
* ``/producer/stop`` (no arguments): the take ends, what was played is written.

Out of the agent (to ``--osc-out HOST:PORT``; in the OSC input mode, without ``--osc-out``, to the
address each ``/producer/features`` message came from):

* ``/producer/params`` + int32 block index + one float per parameter, in the policy's order
  (cross: gain_db, cutoff_hz; sine: pitch, level_db; fm: pitch, level_db, index, ratio);
* ``/producer/param/<name>`` + one float, for every parameter (for patches that route by name).

A message with another address, non-numeric arguments or the wrong count is logged (logger
``producer.agent.osc``) and ignored. A stream that stops (no message for ``idle_timeout`` s) ends
the take as ``/producer/stop`` does; the server never waits longer than that.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from producer.agent.stream import CrossRunner, Take

log = logging.getLogger("producer.agent.osc")

FEATURES = "/producer/features"
STOP = "/producer/stop"
PARAMS = "/producer/params"
PARAM = "/producer/param/"


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); InputError naming the value otherwise."""
    from producer.errors import InputError

    host, sep, port = str(text).rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InputError(f"--osc-out {text!r}: expected HOST:PORT with a port 1..65535")
    return host, int(port)


class ParamSender:
    """Sends every block's parameters to one OSC address."""

    def __init__(self, host: str, port: int, names: tuple[str, ...]):
        from pythonosc.udp_client import SimpleUDPClient

        self.client = SimpleUDPClient(host, port)
        self.names = names

    def send(self, k: int, values: np.ndarray) -> None:
        _send(self.client, self.names, k, values)


def feature_counts(runner) -> tuple[int, ...]:
    return (8, 12) if isinstance(runner, CrossRunner) else (4,)


def serve(runner, *, port: int, host: str = "127.0.0.1", reply_to: tuple[str, int] | None = None,
          idle_timeout: float = 5.0, first_timeout: float | None = None, on_ready=None) -> tuple[Take, dict]:
    """Answer ``/producer/features`` messages with parameters until ``/producer/stop``, a silence
    of ``idle_timeout`` s (``first_timeout`` before the first message, default the same), or
    Ctrl-C. ``on_ready(port)`` is called once the socket is bound (port 0 binds a free one).
    Returns the take (imitation: the synth's audio too) and counts of handled and ignored messages.

    Long because the receive loop, its timeouts, the message checks and the take's
    bookkeeping share the socket and the running state of one take."""
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import BlockingOSCUDPServer
    from pythonosc.udp_client import SimpleUDPClient

    take = Take(runner.names)
    stats = {"blocks": 0, "ignored": 0}
    counts = feature_counts(runner)
    state = {"stop": False, "last": time.monotonic()}
    sender = ParamSender(*reply_to, runner.names) if reply_to else None
    clients: dict[tuple, SimpleUDPClient] = {}

    def on_features(client_address, address, *args):
        state["last"] = time.monotonic()
        if len(args) not in counts or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
            stats["ignored"] += 1
            log.warning("ignored %s with %d argument(s) %s: expected %s numbers", address, len(args),
                        [type(a).__name__ for a in args][:12], " or ".join(map(str, counts)))
            return
        x = np.asarray(args, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            stats["ignored"] += 1
            log.warning("ignored %s: non-finite values", address)
            return
        t0 = time.perf_counter()
        if isinstance(runner, CrossRunner):
            values = runner.step_features(x[0:4], x[4:8], x[8:12] if len(x) == 12 else None)
            audio = None
        else:
            values, audio = runner.step_features(x)
        take.compute.append(time.perf_counter() - t0)
        take.values.append(values)
        if audio is not None:
            take.audio.append(audio)
        k = stats["blocks"]
        stats["blocks"] += 1
        if sender is not None:
            sender.send(k, values)
        else:
            c = clients.get(client_address)
            if c is None:
                c = clients[client_address] = SimpleUDPClient(*client_address[:2])
            _send(c, runner.names, k, values)

    def on_stop(client_address, address, *args):
        state["stop"] = True

    def on_other(client_address, address, *args):
        stats["ignored"] += 1
        log.warning("ignored a message to unknown address %s", address)

    class _Server(BlockingOSCUDPServer):
        # python-osc drops datagrams that are not OSC without a word: count and log them too
        def verify_request(self, request, client_address):
            ok = super().verify_request(request, client_address)
            if not ok:
                stats["ignored"] += 1
                state["last"] = time.monotonic()
                log.warning("ignored %d bytes from %s that are not an OSC packet", len(request[0]), client_address)
            return ok

    d = Dispatcher()
    d.map(FEATURES, on_features, needs_reply_address=True)
    d.map(STOP, on_stop, needs_reply_address=True)
    d.set_default_handler(on_other, needs_reply_address=True)
    server = _Server((host, port), d)
    server.timeout = 0.05
    try:
        if on_ready is not None:
            on_ready(server.server_address[1])
        start = time.monotonic()
        while not state["stop"]:
            server.handle_request()
            now = time.monotonic()
            limit = idle_timeout if stats["blocks"] else (first_timeout or idle_timeout)
            if now - max(state["last"], start) > limit:
                take.ended_by = f"no OSC message for {limit:g} s"
                break
        else:
            take.ended_by = STOP
    except KeyboardInterrupt:
        take.interrupted = True
        take.ended_by = "Ctrl-C"
    finally:
        server.server_close()
    return take, stats


def _send(client, names, k, values) -> None:
    client.send_message(PARAMS, [int(k)] + [float(v) for v in values])
    for name, v in zip(names, values):
        client.send_message(PARAM + name, float(v))
