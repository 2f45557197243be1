"""A bounded abuse run against a real server on 127.0.0.1: oversized bodies, an entry flood and WebRTC
offers that never connect, while a genuine participant enters from another address.

    python -m bench.abuse [--flood 300] [--oversized 20] [--offers 40]

``voxbank db upgrade`` and ``voxbank serve`` run in a subprocess on a fresh SQLite data folder. The
attacker (127.0.0.1) sends ``--oversized`` requests declaring 200 MiB bodies and as many streaming
16 MiB without a length, to the webhook, the entry form and the WebRTC offer, then ``--flood``
study-link entries with invented Prolific ids from 16 threads. A genuine participant
(127.0.0.2: Linux routes all of 127/8 to loopback) enters before the attack (baseline) and during
the flood, side by side in one run. The server's resident memory and thread count are sampled
throughout. Bounded: every request has a timeout and the flood is a fixed count.

Then ``--offers`` WebRTC offers that never connect: attackers walk to the interview step as
participants would (consent to recording included: the door admits nobody else), one for every
three offers, each from its own address (127.0.0.10 up), and post offers from peers that stay open
but never take the answer, within the offer rate limit per address and per participant (a visit
holds one call: its new offer replaces its old one). The process's peers are capped
(``VOXBANK_VOICE_MAX_CALLS``) and an unconnected one is closed after
``VOXBANK_VOICE_CONNECT_TIMEOUT_S`` (its default, 20 s). The voice models load on the first offer (a
warm-up, before the offer baseline is taken), so the offer baseline is the server with its models.
A genuine participant then asks for an interview line and the seconds until one is answered are
reported. Timings on a shared machine are pessimistic.

The last line printed is JSON: ``flood_latency_ratio`` is the genuine participant's median entry
time during the flood over before it; ``final_memory_ratio`` is final over baseline memory;
``offer_final_memory_ratio`` the same for the offer flood (baseline with the models loaded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from bench.served import start_server

SLUG = "park2024"
STUDY = "65a0f00d1234567890abcdef"
STRATA = {"age_band": "45_54", "census_division": "pacific", "education": "bachelor", "race": "white",
          "gender": "female", "income": "50k_75k", "neighborhood": "suburban", "political_ideology": "moderate"}


def _link(n: int) -> str:
    query = {"PROLIFIC_PID": f"{n:024x}", "STUDY_ID": STUDY, "SESSION_ID": f"5e{n:022x}", **STRATA}
    return f"/study/{SLUG}/start?" + "&".join(f"{k}={v}" for k, v in query.items())


class Sampler:
    """Samples a process's resident memory (MB) and thread count every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((self.process.memory_info().rss / 2**20, self.process.num_threads()))
            time.sleep(0.05)

    def now(self) -> tuple[float, int]:
        return self.process.memory_info().rss / 2**20, self.process.num_threads()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _genuine_entry(base: str, n: int) -> float:
    """Seconds for a participant on 127.0.0.2 to open the link and be created."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=base, transport=transport, follow_redirects=True, timeout=60) as client:
        start = time.perf_counter()
        welcome = client.get(_link(n))
        created = client.post(f"/study/{SLUG}/start", data={
            "PROLIFIC_PID": f"{n:024x}", "STUDY_ID": STUDY, "SESSION_ID": f"5e{n:022x}", "start": "1",
            **{f"known.{k}": v for k, v in STRATA.items()}})
        elapsed = time.perf_counter() - start
        if welcome.status_code != 200 or created.status_code != 200:
            raise RuntimeError(f"the genuine participant was refused: {welcome.status_code} {created.status_code}")
        return elapsed


def _declared(base: str, path: str, length: int) -> int:
    """Send headers declaring ``length`` bytes and 64 KiB of them over a raw socket; the status answered."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
                           "Content-Type: application/json\r\n\r\n".encode() + b"{" * 65536)
        answer = connection.recv(4096).decode(errors="replace")
    parts = answer.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _oversized(base: str, count: int) -> Counter[int]:
    codes: Counter[int] = Counter()

    def stream() -> Iterator[bytes]:
        for _ in range(16):
            yield b"z" * 2**20

    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(count):
            path = ("/prolific/webhook", f"/study/{SLUG}/start", f"/study/{SLUG}/interview/offer")[n % 3]
            codes[_declared(base, path, 200 * 2**20)] += 1
            try:
                streamed = client.post(path, content=stream(),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
                codes[streamed.status_code] += 1
            except httpx.HTTPError:  # the server answered 413 and closed while we were still sending
                codes[413] += 1
    return codes


def _flood(base: str, count: int) -> Counter[int]:
    codes: Counter[int] = Counter()
    lock = threading.Lock()

    def one(n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            try:
                code = client.get(_link(10_000 + n)).status_code
            except httpx.HTTPError:
                code = 0
        with lock:
            codes[code] += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(count)))
    return codes


