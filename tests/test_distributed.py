"""Training on several processes: torchrun with two gloo processes on the CPU, against one process doing the same work.

Each torchrun here starts two Python processes that import torch: about ten seconds of the suite each
on two cores, so the runs are few, tiny, and shared between tests through module fixtures.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import scramble_global_rngs, tiny_config, write_pictures
from ganstudio.cli import build_parser
from ganstudio.core import engine
from ganstudio.core.checkpoint import load_checkpoint
from ganstudio.core.distributed import environment_processes
from ganstudio.core.errors import ConfigError
from ganstudio.core.recipes.base import BatchSplit
from ganstudio.core.runs import RunFolder
from test_cut import cut_config
from test_cyclegan_training import cyclegan_config, two_domains
from test_oom import largest_relative_difference
from test_resume import differences, final_state

REPOSITORY = Path(__file__).resolve().parent.parent
# Far past what a tiny run needs; only a hang (a process waiting forever on a dead one) reaches it.
HANG_TIMEOUT_S = 300
PER_PROCESS_BATCH = 4
TINY_DCGAN = ("--metrics", "none", "--size", "32", "--width", "8", "--device", "cpu", "--seed", "3", "--batch-size", str(PER_PROCESS_BATCH))


def child_environment() -> dict:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        environment.pop(name, None)
    return environment


def torchrun(*arguments: str) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node=2 -m ganstudio ARGUMENTS`, as the README tells a user to."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "ganstudio", *arguments]
    result = subprocess.run(command, env=child_environment(), capture_output=True, text=True, timeout=HANG_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def adam_moments_match(one: dict, two: dict, optimizers: tuple[str, ...]) -> None:
    """Adam's moments after one step are the step's gradients, scaled: equal within float tolerance, relative to
    the largest (the first update itself is nearly sign(gradient), which float noise flips where it is zero)."""
    for name in optimizers:
        for moment in ("exp_avg", "exp_avg_sq"):
            assert largest_relative_difference(one["recipe"][name], two["recipe"][name], moment) < 1e-4, (name, moment)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    write_pictures(folder, 40)
    return folder


def test_run_dir_is_the_spelling_torchrun_lets_through():
    parser = build_parser(with_models=False)
    assert parser.parse_args(["train", "--run-dir", "a"]).run == "a"
    assert parser.parse_args(["train", "--run", "a"]).run == "a"
    assert parser.parse_args(["resume", "--run-dir", "b"]).run_dir == "b"
    assert parser.parse_args(["resume", "b"]).run == "b"
    assert parser.parse_args(["translate", "--run-dir", "c", "--input", "x", "--output", "y"]).run == "c"


def test_the_environment_names_this_process():
    assert environment_processes({}) == (0, 1, 0)
    assert environment_processes({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == (1, 2, 1)
    with pytest.raises(ConfigError, match="does not fit WORLD_SIZE"):
        environment_processes({"RANK": "2", "WORLD_SIZE": "2"})


def test_a_batch_is_shared_out_then_cut_into_micro_batches():
    batch = torch.arange(8)
    assert [(weight, pieces[0].tolist()) for weight, pieces in BatchSplit(1, 2, 2).parts(batch)] == \
        [(0.5, [4, 5]), (0.5, [6, 7])]
    assert [(weight, pieces[0].tolist()) for weight, pieces in BatchSplit(0, 1, 3).parts(torch.arange(5))] == \
        [(0.4, [0, 1]), (0.4, [2, 3]), (0.2, [4])]


def test_two_processes_at_batch_b_train_as_one_at_2b_in_two_pieces(pictures, tmp_path, monkeypatch):
    """DCGAN's batch norm normalises over what one process sees: two processes at batch 4 are one process at batch 8
    in two micro-batches of 4 (batch norm over each), not one at a plain batch 8; that is what they must match."""
    torchrun("train", "--data", str(pictures), "--steps", "1", "--precision", "fp32", "--run-dir",
             str(tmp_path / "two"), *TINY_DCGAN)
    monkeypatch.setattr(engine, "BatchSplit", functools.partial(BatchSplit, micro_batches=2))
    config = tiny_config(pictures, tmp_path / "one", steps=1, batch_size=2 * PER_PROCESS_BATCH, precision="fp32")
    config.model.latent_dim = 100  # the command line's
    engine.run(config)
    two = load_checkpoint(RunFolder(tmp_path / "two").latest_checkpoint())
    one = load_checkpoint(RunFolder(tmp_path / "one").latest_checkpoint())
    assert two["processes"] == 2 and one["processes"] == 1
    adam_moments_match(one, two, ("optimizer_d", "optimizer_g"))
    assert torch.allclose(one["history"]["values"], two["history"]["values"], rtol=1e-5)
    assert differences(two["data"], one["data"]) == []  # the same picture order: the whole batch of 8, shared out


def test_two_cyclegan_processes_at_batch_1_train_as_one_at_batch_2(tmp_path):
    """Instance norm keeps pictures independent: here a plain batch of 2 is what two processes of 1 must match."""
    domain_a, domain_b = two_domains(tmp_path)
    torchrun("train", "--model", "cyclegan", "--data-a", str(domain_a), "--data-b", str(domain_b), "--size", "32",
             "--width", "4", "--preset", "light", "--device", "cpu", "--seed", "5", "--batch-size", "1", "--steps",
             "1", "--precision", "fp32", "--metrics", "none", "--run-dir", str(tmp_path / "two"))
    engine.run(cyclegan_config(domain_a, domain_b, tmp_path / "one", steps=1, batch_size=2, precision="fp32"))
    two = load_checkpoint(RunFolder(tmp_path / "two").latest_checkpoint())
    one = load_checkpoint(RunFolder(tmp_path / "one").latest_checkpoint())
    adam_moments_match(one, two, ("optimizer_g", "optimizer_d"))
    assert torch.allclose(one["history"]["values"], two["history"]["values"], rtol=1e-5)
    # The pools of past fakes hold both processes' fakes, as one process's pools hold its whole batch: one
    # checkpoint's pools then continue every process.
    for pool in ("pool_fake_a", "pool_fake_b"):
        assert two["recipe"][pool]["count"] == one["recipe"][pool]["count"] == 2
        assert torch.allclose(two["recipe"][pool]["images"], one["recipe"][pool]["images"], atol=1e-5)


def test_two_cut_processes_at_batch_1_train_as_one_at_batch_2(tmp_path):
    """CUT draws its patch positions once a step, alike on every process, so two processes of one picture each
    make the step one process makes at batch 2."""
    domain_a, domain_b = two_domains(tmp_path)
    torchrun("train", "--model", "cut", "--data-a", str(domain_a), "--data-b", str(domain_b), "--size", "32",
             "--width", "8", "--preset", "fastcut", "--device", "cpu", "--seed", "5", "--batch-size", "1", "--steps",
             "1", "--precision", "fp32", "--metrics", "none", "--run-dir", str(tmp_path / "two"))
    config = cut_config(domain_a, domain_b, tmp_path / "one", preset="fastcut", steps=1, batch_size=2, precision="fp32")
    config.model.g_width = config.model.d_width = 8
    engine.run(config.validate())
    two = load_checkpoint(RunFolder(tmp_path / "two").latest_checkpoint())
    one = load_checkpoint(RunFolder(tmp_path / "one").latest_checkpoint())
    assert two["processes"] == 2 and one["processes"] == 1
    adam_moments_match(one, two, ("optimizer_g", "optimizer_f", "optimizer_d"))
    assert torch.allclose(one["history"]["values"], two["history"]["values"], rtol=1e-4)


def test_two_processes_stopped_and_resumed_continue_exactly(pictures, tmp_path):
    torchrun("train", "--data", str(pictures), "--steps", "8", "--run-dir", str(tmp_path / "straight"), *TINY_DCGAN)
    torchrun("train", "--data", str(pictures), "--steps", "3", "--run-dir", str(tmp_path / "resumed"), *TINY_DCGAN)
    torchrun("resume", "--run-dir", str(tmp_path / "resumed"), "--steps", "8")
    assert differences(final_state(tmp_path / "straight"), final_state(tmp_path / "resumed")) == []
    scramble_global_rngs()
    with pytest.raises(Exception, match="was trained on 2 processes, this is 1"):
        engine.resume(tmp_path / "resumed", steps=9)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_two_processes(pictures: Path, run_dir: Path) -> list[subprocess.Popen]:
    """Two training processes started as torchrun starts them (its environment variables), with a long target."""
    port = free_port()
    command = [sys.executable, "-m", "ganstudio", "train", "--data", str(pictures), "--steps", "100000",
               "--checkpoint-minutes", "0.0001", "--run-dir", str(run_dir), *TINY_DCGAN]
    processes = []
    for rank in (0, 1):
        environment = dict(child_environment(), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                           MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        processes.append(subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    return processes


def wait_for_line(process: subprocess.Popen, start: str) -> None:
    for line in process.stdout:
        if line.startswith(start):
            return
    raise AssertionError(f"the process ended before printing a line that starts with {start!r}")


def end(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_stops_both_processes_at_the_same_step_with_a_checkpoint(pictures, tmp_path):
    run_dir = tmp_path / "run"
    processes = start_two_processes(pictures, run_dir)
    main, other = processes
    try:
        wait_for_line(main, "checkpoint:")
        for process in processes:
            process.send_signal(signal.SIGTERM)
        rest, errors = main.communicate(timeout=HANG_TIMEOUT_S)
        other.wait(timeout=HANG_TIMEOUT_S)
    finally:
        end(processes)
    assert main.returncode == 0 and other.returncode == 0, errors[-3000:]
    stopped = [line for line in rest.splitlines() if line.startswith("Stopped at step")]
    assert len(stopped) == 1
    step = int(stopped[0].split()[3].rstrip(";").replace(",", ""))
    assert step % 10 == 0  # agreed at a step both reached: stops are agreed every ten steps
    newest = load_checkpoint(RunFolder(run_dir).latest_checkpoint(), for_training=True)
    assert int(newest["counters"]["step"]) == step


def test_a_dead_process_stops_the_others_plainly_with_the_last_checkpoint_intact(pictures, tmp_path):
    """The second process is killed once the first has written a checkpoint."""
    run_dir = tmp_path / "run"
    processes = start_two_processes(pictures, run_dir)
    main, other = processes
    try:
        wait_for_line(main, "checkpoint:")
        other.send_signal(signal.SIGKILL)
        other.wait(timeout=HANG_TIMEOUT_S)
        rest, errors = main.communicate(timeout=HANG_TIMEOUT_S)
    finally:
        end(processes)
    assert main.returncode == 1
    assert "Another of the 2 training processes stopped" in errors and "Traceback" not in errors, errors[-3000:]
    assert "Another of the" not in rest  # said once, as the command's error, not again among the progress lines
    newest = RunFolder(run_dir).latest_checkpoint()
    step = int(load_checkpoint(newest, for_training=True)["counters"]["step"])
    assert step > 0 and step % 5 == 0  # an epoch's end: 40 pictures, 8 a step


def test_a_process_that_left_a_process_group_ends_without_the_interpreter_teardown(monkeypatch):
    """gloo's worker threads can abort a finished process in Python's teardown; such a process ends by os._exit."""
    from ganstudio import cli
    from ganstudio.core import distributed

    ended_with = []
    monkeypatch.setattr(cli.os, "_exit", ended_with.append)
    assert cli._end_process_after_a_process_group(0) == 0 and ended_with == []  # the app and the suite return
    monkeypatch.setattr(distributed, "_left_a_group", True)
    cli._end_process_after_a_process_group(3)
    assert ended_with == [3]
