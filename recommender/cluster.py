"""Where the heavy stages run: Dask distributed, on this machine or on a cluster.

The one place that knows how work is spread. A stage hands a batch function and its
batches to ``map_batches`` inside ``connect``; it never sees processes or addresses::

    with connect(scheduler, workers=4) as client:   # None: a LocalCluster of 4 processes
        check_shared(client, home)                  # workers must see the home folder
        for result in map_batches(client, run_batch, split(items, batch_size(len(items), slots(client)))):
            ...                                     # results as batches complete (progress)

- Without a scheduler address (``--scheduler``, else ``$MUSICREC_SCHEDULER``) a
  ``LocalCluster`` of single-threaded worker processes starts here, on loopback, and is
  closed on leaving the ``with`` (also on Ctrl-C). Its workers read a pipe that the
  parent holds open: when this process dies, even by SIGKILL, the pipe closes and every
  worker exits at once (``distributed.process.AsyncProcess``), so no worker outlives a
  killed build (tests/test_features.py kills one with SIGKILL and checks). A process
  pool outside Dask (the demo's synthesis) gets the same from ``leave_with_parent``.
- With an address (``tcp://host:8786``) the other end must answer as a Dask scheduler
  within ``CONNECT_TIMEOUT_S`` (a silent port or a web server is refused, not waited
  for), and its ``dask worker`` processes do the work.
  Every worker must have the project installed and see the home at the same path.
- A batch is 50-200 items, about eight per worker thread (one task per file would cost
  more in scheduling than in work; big batches would leave workers idle at the end), and
  one per worker thread when the items are too few for that.
- Dask may run a batch twice (a worker lost mid-batch is rescheduled): batch functions
  must be idempotent (write each result atomically under its final name) and callers
  count each item once. A cluster whose workers all die and do not come back (a
  LocalCluster's nannies give up after repeated deaths) stops ``map_batches`` with an
  error after ``WORKERS_TIMEOUT_S`` instead of leaving the build waiting for ever.

**Loading something heavy once per worker** (a Keras model for an embedding stage):
the batch function asks ``per_process(key, make)``, which calls ``make()`` the first time
a process asks for ``key`` and returns the same object afterwards, so a worker loads
the model once, not once per batch::

    def embed_batch(items, model_path):
        model = per_process(("model", model_path), lambda: load_model(model_path))
        return [model.embed(...) for item in items]

Dask's own logging is kept at WARNING. A LocalCluster serves Dask's dashboard when
``bokeh`` is installed (an optional extra), on a free local port or at
``$MUSICREC_DASHBOARD`` (an address such as ``:8787``; ``off``: none);
``dashboard_link`` then holds its URL while a cluster is connected (the app shows it).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import importlib.util
import logging
import math
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from recommender.errors import RecommenderError, UserInputError

if TYPE_CHECKING:
    from distributed import Client

SCHEDULER_ENV = "MUSICREC_SCHEDULER"
DASHBOARD_ENV = "MUSICREC_DASHBOARD"
CONNECT_TIMEOUT_S = 5
IDLE_TIMEOUT_S = 3  # how long a closing LocalCluster waits for cancelled batches to return
WORKERS_TIMEOUT_S = 30  # how long a scheduler may be without workers before the build gives up
SMALLEST_BATCH, LARGEST_BATCH, BATCHES_PER_SLOT = 50, 200, 8

dashboard_link: str | None = None
"""URL of the Dask dashboard of the cluster in use, while one runs; else None."""

T = TypeVar("T")
R = TypeVar("R")


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: ``scheduler`` if given, else ``$MUSICREC_SCHEDULER``, else None (local)."""
    return scheduler or os.environ.get(SCHEDULER_ENV) or None


@contextmanager
def connect(scheduler: str | None = None, *, workers: int = 1) -> Iterator[Client]:
    """A Dask client: of the scheduler at ``scheduler``, else of a LocalCluster of ``workers`` processes.

    The LocalCluster (one thread and one BLAS thread per process) lives as long as the
    ``with`` block. Raises ``UserInputError`` when the scheduler cannot be reached within
    ``CONNECT_TIMEOUT_S`` or has no workers.
    """
    global dashboard_link
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    # Closing a LocalCluster whose worker is inside an uninterruptible step (a forward pass of
    # the backbone) ends that worker after a grace period: intended, not worth a warning.
    logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    address = scheduler_address(scheduler)
    dashboard = _dashboard_wanted()
    with ExitStack() as stack:
        if address is None:
            cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # The scheduler always serves HTTP (health, metrics): on a free port, not on a
                # busy 8787 with a warning; the dashboard's pages only when asked for.
                dashboard_address=dashboard or "127.0.0.1:0",
                scheduler_kwargs={"dashboard": dashboard is not None},
                worker_dashboard_address=None,
                silence_logs=logging.WARNING,
                preload=[__name__],  # dask_setup below: Ctrl-C is for this process, not its workers
            )
            stack.callback(cluster.close)
            client = Client(cluster)
            stack.callback(client.close)
            stack.callback(_let_cancelled_batches_return, client)
        else:
            client = _remote_client(address)
            stack.callback(client.close)
        dashboard_link = client.dashboard_link if dashboard is not None else None
        try:
            yield client
        finally:
            dashboard_link = None