CONNECT_TIMEOUT_S = 20.0
"""The default `VOXBANK_VOICE_CONNECT_TIMEOUT_S`."""


def _client(base: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address), follow_redirects=True,
                        timeout=300)


def _at_interview_step(base: str, address: str, n: int) -> httpx.Client:
    """A participant (number ``n``, from ``address``) who entered, consented to everything and stands at the
    interview step: the only visit the door lets make an offer."""
    client = _client(base, address)
    client.get(_link(n))
    page = client.post(f"/study/{SLUG}/start", data={
        "PROLIFIC_PID": f"{n:024x}", "STUDY_ID": STUDY, "SESSION_ID": f"5e{n:022x}", "start": "1",
        **{f"known.{k}": v for k, v in STRATA.items()}})
    for _ in range(4):
        if client.get(f"/study/{SLUG}/progress", headers={"Accept": "application/json"}).json()["step"] == "interview":
            return client
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        if token is None:
            break
        data = {"token": token.group(1), **{name: "yes" for name in re.findall(r'name="(scope\.[^"]+)"', page.text)}}
        if "scope." in page.text:
            data["decision"] = "agree"
        page = client.post(f"/study/{SLUG}/step", data=data)
    raise RuntimeError(f"participant {n} did not reach the interview step")


class Browsers:
    """Attackers' WebRTC peers on one event loop of their own: each makes an offer and never takes the answer,
    and stays open (so the server's peer waits for a connection that never comes) until `close`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.peers: list[object] = []
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _offer(self) -> str:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.mediastreams import AudioStreamTrack

        browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        browser.addTrack(AudioStreamTrack())
        browser.createDataChannel("voxbank")
        await browser.setLocalDescription(await browser.createOffer())
        self.peers.append(browser)
        return str(browser.localDescription.sdp)

    def offer(self) -> str:
        return asyncio.run_coroutine_threadsafe(self._offer(), self.loop).result(timeout=60)

    def close(self) -> None:
        async def close_all() -> None:
            for peer in self.peers:
                await peer.close()  # type: ignore[attr-defined]

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _offer_sdp() -> str:
    """An SDP offer from a peer that is closed at once: its answer is never taken, so it never connects."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack

    browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    browser.addTrack(AudioStreamTrack())
    browser.createDataChannel("voxbank")
    await browser.setLocalDescription(await browser.createOffer())
    sdp = browser.localDescription.sdp
    await browser.close()
    return str(sdp)


def _post_offer(client: httpx.Client, sdp: str | None = None) -> int:
    sdp = sdp or asyncio.run(_offer_sdp())
    try:
        return client.post(f"/study/{SLUG}/interview/offer", json={"sdp": sdp, "type": "offer"},
                           headers={"Accept": "application/json"}).status_code
    except httpx.HTTPError:
        return 0


def _offer_flood(attackers: list[httpx.Client], browsers: Browsers, count: int) -> Counter[int]:
    """``count`` offers from peers that stay open but never connect, made beforehand and posted from 16
    threads: they arrive faster than the server's peers time out."""
    sdps = [browsers.offer() for _ in range(count)]
    codes: Counter[int] = Counter()
    lock = threading.Lock()

    def one(n: int) -> None:
        code = _post_offer(attackers[n % len(attackers)], sdps[n])
        with lock:
            codes[code] += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(count)))
    return codes


