"""``check-bundle``: verify a deployment bundle from outside, then replay its test vectors."""
from __future__ import annotations

from pathlib import Path

import click

from neurodeploy.commands.common import JSON_OPT, emit, friendly


@click.command(name="check-bundle")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--graph", "graph_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Also require the bundle's graph to be this graph folder's graph.")
@click.option("--no-run", is_flag=True, help="Verify files and contents only; do not replay the test vectors.")
@JSON_OPT
@friendly
def check_bundle(bundle_dir: Path, graph_dir: Path | None, no_run: bool, as_json: bool) -> None:
    """Refuse a bundle holding any file not listed in its manifest (__pycache__ included) or any
    hash mismatch, before running anything; then replay its test vectors with zero tolerance
    (a Lava bundle on Lava, as `deploy.py --check` does; a CPU bundle on the CPU simulator).

    Exit status 1 (one line naming the file) for a refused bundle or a mismatching replay."""
    from neurodeploy.bundle_check import check_bundle as check

    summary = check(bundle_dir, graph_dir=graph_dir, run=not no_run)
    mismatches = summary.get("mismatches", [])
    if not as_json:
        if mismatches:
            raise click.ClickException(f"{bundle_dir}: replay differs from the test vectors: {mismatches[0]}"
                                       + (f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""))
        what = "replayed bit-exactly" if summary.get("replayed") else "not replayed"
        emit(summary, False, f"{bundle_dir}: {summary['kind']} bundle intact, {summary['files']} files "
                             f"verified, test vectors {what}")
        return
    emit(summary, True, "")
    if mismatches:
        raise SystemExit(1)