def dask_setup(worker) -> None:
    """Run by Dask in each LocalCluster worker process as it starts (``preload``).

    The terminal's Ctrl-C reaches the whole process group: the build cancels its batches
    and closes the cluster, so the workers ignore it instead of dying with tracebacks.
    A closed worker then leaves at once, skipping the interpreter's teardown, which takes
    1-2 s once librosa and numba are loaded and which the build would wait for; it has
    nothing left to save (every result is written and renamed before its batch returns).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(os.getppid())  # besides Dask's own parent pipe
    atexit.register(_leave_now)  # registered first, so it runs after the handlers of later imports
    logging.getLogger("distributed.worker").addFilter(_ClosingHeartbeat(worker))
    logging.getLogger("distributed.worker").addFilter(_not_a_failed_batch)
    # A batch cancelled because the build stops (Ctrl-C, Cancel) ends with CancelledError: intended.
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)


def _not_a_failed_batch(record: logging.LogRecord) -> bool:
    """Drops the worker's dump of a batch that raised: the build gets the exception and says it.

    (A full disk would otherwise print the task, its arguments and a traceback before the
    build's one-line message; a bug still shows its traceback, from the build.)
    """
    return not str(record.msg).startswith("Compute Failed")


def leave_with_parent(parent: int) -> None:
    """Make this process end as soon as process ``parent`` does, even by SIGKILL.

    The initializer of every process pool outside Dask (``initializer=leave_with_parent,
    initargs=(os.getpid(),)``): a pool's workers otherwise wait for ever on a queue whose
    other end they hold themselves, with multiprocessing's resource tracker beside them.
    On Linux the kernel sends the worker SIGKILL when the thread that started it ends
    (``PR_SET_PDEATHSIG``; pools start their workers from the thread that submits, which
    waits for them); everywhere a thread also checks every 0.5 s that the parent is still
    there.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    _watch_parent(parent)


def _watch_parent(parent: int) -> None:
    if os.getppid() != parent:  # gone already, before the watch began
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="musicrec-parent-watch", daemon=True).start()


class _ClosingHeartbeat(logging.Filter):
    """Drops the error of a heartbeat cut short by the cluster closing (a race in Dask, harmless)."""

    def __init__(self, worker) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        closing = self.worker.status.name in ("closing", "closed", "closing_gracefully")
        return not (closing and record.getMessage().startswith("Failed to communicate with scheduler"))


def _leave_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _let_cancelled_batches_return(client: Client) -> None:
    """Wait (at most ``IDLE_TIMEOUT_S``) until no batch runs, so the workers close without complaint."""
    with contextlib.suppress(OSError, TimeoutError):  # a cluster already broken closes anyway
        client.run(_until_idle, timeout=IDLE_TIMEOUT_S, on_error="ignore")


async def _until_idle(dask_worker, timeout: float) -> None:
    """Worker side: wait until no task runs (cancelled batches stop after their current item)."""
    deadline = time.monotonic() + timeout
    while dask_worker.state.executing and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


def check_reachable(scheduler: str | None = None) -> None:
    """Raise ``UserInputError`` now if a scheduler is asked for and cannot be reached (before long stages)."""
    address = scheduler_address(scheduler)
    if address is not None:
        logging.getLogger("distributed").setLevel(logging.WARNING)
        _remote_client(address).close()


def _remote_client(address: str) -> Client:
    from distributed import Client

    _check_is_scheduler(address)
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, ValueError, TypeError) as e:
        raise UserInputError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s ({e}); "
            "start one with `dask scheduler` or check --scheduler / $" + SCHEDULER_ENV
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError:
        client.close()
        raise UserInputError(
            f"the Dask scheduler at {address} has no workers after {WORKERS_TIMEOUT_S} s; "
            f"start them with `dask worker {address} --nthreads 1`"
        ) from None
    return client