def _genuine_line(client: httpx.Client, limit_s: float) -> float:
    """Seconds until the genuine participant's offer is answered (a busy answer is tried again 6 s later)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        code = _post_offer(client)
        if code == 200:
            return time.perf_counter() - start
        if code not in (503, 429):
            raise RuntimeError(f"the genuine participant's offer was answered {code}")
        time.sleep(6.0)  # pressing Start again after the busy page, within the offer rate limit
    raise RuntimeError("the genuine participant got no interview line")


def _nudge(client: httpx.Client) -> None:
    """One ordinary request, then a second's rest: anyio stops worker threads idle over 10 s only when its
    pool is next used, so a thread count read without one counts threads already retired."""
    client.get("/healthz")
    client.get(f"/study/{SLUG}/progress", headers={"Accept": "application/json"})
    time.sleep(1.0)


def _offers(base: str, sampler: Sampler, count: int) -> dict[str, object]:
    """The unconnected-offer flood, with its own baseline (taken after the models loaded)."""
    genuine = _at_interview_step(base, "127.0.0.3", 500)
    warm = _post_offer(genuine)  # loads the voice models; this peer never connects either
    if warm != 200:
        raise RuntimeError(f"the warm-up offer was answered {warm}")
    # more attackers than the process has lines (8 by default), each offering about three times
    attackers = [_at_interview_step(base, f"127.0.0.{10 + n}", 600 + n) for n in range(max(1, count // 3))]
    time.sleep(CONNECT_TIMEOUT_S + 8)  # the warm-up peer is closed; anyio's idle threads retire
    baseline_mb, baseline_threads = sampler.now()
    sampler.samples.clear()
    browsers = Browsers()
    flood_started = time.perf_counter()
    codes = _offer_flood(attackers, browsers, count)
    flood_s = time.perf_counter() - flood_started
    line_s = _genuine_line(genuine, 120)
    time.sleep(CONNECT_TIMEOUT_S + 12)
    browsers.close()
    _nudge(genuine)
    final_mb, final_threads = sampler.now()
    for client in (genuine, *attackers):
        client.close()
    return {
        "offer_answers": dict(sorted(codes.items())), "offer_baseline_mb": round(baseline_mb, 1),
        "offer_peak_mb": round(max(mb for mb, _ in sampler.samples), 1), "offer_final_mb": round(final_mb, 1),
        "offer_baseline_threads": baseline_threads, "offer_peak_threads": max(t for _, t in sampler.samples),
        "offer_final_threads": final_threads, "offer_flood_s": round(flood_s, 1),
        "genuine_interview_line_s": round(line_s, 2),
        "offer_final_memory_ratio": round(final_mb / baseline_mb, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument("--oversized", type=int, default=20)
    parser.add_argument("--offers", type=int, default=40, help="unconnected WebRTC offers (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXBANK_")}
        env.update({"VOXBANK_DATA_DIR": str(Path(scratch) / "data"), "VOXBANK_ENVIRONMENT": "development",
                    "VOXBANK_VOICE_CONNECT_TIMEOUT_S": str(CONNECT_TIMEOUT_S)})
        subprocess.run([sys.executable, "-m", "voxbank", "db", "upgrade"], env=env, check=True,
                       capture_output=True, timeout=300)
        server_log = (Path(scratch) / "server.log").open("wb")
        server, base = start_server(env, log=server_log, timeout_s=120)
        try:
            sampler = Sampler(server.pid)
            before = [_genuine_entry(base, 1 + n) for n in range(5)]
            time.sleep(1.0)
            baseline_mb, baseline_threads = sampler.now()
            with sampler:
                oversized = _oversized(base, args.oversized)
                during: list[float] = []
                flooding = threading.Thread(target=lambda: during.extend(
                    _genuine_entry(base, 100 + n) for n in range(5)))
                flooding.start()
                flood = _flood(base, args.flood)
                flooding.join()
                time.sleep(12.0)  # anyio retires idle worker threads after 10 s
                with httpx.Client(base_url=base, timeout=60) as client:
                    _nudge(client)
            final_mb, final_threads = sampler.now()
            peak_mb = max(mb for mb, _ in sampler.samples)
            peak_threads = max(threads for _, threads in sampler.samples)
            offers: dict[str, object] = {}
            if args.offers:
                with Sampler(server.pid) as offer_sampler:
                    offers = _offers(base, offer_sampler, args.offers)
        finally:
            server.terminate()
            server.wait(timeout=30)
            server_log.close()
            lines = (Path(scratch) / "server.log").read_text(errors="replace").splitlines()
            for start in [n for n, line in enumerate(lines) if "Traceback" in line][:3]:
                print("\n".join(lines[max(0, start - 2):start + 40]), file=sys.stderr)  # what a 5xx was
    before_s, during_s = statistics.median(before), statistics.median(during)
    result = {
        "oversized_answers": dict(sorted(oversized.items())), "flood_answers": dict(sorted(flood.items())),
        "baseline_mb": round(baseline_mb, 1), "peak_mb": round(peak_mb, 1), "final_mb": round(final_mb, 1),
        "baseline_threads": baseline_threads, "peak_threads": peak_threads, "final_threads": final_threads,
        "genuine_entry_s_before": round(before_s, 3), "genuine_entry_s_during_flood": round(during_s, 3),
        "genuine_entries_refused": 0,
        "flood_latency_ratio": round(during_s / before_s, 2), "final_memory_ratio": round(final_mb / baseline_mb, 3),
        **offers,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
