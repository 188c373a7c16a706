#!/usr/bin/env python3
"""Run the missing runs of a planned huffvec study on a Ray cluster, then collect it.

    huffvec study --spec SPEC.toml --out DIR --plan-only
    python3 scripts/ray_study.py DIR [--address ADDR] [--huffvec PATH]

Each line of DIR/plan.jsonl is one run; a run whose DIR/runs/.../result.json exists and
carries the lock's digest is done and is not submitted again, so a driver that was stopped
resumes where it stopped. Every missing run becomes one Ray task (num_cpus = the run's
threads) that executes `huffvec study run DIR --arm A --seed S` on a worker. Stage 0 (the
learning-rate matching runs) finishes before stage 1 starts, since stage 1 trains with the
learning rates stage 0 chose.

Retries: a task whose huffvec process fails (non-zero exit, killed by a signal) or whose
worker or node dies is retried up to --retries times (default 3; Ray's max_retries with
retry_exceptions). A run still failing after that is reported; the driver finishes the
other runs, does not collect, and exits with status 1.

With no --address and no RAY_ADDRESS, a local Ray starts on this machine's cores
(--num-cpus to limit it). On a cluster, the huffvec binary must exist on every node (at
the plan's path, or give --huffvec), and DIR with the corpus and eval files on storage
every node sees at the same path (docs/study.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path


def read_plan(study: Path) -> list[dict]:
    """The lines of plan.jsonl."""
    path = study / "plan.jsonl"
    if not path.is_file():
        sys.exit(
            f"ray_study: {path} is missing; plan the study first: "
            f"huffvec study --spec SPEC.toml --out {study} --plan-only"
        )
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def is_done(study: Path, line: dict, digest: str) -> bool:
    """Whether the run has a result of this lock."""
    result = study / line["dir"] / "result.json"
    try:
        return json.loads(result.read_text()).get("lock_digest") == digest
    except (OSError, ValueError):
        return False


def perform(command: list[str]) -> str:
    """Runs one huffvec command; raises on failure so that Ray retries the task."""
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"exit status {proc.returncode}: {tail[0]}")
    return proc.stderr.strip()


def run_stage(ray, todo: list[dict], task, retries: int, desc: str) -> list[tuple[dict, str]]:
    """Submits every run of `todo` and waits for all; returns the ones that failed."""
    from tqdm import tqdm

    pending = {
        task.options(
            num_cpus=line["threads"], max_retries=retries, retry_exceptions=True
        ).remote(line["command"]): line
        for line in todo
    }
    failed: list[tuple[dict, str]] = []
    with tqdm(total=len(todo), desc=desc, unit="run") as bar:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                line = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as e:  # the task's last failure, after its retries
                    failed.append((line, str(e).strip().splitlines()[-1]))
                bar.update(1)
                bar.set_postfix(running=len(pending), failed=len(failed))
    return failed


def stop(signum, frame):
    """SIGTERM stops the driver as Ctrl-C does: the local Ray is shut down."""
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", type=Path, help="the study's directory (holds plan.jsonl)")
    ap.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else local)")
    ap.add_argument("--huffvec", help="huffvec binary on the workers (default: the plan's)")
    ap.add_argument("--retries", type=int, default=3, help="retries per failed run (default 3)")
    ap.add_argument("--num-cpus", type=int, help="CPUs of a local Ray (default: all cores)")
    args = ap.parse_args()

    import ray

    study = args.study.resolve()
    plan = read_plan(study)
    digest = json.loads((study / "study.lock.json").read_text())["digest"]
    if args.huffvec:
        for line in plan:
            line["command"][0] = args.huffvec
    huffvec = args.huffvec or (plan[0]["command"][0] if plan else "huffvec")

    address = args.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.num_cpus or os.cpu_count(), log_to_driver=False)
    task = ray.remote(perform)
    try:
        for stage in sorted({line["stage"] for line in plan}):
            lines = [line for line in plan if line["stage"] == stage]
            todo = [line for line in lines if not is_done(study, line, digest)]
            print(
                f"stage {stage}: {len(lines) - len(todo)} of {len(lines)} runs done before, "
                f"{len(todo)} to run",
                file=sys.stderr,
            )
            failed = run_stage(ray, todo, task, args.retries, f"stage {stage}")
            if failed:
                for line, why in failed:
                    print(
                        f"ray_study: {line['arm']} seed {line['seed']} failed after "
                        f"{args.retries} retries: {why}",
                        file=sys.stderr,
                    )
                return 1
    except KeyboardInterrupt:
        print(
            "ray_study: stopped; finished runs are kept, run the same command to resume",
            file=sys.stderr,
        )
        return 130
    finally:
        ray.shutdown()
    return subprocess.run([huffvec, "study", "--collect", str(study)]).returncode


if __name__ == "__main__":
    sys.exit(main())
