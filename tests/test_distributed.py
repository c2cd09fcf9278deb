"""Several processes under ``torchrun`` (gloo on the CPU): DDP QAT, sharded eval, and a lost rank.

Proves: (1) ``torchrun --nproc_per_node 2 -m neurodeploy train --method nq`` completes, rank 0 alone writes a
checkpoint that a single process loads strictly (no ``module.`` prefixes) and that converts exactly; (2) the
NQ σ in that checkpoint equals σ recomputed by one process on the whole validation split (so the ranks' shards
were summed exactly, not averaged or taken from one rank); (3) ``eval --json`` under torchrun prints exactly the
bytes a single process prints; (4) killing rank 1 in the middle of training makes the run exit non-zero with
one clear line from rank 0, and leaves no checkpoint and no temporary folder behind; (5) the shards of
:func:`neurodeploy.distributed.shard` partition the samples, and the counts of :func:`neurodeploy.evaluate.count`
summed over shards equal the counts on all samples (the mechanism behind (3)).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.distributed import Context, session, shard, sum_counts

pytest.importorskip("brevitas")
torch = pytest.importorskip("torch")

SEED = 3
LIMIT = 600
# Hang guard for one torchrun launch (not a timing assertion: a healthy launch takes a few seconds).
LAUNCH_GUARD_S = 300
# torchrun's own OMP_NUM_THREADS default, set here so that it does not print its warning.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "neurodeploy", *args]


def _train_args(out: Path, epochs: int, *extra: str) -> list[str]:
    return ["train", "--model", "mlp", "--dataset", "digits", "--limit", str(LIMIT), "--epochs", str(epochs),
            "--seed", str(SEED), "--out", str(out), *extra]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-rank NQ run (checkpoint ``ckpt``) and its single-process conversion (``graph``)."""
    d = tmp_path_factory.mktemp("ddp")
    proc = subprocess.run(_torchrun(*_train_args(d / "ckpt", 2, "--method", "nq", "--json")), check=False, env=ENV,
                          capture_output=True, text=True, timeout=LAUNCH_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)                   # rank 0 alone printed: one JSON document
    assert summary["processes"] == 2 and summary["method"] == "nq"
    res = CliRunner().invoke(main, ["convert", str(d / "ckpt"), "--out", str(d / "graph"), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["exact"] is True and report["ann_check"]["exact"] is True
    return d


def test_ddp_checkpoint_loads_in_one_process(ddp_run: Path) -> None:
    from neurodeploy.quant.checkpoint import load_checkpoint

    model, config = load_checkpoint(ddp_run / "ckpt")                    # strict state_dict load
    assert not any(k.startswith("module.") for k in model.state_dict())
    assert config["train"]["processes"] == 2 and config["seed"] == SEED
    assert not [p.name for p in ddp_run.iterdir() if p.name.startswith(".")]     # no temporaries left


def test_nq_sigma_covers_the_whole_validation_split(ddp_run: Path) -> None:
    from neurodeploy.quant.checkpoint import load_checkpoint
    from neurodeploy.quant.noise import get_noise
    from neurodeploy.quant.nq import residual_sigmas
    from neurodeploy.quant.train import reshape_inputs, validation_split

    from neurodeploy.commands.training import load_training_data

    model, config = load_checkpoint(ddp_run / "ckpt")
    data = load_training_data("digits", None, 8, LIMIT, SEED, notes=False)
    x_train = reshape_inputs(data.x_train, config["input_shape"])
    _, _, x_val, _ = validation_split(x_train, data.y_train, 0.1, SEED)
    sigmas, _ = residual_sigmas(model, x_val, data.input_scale, data.input_bits)     # one process, all of it
    assert get_noise(model) == [float(np.float32(s)) for s in sigmas]     # the σ buffer is float32
    assert sigmas[-1] > 0.0                     # a real residual, not a trivially equal zero


def test_sharded_eval_prints_the_single_process_bytes(ddp_run: Path) -> None:
    args = ["eval", str(ddp_run / "graph"), "--checkpoint", str(ddp_run / "ckpt"), "--steps", "1,2,4,8", "--json"]
    single = CliRunner().invoke(main, args)
    assert single.exit_code == 0, single.output
    sharded = subprocess.run(_torchrun(*args), check=False, env=ENV, capture_output=True, text=True,
                             timeout=LAUNCH_GUARD_S)
    assert sharded.returncode == 0, sharded.stderr[-3000:]
    assert sharded.stdout == single.output
    assert json.loads(single.output)["samples"] == 450          # both ranks had samples (blocks of 250)


def _rank_pid(parent: int, rank: int) -> int | None:
    """The pid of the worker of ``rank`` among ``parent``'s children (from /proc), if it is running."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent and f"RANK={rank}".encode() in environ:
            return int(stat.parent.name)
    return None


def test_killing_one_rank_stops_the_run_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "ckpt"
    proc = subprocess.Popen(_torchrun(*_train_args(out, 500)), env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:                 # rank 0 prints a line per epoch: training is under way
            if line.startswith("epoch 1/"):
                break
        victim = _rank_pid(proc.pid, 1)
        assert victim is not None, "rank 1 is not running"
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=LAUNCH_GUARD_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)           # the session this test started
    assert proc.returncode != 0
    ours = [ln for ln in err.splitlines() if ln.startswith("Error: rank 0 of 2: ")]
    assert len(ours) == 1, err[-3000:]
    assert "lost contact with another rank" in ours[0] or "stopped by the launcher" in ours[0]
    # torchrun prints its own report of the failed workers; no traceback comes from neurodeploy's code
    frames = [ln for ln in err.splitlines() if ln.strip().startswith('File "')]
    assert not [ln for ln in frames if "site-packages" not in ln and "<frozen" not in ln], err[-3000:]
    assert not out.exists() and not list(tmp_path.iterdir())          # nothing written, no temporaries


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_shards_partition_the_samples(world: int) -> None:
    for n in (0, 1, 249, 250, 251, 1000, 1234):
        parts = [shard(n, Context(rank=r, world=world), 250) for r in range(world)]
        assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))
        for part in parts:                        # whole blocks, aligned to multiples of 250
            starts = part[(part % 250) == 0]
            assert all(set(range(s, min(s + 250, n))) <= set(part.tolist()) for s in starts)
            assert len(part) == 0 or part[0] % 250 == 0


def test_one_process_session_and_sums() -> None:
    with session() as ctx:
        assert (ctx.rank, ctx.world, ctx.main, ctx.distributed) == (0, 1, True, False)
        total = sum_counts({"a": np.array([1, 2], np.int32), "b": np.array([[5]], np.uint8)}, ctx)
    assert total["a"].dtype == np.int64 and total["a"].tolist() == [1, 2] and total["b"].tolist() == [[5]]
    with pytest.raises(ValueError, match="'f' is not an integer array"):
        sum_counts({"f": np.array([0.5])}, ctx)


def test_counts_over_shards_add_up_to_the_whole(ddp_run: Path) -> None:
    from neurodeploy.evaluate import BLOCK, count
    from neurodeploy.ir.serialize import load_graph
    from neurodeploy.pipeline import load_test_data

    graph = load_graph(ddp_run / "graph")
    x, y = load_test_data(graph)
    x, y = x[:2 * BLOCK + 7], y[:2 * BLOCK + 7]
    whole = count(graph, x, y, [1, 4], checkpoint=ddp_run / "ckpt")
    parts = []
    for rank in range(2):
        mine = shard(len(y), Context(rank=rank, world=2), BLOCK)
        parts.append(count(graph, x[mine], y[mine], [1, 4], checkpoint=ddp_run / "ckpt"))
    for key, value in whole.items():
        assert np.array_equal(parts[0][key] + parts[1][key], value), key
