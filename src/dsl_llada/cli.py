"""Command line for the jobs that must run as their own process (multi-GPU training).

    accelerate launch [--config_file F] -m dsl_llada.cli train --config JSON --init DIR \
        --data DIR --out DIR --state-dir DIR [--runtime-minutes M]

``--runtime-minutes`` is the job's time limit (the workflow passes ``{resources.runtime}``, i.e.
what the rule requests after profile overrides); training saves and exits 75 when only
``stop_margin_minutes`` of it are left.

    dsl-llada check-config FILE...   # a YAML syntax error with its file, line and column

Config arrives as JSON (what the workflow's ``params:`` hold), never read from globals.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .training import PREEMPTED_EXIT_CODE, TrainConfig, TrainConfigError, stop_after_seconds, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dsl-llada")
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="DSL or MDM continued pre-training (resumable)")
    p_train.add_argument("--config", required=True, help="TrainConfig as a JSON string or @file.json")
    p_train.add_argument("--init", required=True, help="backbone folder to start from")
    p_train.add_argument("--data", required=True, help="token dataset folder")
    p_train.add_argument("--out", required=True, help="final model folder (published atomically)")
    p_train.add_argument("--state-dir", required=True, help="resumable state folder (kept across reruns)")
    p_train.add_argument(
        "--runtime-minutes",
        type=float,
        default=0.0,
        help="the job's time limit in minutes (0: none); stop with state saved before it",
    )
    p_check = sub.add_parser("check-config", help="name the file and line of a YAML syntax error in config files")
    p_check.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "check-config":
        return _check_config_files(args.files)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raw = args.config
    if raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as handle:
            raw = handle.read()
    try:
        settings = json.loads(raw)
    except json.JSONDecodeError as err:
        print(f"dsl-llada train: --config is not valid JSON ({err})", file=sys.stderr)
        return 2
    try:
        if not isinstance(settings, dict):
            raise TrainConfigError(f"--config must be a JSON object of train settings, got {type(settings).__name__}")
        cfg = TrainConfig(**settings)
        if args.runtime_minutes > 0:
            cfg.stop_after_seconds = stop_after_seconds(args.runtime_minutes, cfg.stop_margin_minutes)
        train(cfg, args.init, args.data, args.out, args.state_dir)
    except (TrainConfigError, TypeError, ValueError) as err:
        print(f"dsl-llada train: {err}", file=sys.stderr)
        return 2
    except SystemExit as stop:
        if stop.code == PREEMPTED_EXIT_CODE:
            return PREEMPTED_EXIT_CODE
        raise
    return 0


def _check_config_files(files: list[str]) -> int:
    from .config import ConfigError, load_config_file

    failed = 0
    for path in files:
        try:
            load_config_file(path)
        except ConfigError as err:
            print(f"dsl-llada check-config: {err}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
