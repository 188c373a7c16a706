"""scripts/ray_study.py: a planned study run through a local Ray with 2 CPUs gives the
study.json of the local executor; a run killed with SIGKILL is retried; a driver stopped
halfway resumes without redoing finished runs.

The huffvec binary is $HUFFVEC_BIN, else target/debug/huffvec (built by `cargo test`). Ray
and tqdm are needed; with HUFFVEC_NO_SKIP set (as .ci/run sets it) their absence fails the
tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ray_study.py"
TIMING = {"words_per_sec", "train_seconds"}


def need(module: str) -> None:
    try:
        __import__(module)
    except ImportError as e:
        if os.environ.get("HUFFVEC_NO_SKIP"):
            pytest.fail(f"HUFFVEC_NO_SKIP is set, but {module} is missing: {e}")
        pytest.skip(f"{module} is not installed: {e}")


def huffvec_bin() -> Path:
    path = Path(os.environ.get("HUFFVEC_BIN", ROOT / "target" / "debug" / "huffvec"))
    assert path.is_file(), f"{path} is missing: run `cargo test` (or set HUFFVEC_BIN) first"
    return path


def write_spec(path: Path) -> None:
    """Two arms (the second matches its learning rate), three seeds, one epoch."""
    corpus = ROOT / "data" / "wiki-sample.txt"
    path.write_text(
        f"name = \"ray\"\ncorpus = {json.dumps(str(corpus))}\nseeds = 3\nthreads = 1\n"
        "epochs = 1\ntrain = \"--dim 12\"\nlr_grid = [0.5, 2]\n"
        "[plant]\nlevels = [2, 10]\nparents = 30\nholdout = 0.05\n"
        "[stats]\nsample = 0.2\n"
        "[[arm]]\nname = \"reference\"\n"
        "[[arm]]\nname = \"matched\"\nlr_match = true\n"
    )


def huffvec(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(huffvec_bin()), *args], cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def driver(study: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(study), "--num-cpus", "2",
         "--huffvec", str(huffvec_bin())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def without_timing(x):
    """The study with its wall-clock figures left out (they differ between any two runs)."""
    if isinstance(x, dict):
        return {k: without_timing(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [without_timing(v) for v in x]
    return x


def study_json(study: Path):
    return without_timing(json.loads((study / "study.json").read_text()))


def results(study: Path) -> dict[Path, int]:
    """Every run's result file with its modification time."""
    return {p: p.stat().st_mtime_ns for p in (study / "runs").glob("*/*/result.json")}


def huffvec_runs(study: Path) -> list[int]:
    """PIDs of `huffvec study run` processes of `study`."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in cmd and str(study).encode() in cmd and cmd[0].endswith(b"huffvec"):
            pids.append(int(d.name))
    return pids


@pytest.fixture(scope="module")
def local_study(tmp_path_factory) -> Path:
    """The same study through the local executor, as the reference."""
    need("ray")
    need("tqdm")
    d = tmp_path_factory.mktemp("local")
    write_spec(d / "spec.toml")
    t0 = time.monotonic()
    huffvec("study", "--spec", "spec.toml", "--out", "out", "--jobs", "2", "-q", cwd=d)
    print(f"local executor: {time.monotonic() - t0:.1f} s")
    return d / "out"


def plan(d: Path) -> Path:
    write_spec(d / "spec.toml")
    out = huffvec("study", "--spec", "spec.toml", "--out", "out", "--plan-only", cwd=d)
    assert "wrote" in out.stderr and "(8 runs)" in out.stderr, out.stderr
    lines = (d / "out" / "plan.jsonl").read_text().splitlines()
    assert [json.loads(x)["stage"] for x in lines] == [0, 0] + [1] * 6
    assert not (d / "out" / "runs").exists(), "--plan-only trains nothing"
    return d / "out"


def test_ray_study_equals_the_local_executor_though_a_run_is_killed(local_study, tmp_path):
    study = plan(tmp_path)
    # Collecting before anything ran names the missing runs.
    proc = subprocess.run(
        [str(huffvec_bin()), "study", "--collect", str(study)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "(matched x0.5 (learning-rate run" in proc.stderr, proc.stderr
    killed = []

    def kill_one():
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline:
            for pid in huffvec_runs(study):
                time.sleep(0.3)  # let it train
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    continue
                break
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_one)
    watcher.start()
    t0 = time.monotonic()
    run = driver(study)
    _, err = run.communicate(timeout=600)
    watcher.join()
    print(f"local Ray (2 CPUs): {time.monotonic() - t0:.1f} s; killed pid {killed}; "
          f"driver stderr:\n{err}")
    assert killed, "no huffvec run was caught to kill"
    assert run.returncode == 0, err
    assert "stage 1: 0 of 6 runs done before, 6 to run" in err, err
    assert study_json(study) == study_json(local_study)


def test_a_stopped_driver_resumes_without_redoing_finished_runs(local_study, tmp_path):
    study = plan(tmp_path)
    run = driver(study)
    deadline = time.monotonic() + 300
    while len(results(study)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=120)
    # Runs the stopped driver's tasks were still performing may finish on their own.
    time.sleep(3)
    before = results(study)
    assert 2 <= len(before) < 6, f"stop the driver halfway, not at {len(before)} of 6"
    again = driver(study)
    _, err = again.communicate(timeout=600)
    print(f"{len(before)} runs done before the restart; driver stderr:\n{err}")
    assert again.returncode == 0, err
    done_before = int(err.split("stage 1: ")[1].split(" of 6")[0])
    assert done_before >= len(before), err
    after = results(study)
    assert len(after) == 6
    for p, mtime in before.items():
        assert after[p] == mtime, f"{p} was redone"
    assert study_json(study) == study_json(local_study)