def _check_is_scheduler(address: str) -> None:
    """Raise ``UserInputError`` unless a Dask scheduler answers at ``address`` within ``CONNECT_TIMEOUT_S``.

    Dask's own client waits without a limit for the first message of whatever accepted its
    connection: a port that accepts and never speaks (or a web server) would hang the build.
    This asks the other end who it is, with a deadline on the whole exchange.
    """
    import asyncio

    from distributed.comm import connect as open_comm

    async def identity() -> object:
        # Dask retries a refused connection until its timeout: a second less, so that it says so itself.
        comm = await open_comm(address, timeout=max(1, CONNECT_TIMEOUT_S - 1))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    hint = "start one with `dask scheduler` or check --scheduler / $" + SCHEDULER_ENV
    try:
        reply = _run_coroutine(asyncio.wait_for(identity(), CONNECT_TIMEOUT_S))
    except TimeoutError:
        raise UserInputError(
            f"{address} did not answer as a Dask scheduler within {CONNECT_TIMEOUT_S} s "
            f"(something else listens there, or it is stuck); {hint}"
        ) from None
    except (OSError, ValueError, TypeError) as e:
        raise UserInputError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s ({e}); {hint}"
        ) from None
    except Exception as e:  # the other end spoke, but not Dask (a web server: its reply does not decode)
        raise UserInputError(f"{address} is not a Dask scheduler ({type(e).__name__}); {hint}") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a Dask {kind}" if isinstance(kind, str) else "something else"
        raise UserInputError(f"{address} is not a Dask scheduler but {what}; {hint}")


def _run_coroutine(coroutine):
    """``coroutine``'s result, run on an event loop of its own (in a thread: the caller's may run one)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="musicrec-probe") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _dashboard_wanted() -> str | None:
    """Where a LocalCluster serves Dask's dashboard: ``$MUSICREC_DASHBOARD`` (``off``: nowhere),
    else a free local port; None when bokeh, which draws it, is not installed (an optional extra)."""
    wanted = os.environ.get(DASHBOARD_ENV, "").strip()
    if wanted.lower() in ("off", "0", "no", "none"):
        return None
    if importlib.util.find_spec("bokeh") is None:
        if wanted:
            logging.getLogger(__name__).warning(
                "$%s is set but the Dask dashboard needs bokeh: pip install bokeh", DASHBOARD_ENV
            )
        return None
    return wanted or "127.0.0.1:0"


def slots(client: Client) -> int:
    """Worker threads of the cluster: how many batches run at once."""
    return max(1, sum(client.nthreads().values()))


def batch_size(n_items: int, n_slots: int) -> int:
    """Items per batch: about ``BATCHES_PER_SLOT`` batches per slot, 50-200 items each.

    When ``n_items`` is too small for 50-item batches on every slot, one batch per slot
    (so every worker works). Always at least 1.
    """
    n_slots = max(1, n_slots)
    per_slot = math.ceil(n_items / n_slots)
    smallest = min(SMALLEST_BATCH, per_slot)
    return max(1, min(LARGEST_BATCH, max(smallest, math.ceil(n_items / (n_slots * BATCHES_PER_SLOT)))))


def split(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` cut into consecutive batches of ``size`` (the last one may be shorter)."""
    return [list(items[i : i + size]) for i in range(0, len(items), max(1, size))]


def map_batches(
    client: Client,
    fn: Callable[..., R],
    batches: Sequence[Sequence[T]],
    *args: Any,
    lost: Callable[[list[T], str], R] | None = None,
) -> Iterator[R]:
    """``fn(batch, *args)`` for every batch, on the cluster; yields each result as its batch completes.

    A batch that raises raises here. A batch whose worker dies each time it runs (Dask
    gives up after a few tries: a file that crashes a decoder or exhausts the worker's
    memory) runs again one item per task, then each item that still failed runs alone,
    and an item that kills its worker even then is given to ``lost([item], reason)``,
    whose return stands for ``fn``'s (without ``lost``: raised). A cluster left without
    workers for ``WORKERS_TIMEOUT_S`` raises ``RecommenderError`` rather than wait for
    ever. Leaving the loop early (``break``, an exception, Ctrl-C) cancels the batches
    that have not finished.
    """
    from distributed import KilledWorker, wait

    name = getattr(fn, "__name__", "batch")
    run = secrets.token_hex(4)
    submitted: dict[str, list[T]] = {}
    futures = []

    def submit(batch: list[T]):
        future = client.submit(_run_batch, fn, batch, *args, key=f"{name}-{run}-{len(futures)}", pure=False)
        submitted[future.key] = batch
        futures.append(future)
        return future

    remaining = {submit(list(batch)) for batch in batches}
    suspects: list[list[T]] = []
    alone = False  # the last round: suspects one at a time
    watchdog = _NoWorkersWatchdog(client)
    try:
        while remaining:
            try:
                done, remaining = wait(remaining, timeout=1, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished within the second
                watchdog.check()
                continue
            for future in done:
                try:
                    yield future.result()
                except KilledWorker:
                    batch = submitted[future.key]
                    if lost is None:
                        raise
                    if alone:
                        yield lost(batch, "it made its worker process die each time it was tried")
                    elif len(batch) == 1:
                        suspects.append(batch)
                    else:
                        remaining |= {submit([item]) for item in batch}
            if not remaining and suspects:
                # A worker's death also fails the tasks waiting beside the culprit: alone, only it dies.
                alone = True
                remaining = {submit(suspects.pop(0))}
    finally:
        client.cancel([f for f in futures if not f.done()])


class _NoWorkersWatchdog:
    """Raises once the cluster has had no workers for ``WORKERS_TIMEOUT_S`` (all died, none came back)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.since: float | None = None

    def check(self) -> None:
        if self.client.nthreads():
            self.since = None
        elif self.since is None:
            self.since = time.monotonic()
        elif time.monotonic() - self.since > WORKERS_TIMEOUT_S:
            raise RecommenderError(
                f"the Dask cluster has had no workers for {WORKERS_TIMEOUT_S} s (their processes died: out of "
                "memory?); run the build again, it resumes where it stopped"
            )


def _run_batch(fn: Callable[..., R], batch: list, *args: Any) -> R:
    """Worker side of ``map_batches``: prepare this process once, then run the batch."""
    per_process("worker process prepared", _prepare_worker_process)
    return fn(batch, *args)


def _prepare_worker_process() -> bool:
    """One BLAS/OpenMP/TensorFlow thread, and glibc's malloc as in a plain process.

    The workers already fill the cores: left at its default, each worker's OpenBLAS
    starts a thread per core for the mel filterbank product, and on two cores the
    oversubscribed threads spin against each other (steady extraction ran at 16 clips/s
    with two workers against 36 with one thread each; bench/ingest.py).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also turns
    off glibc's sliding mmap threshold: every array above 128 KiB (a decoded clip, a
    spectrogram) is then mmap'ed and unmapped again, and extraction ran at half speed
    (4.5 s against 2.3 s for 40 clips). The thresholds are set back to the values glibc
    itself slides to (32 MiB mmap, 64 MiB trim).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    # TensorFlow (the backbone) reads these when it starts: one thread, as for BLAS.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS): nothing to undo
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 * 2**20)
        libc.mallopt(m_trim_threshold, 64 * 2**20)
    return True


def cancelled() -> bool:
    """True inside a Dask task that is no longer wanted (cancelled, its client gone, its worker closing).

    False outside Dask. Batch functions ask between items, so that Ctrl-C or a killed
    client stops a batch after its current item rather than after the whole batch.
    """
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        worker = get_worker()
    except (ImportError, ValueError):
        return False
    task = worker.state.tasks.get(getattr(thread_state, "key", None))
    return task is None or task.state == "cancelled" or worker.status.name in ("closing", "closed")


_per_process: dict[Hashable, Any] = {}
_per_process_lock = threading.Lock()


def per_process(key: Hashable, make: Callable[[], T]) -> T:
    """``make()``'s result, made the first time this process asks for ``key`` and kept.

    For what a worker should load once, not once per batch: a model, a thread limit.
    Thread-safe: a worker with several threads still makes it once.
    """
    with _per_process_lock:
        if key not in _per_process:
            _per_process[key] = make()
        return _per_process[key]


def check_shared(client: Client, folder: Path) -> None:
    """Raise ``UserInputError`` unless every worker reads a token written here under ``folder`` and writes one back.

    The feature cache lives under the home, so on a cluster the home must be one shared
    folder (NFS or similar) that every worker mounts at the same path and can write to.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    path = folder / f".musicrec-shared-{token[:8]}"
    path.write_text(token, encoding="utf-8")
    try:
        answers = client.run(_answer_token, str(path), on_error="return")
    finally:
        path.unlink(missing_ok=True)
    blind = []
    for address, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):  # Dask hands it back as Exception("ModuleNotFoundError(...)")
            if "ModuleNotFoundError" in f"{type(answer).__name__} {answer}":
                raise UserInputError(
                    f"the Dask worker {address} cannot import the project ({answer}); start every worker "
                    "with the requirements installed and PYTHONPATH pointing at musicrec"
                )
            answer = None
        reply = folder / answer if isinstance(answer, str) else None
        if reply is None or _read_text(reply) != token:
            blind.append(address)
        if reply is not None:
            reply.unlink(missing_ok=True)
    if blind:
        raise UserInputError(
            f"{len(blind)} of {len(answers)} Dask workers (such as {blind[0]}) cannot read and write the home "
            f"{folder}: on a cluster the home (--home) must be a shared folder (NFS or similar) mounted at the "
            "same path on every worker"
        )


def _answer_token(path: str) -> str | None:
    """Worker side of ``check_shared``: write the token read from ``path`` back beside it; the reply's name."""
    token = _read_text(Path(path))
    if token is None:
        return None
    reply = Path(f"{path}.{secrets.token_hex(4)}")
    try:
        reply.write_text(token, encoding="utf-8")
    except OSError:
        return None
    return reply.name


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
