"""The ganstudio command: train, resume, check, generate, nearest, score, animate, translate, export, bench; alone, the app.

Exit codes: 0 success, 1 a problem the user can fix (one plain sentence on stderr) or a fault inside GAN
Studio (one sentence naming the log that holds the details), 2 a usage error, 130 interrupted before anything
was saved. Nothing the commands print can fail to print: names that are not valid UTF-8, or a terminal that
takes ASCII only, come out with backslash escapes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from . import __version__

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# The largest seed a run stores (a signed 64-bit integer, as RunConfig checks); core.generate.MAX_SEED is the same.
LARGEST_SEED = 2**63 - 1
# The command-line log starts afresh (keeping one older file) past this size: a few hundred tracebacks.
LOG_BYTES = 1_000_000


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or more")
    return value


def _seed(text: str) -> int:
    value = _non_negative_int(text)
    if value > LARGEST_SEED:
        raise argparse.ArgumentTypeError(f"'{text}' is past the largest seed, {LARGEST_SEED}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be more than 0")
    return value


def _add_target_options(parser: argparse.ArgumentParser, totals_note: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--epochs", type=_positive_int, metavar="N", help=f"train for N epochs{totals_note}")
    group.add_argument("--steps", type=_positive_int, metavar="N", help=f"train for N steps{totals_note}")
    group.add_argument("--minutes", type=_positive_float, metavar="M", help="train for M minutes of training time")


def _data_flag(domain: str, domain_count: int) -> str:
    """--data for a model of one domain; --data-a, --data-b for a model of two."""
    return "--data" if domain_count == 1 else f"--data-{domain.lower()}"


def _data_flags(recipe) -> list[str]:
    return [_data_flag(domain, len(recipe.domains)) for domain in recipe.domains]


def _flag_value(args: argparse.Namespace, flag: str):
    return getattr(args, flag[2:].replace("-", "_"), None)


def _describe_model(recipe) -> str:
    from .core.registry import GENERATE
    if recipe.kind == GENERATE:
        kind = "pictures from noise"
    else:
        kind = f"translation between two domains: {' and '.join(_data_flags(recipe))}"
    return f"  {recipe.name}: {recipe.label} ({kind}). {recipe.summary}"


def _option_dest(option) -> str:
    return f"option_{option.name}"


def _add_model_arguments(train: argparse.ArgumentParser) -> None:
    """--model, the data flags, --metrics and every model's own options, all from the registry's declarations."""
    from .core.registry import metric_classes, recipes
    models = recipes()
    train.epilog = "models:\n" + "\n".join(_describe_model(recipe) for recipe in models)
    train.formatter_class = argparse.RawDescriptionHelpFormatter
    default = _default_model("auto")
    train.add_argument("--model", choices=[recipe.name for recipe in models],
                       help=f"model to train (default: {default.name} on this machine; see the list below)")
    source = train.add_mutually_exclusive_group()
    flags: dict[str, list[str]] = {}
    for recipe in models:
        for flag in _data_flags(recipe):
            flags.setdefault(flag, []).append(recipe.name)
    for flag, names in flags.items():
        where = "" if flag == "--data" else f", domain {flag[-1].upper()}"
        target = source if flag == "--data" else train
        target.add_argument(flag, nargs="+", metavar="PATH",
                            help=f"folders (searched recursively), pictures or zips{where} (for {', '.join(names)})")
    source.add_argument("--demo", action="store_true", help="train on the model's built-in demo pictures")
    sizes = sorted({size for recipe in models for size in recipe.sizes})
    defaults = ", ".join(f"{recipe.default_size} for {recipe.name}" for recipe in models)
    train.add_argument("--size", type=int, choices=sizes, help=f"image size in pixels (default: {defaults})")
    metrics = metric_classes()
    listed = "; ".join(f"{metric.name}: {metric.summary or metric.label}" for metric in metrics) or "none yet"
    train.add_argument("--metrics", nargs="+", default=["auto"], metavar="NAME",
                       choices=["auto", "none", *(metric.name for metric in metrics)],
                       help=f"what to measure while training: auto (each one on by default that fits the model), "
                            f"none, or names ({listed})")
    declared: dict[str, list] = {}
    for recipe in models:
        for option in recipe.options:
            declared.setdefault(option.flag, []).append((recipe, option))
    for flag, pairs in declared.items():
        option = pairs[0][1]
        helps = "; ".join(f"{recipe.name}: {o.help} (default: {o.default if not isinstance(o.default, bool) else 'on'})"
                          for recipe, o in pairs)
        dest = _option_dest(option)
        if isinstance(option.default, bool):
            train.add_argument(flag, dest=dest, action="store_const", const=not option.default, default=None,
                               help=helps)
        elif option.choices:
            values = list(dict.fromkeys(value for _, o in pairs for value in o.values))
            train.add_argument(flag, dest=dest, choices=values, default=None, help=helps)
        else:
            number = int if isinstance(option.default, int) else float
            train.add_argument(flag, dest=dest, type=number, default=None, metavar="N" if number is int else "X",
                               help=helps)


def _default_model(device: str) -> type:
    """The model a run gets when none is named: the one of the picture-making kind that measures best on
    the device it will train on."""
    import torch

    from .core.registry import GENERATE, default_recipe
    if device == "auto":
        mps = getattr(torch.backends, "mps", None)
        device = "cuda" if torch.cuda.is_available() else "mps" if mps is not None and mps.is_available() else "cpu"
    return default_recipe(GENERATE, torch.device(device).type)


def _check_model_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, as usage errors, data flags and options that the chosen model does not take."""
    from .core.registry import get_recipe, recipes
    if args.model is None:
        args.model = _default_model(args.device).name
    recipe = get_recipe(args.model)
    wanted = _data_flags(recipe)
    every_flag = dict.fromkeys(flag for other in recipes() for flag in _data_flags(other))
    given = [flag for flag in every_flag if _flag_value(args, flag)]
    stray = [flag for flag in given if flag not in wanted]
    if stray:
        parser.error(f"the {recipe.name} model trains on {' and '.join(wanted)}, not {', '.join(stray)}")
    if not args.demo and len(given) != len(wanted):
        parser.error(f"give {' and '.join(f'{flag} PATH' for flag in wanted)}, or --demo")
    if args.demo and given:
        parser.error("give either --demo or your own pictures, not both")
    own = {option.name for option in recipe.options}
    for other in recipes():
        for option in other.options:
            if option.name not in own and getattr(args, _option_dest(option), None) is not None:
                offered = ", ".join(o.flag for o in recipe.options) or "none"
                parser.error(f"{option.flag} is not an option of the {recipe.name} model (its options: {offered})")
    for option in recipe.options:
        value = getattr(args, _option_dest(option), None)
        if option.choices and value is not None and value not in option.values:
            parser.error(f"{option.flag} for the {recipe.name} model is one of {', '.join(option.values)}, "
                         f"not '{value}'")


def build_parser(with_models: bool = True) -> argparse.ArgumentParser:
    """The whole command line; `with_models` False leaves out train's model flags, which need torch to list."""
    parser = argparse.ArgumentParser(
        prog="ganstudio",
        description="GAN Studio: train generative adversarial networks on your own pictures. "
                    "Run without a command to open the desktop app.")
    parser.add_argument("--version", action="version",
                        version=f"ganstudio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a new model",
                                description="Train a new model on a folder, picture files or a zip, or on the demo.")
    if with_models:
        _add_model_arguments(train)
    _add_target_options(train, "")
    train.add_argument("--fit", default="crop", choices=("crop", "pad", "stretch"),
                       help="how pictures become square: centre crop, pad, or stretch (default: crop)")
    train.add_argument("--batch-size", type=_positive_int, default=0, metavar="N",
                       help="images per step (default: the model's own for the device; on a CPU smaller batches, "
                            "more steps)")
    train.add_argument("--lr-g", type=_positive_float, default=2e-4, metavar="X", help="generator learning rate (default: 2e-4)")
    train.add_argument("--lr-d", type=_positive_float, default=2e-4, metavar="X",
                       help="discriminator learning rate (default: 2e-4)")
    train.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"),
                       help="where to train (default: auto, the GPU if there is one)")
    train.add_argument("--seed", type=_seed, default=0, metavar="N", help="random seed (default: 0)")
    # --run-dir is the spelling torchrun lets through: its own parser takes --run as an abbreviation of --run-path.
    train.add_argument("--run", "--run-dir", dest="run", metavar="DIR",
                       help="run folder (default: a new folder under the user data folder); --run-dir is the same, "
                            "and the one to use under torchrun")
    train.add_argument("--width", type=_positive_int, metavar="N",
                       help="base channel count of both networks (default: the model's own for the device)")
    train.add_argument("--augment", default="flip", choices=("flip", "none", "diff", "diff+flip"),
                       help="augmentation: flip (the default: left-right mirroring, plus differentiable augmentation as "
                            "strong as the discriminator needs), none, or diff / diff+flip (differentiable "
                            "augmentation at full strength, without or with mirroring)")
    train.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                       help="numeric precision (default: auto: bf16 mixed precision on GPUs, and on CPUs "
                            "with bf16 instructions)")
    train.add_argument("--background", default="#ffffff", metavar="#RRGGBB",
                       help="colour for transparent pixels and padding (default: #ffffff)")
    train.add_argument("--checkpoint-minutes", type=_positive_float, default=10.0, metavar="M",
                       help="minutes between checkpoints (default: 10; one is always written at the end)")

    resume = commands.add_parser("resume", help="continue a run exactly where it stopped",
                                 description="Continue a run from its latest checkpoint. Epochs and steps are "
                                             "totals; minutes are more minutes.")
    resume.add_argument("run", metavar="RUN", nargs="?", help="the run folder")
    resume.add_argument("--run-dir", "--run", dest="run_dir", metavar="DIR",
                        help="the run folder, given as an option (the same as RUN; for torchrun command lines)")
    _add_target_options(resume, " in total")
    resume.add_argument("--checkpoint", metavar="FILE", help="a checkpoint of the run other than the latest")

    check = commands.add_parser("check", help="check a dataset and report what is usable",
                                description="Decode every picture and report what is usable, what is skipped and why.")
    check.add_argument("paths", nargs="+", metavar="PATH", help="folders, pictures or zips")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--size", type=int, default=64, choices=(32, 64, 128, 256, 512), help="image size (default: 64)")
    check.add_argument("--fit", default="crop", choices=("crop", "pad", "stretch"), help="how pictures become square")

    generate = commands.add_parser("generate", help="make pictures with a trained model",
                                   description="Write one PNG per seed (seed, seed+1, ...), each with its seed, "
                                               "run, epoch and app version in its metadata.")
    generate.add_argument("run", metavar="RUN", help="the run folder (or a checkpoint file)")
    generate.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the latest")
    generate.add_argument("--count", type=_positive_int, required=True, metavar="N",
                          help="how many pictures (at most a million)")
    generate.add_argument("--seed", type=_seed, required=True, metavar="N", help="the first seed")
    generate.add_argument("--out", required=True, metavar="DIR", help="folder for the pictures")
    generate.add_argument("--grid", action="store_true", help="also write a grid of all of them (at most 1,024)")
    generate.add_argument("--overwrite", action="store_true", help="replace pictures of the same seeds in DIR")
    generate.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"), help="where to run")

    nearest = commands.add_parser(
        "nearest", help="compare a generated picture with the training pictures nearest to it",
        description="Is it copying my pictures? Write the picture of one seed and the training pictures nearest to "
                    "it (by the cosine distance of pretrained EfficientNet-Lite1 features: 0 is the same picture), "
                    "with a strip of them side by side, and print each one's distance. The run's training "
                    "pictures must still be where it found them; their features are cached, so the next seed "
                    "is quick.")
    nearest.add_argument("run", metavar="RUN", help="the run folder (or a checkpoint file)")
    nearest.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the latest")
    nearest.add_argument("--seed", type=_seed, required=True, metavar="N", help="the seed of the generated picture")
    nearest.add_argument("--count", type=_positive_int, default=5, metavar="K",
                         help="how many nearest training pictures (default: 5, at most 100)")
    nearest.add_argument("--out", metavar="DIR",
                         help="folder for the pictures (default: exports/nearest_seed_N in the run folder)")
    nearest.add_argument("--overwrite", action="store_true", help="replace pictures of the same names in DIR")
    nearest.add_argument("--json", action="store_true", help="print the comparison as JSON")
    nearest.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"), help="where to run")

    score = commands.add_parser(
        "score", help="measure a trained model's quality: KID, Fréchet distance, memorisation",
        description="Score a run's generator against its own training pictures: KID x 1,000 on pretrained "
                    "EfficientNet-Lite1 features (lower is better, about 0 looks like the data), a Fréchet distance "
                    "on the same features where the set and --count hold 2,000 pictures or more, and how near the "
                    "pictures come to copying training ones.")
    score.add_argument("run", metavar="RUN", help="the run folder (or a checkpoint file)")
    score.add_argument("--checkpoint", metavar="FILE",
                       help="a checkpoint other than the latest (checkpoints/best.pt, say)")
    score.add_argument("--count", type=_positive_int, default=500, metavar="N",
                       help="how many generated pictures to score (default: 500, under a minute on a CPU)")
    score.add_argument("--json", action="store_true", help="print the figures as JSON")
    score.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"), help="where to run")

    animate = commands.add_parser(
        "animate", help="make a looping morph from one seed's picture to another's",
        description="Write a GIF or MP4 that morphs from the picture of one seed to the picture of another and "
                    "back, looping without a jump; the run, step, seeds, model and app version go into the file.")
    animate.add_argument("run", metavar="RUN", help="the run folder (or a checkpoint file)")
    animate.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the latest")
    animate.add_argument("--from-seed", type=_seed, required=True, metavar="A",
                         help="the seed of the first picture")
    animate.add_argument("--to-seed", type=_seed, required=True, metavar="B",
                         help="the seed of the picture to morph to")
    animate.add_argument("--frames", type=int, default=36, metavar="N",
                         help="frames from A to B, at least 2; the way back adds as many again, so the file "
                              "holds 2N frames (default: 36)")
    animate.add_argument("--fps", type=_positive_float, default=24.0, metavar="X",
                         help="frames a second (default: 24)")
    animate.add_argument("--out", required=True, metavar="FILE", help="FILE.gif, or FILE.mp4 (needs ffmpeg)")
    animate.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    animate.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"), help="where to run")

    translate = commands.add_parser(
        "translate", help="convert pictures with a trained image-to-image generator",
        description="Convert a picture or every picture in a folder (or zip) with an image-to-image generator: a "
                    "run folder, or a generator file such as the published horse2zebra.pth. Results keep their "
                    "picture's name and size, saved as .png.")
    weights_source = translate.add_mutually_exclusive_group(required=True)
    weights_source.add_argument("--weights", metavar="FILE", help="a generator file (.pth or .safetensors)")
    weights_source.add_argument("--run", "--run-dir", dest="run", metavar="RUN", help="an image-to-image run folder")
    translate.add_argument("--direction", choices=("AtoB", "BtoA"),
                           help="with --run: A to B (default) or B to A; a generator file converts one way only")
    translate.add_argument("--input", required=True, metavar="PATH", help="a picture, a folder or a zip")
    translate.add_argument("--output", required=True, metavar="PATH",
                           help="for a folder: the folder for the results; for a picture: a file (.png, .jpg, "
                                ".webp) or a folder")
    translate.add_argument("--checkpoint", metavar="FILE", help="with --run: a checkpoint other than the latest")
    translate.add_argument("--overwrite", action="store_true",
                           help="replace results that already exist (originals are never replaced)")
    translate.add_argument("--max-size", type=_positive_int, metavar="PX",
                           help="shrink larger pictures so their longer side is PX before converting "
                                "(default: convert at full size)")
    translate.add_argument("--scale", default="trained", choices=("trained", "full"),
                           help="trained (default): convert each picture resized to the scale the run learned at, "
                                "then resize the result back to the picture's size, so shapes and textures are as "
                                "large as in training; full: convert the picture's own pixels (sharper on large "
                                "pictures, but the textures keep their training size in pixels). A generator file "
                                "from elsewhere does not say its training scale and always converts at full")
    translate.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"), help="where to run")

    export = commands.add_parser(
        "export-generator", help="save a run's generator for sharing",
        description="Save one generator of an image-to-image run as .pth (the layout of the reference "
                    "pytorch-CycleGAN-and-pix2pix tool, which loads it as latest_net_G_A.pth) or as .safetensors.")
    export.add_argument("run", metavar="RUN", help="the run folder")
    export.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"),
                        help="which generator: A to B (default) or B to A")
    export.add_argument("--out", required=True, metavar="FILE", help="FILE.pth or FILE.safetensors")
    export.add_argument("--checkpoint", metavar="FILE", help="a checkpoint of the run other than the latest")
    export.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")

    bench = commands.add_parser(
        "bench", help="measure every model's speed against the same work done the textbook way",
        description="Time each model's declared cases (training, generation, conversion at 256 and 1024 px, peak "
                    "memory on CUDA) beside the same work done the textbook way in plain PyTorch, on this machine.")
    bench.add_argument("--models", nargs="+", metavar="NAME", help="only these models (default: every one)")
    bench.add_argument("--sizes", nargs="+", type=_positive_int, metavar="PX",
                       help="only the declared cases at these sizes (default: every one)")
    bench.add_argument("--repeats", type=_positive_int, default=3, metavar="N",
                       help="timed repeats of each side; the median is reported (default: 3)")
    bench.add_argument("--seconds", type=_positive_float, default=2.0, metavar="S",
                       help="least seconds a repeat lasts (default: 2)")
    bench.add_argument("--tiny", action="store_true",
                       help="every case shrunk to 32 px and tiny widths: checks each path in seconds, measures nothing")
    bench.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"), help="where to run")
    bench.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                       help="our side's precision (default: auto, as training uses; the textbook side is always fp32)")
    bench.add_argument("--threads", type=_positive_int, metavar="N",
                       help="CPU threads for both sides (default: torch's own choice); 1 steadies figures on a busy machine")
    bench.add_argument("--compile", action="store_true",
                       help="also time each training step with its networks compiled (torch.compile; CUDA graphs on "
                            "CUDA) against eager, with the time compiling took")
    bench.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


class _InterruptHandler:
    """First Ctrl-C (or SIGTERM) asks the engine to stop after the current step; a second one quits at once."""

    def __init__(self, control) -> None:
        self.control = control
        self.previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.control.stop_requested:
            raise KeyboardInterrupt
        if os.environ.get("RANK", "0") in ("", "0"):  # under torchrun, rank 0 speaks for every process
            print("\nStopping after this step and saving a checkpoint (Ctrl-C again quits without saving)...",
                  file=sys.stderr, flush=True)
        self.control.request_stop()

    def __enter__(self) -> "_InterruptHandler":
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _train_config(args: argparse.Namespace):
    from .core.config import RunConfig
    from .core.registry import get_recipe
    if args.model is None:
        args.model = _default_model(args.device).name
    recipe = get_recipe(args.model)
    config = RunConfig()
    data, model, train, run = config.data, config.model, config.train, config.run
    domain_paths = [list(_flag_value(args, flag) or []) for flag in _data_flags(recipe)]
    data.paths = domain_paths[0]
    data.paths_b = domain_paths[1] if len(domain_paths) > 1 else []
    data.demo = bool(args.demo)
    data.size = args.size or recipe.default_size
    data.fit, data.augment, data.background = args.fit, args.augment, args.background
    model.name = args.model
    model.options = {option.name: getattr(args, _option_dest(option)) for option in recipe.options
                     if getattr(args, _option_dest(option), None) is not None}
    if args.width:
        model.g_width = model.d_width = args.width
    train.epochs, train.steps, train.minutes = args.epochs, args.steps, args.minutes
    train.batch_size = args.batch_size  # 0: the recipe's default for the device
    train.lr_g, train.lr_d = args.lr_g, args.lr_d
    train.device, train.precision, train.seed = args.device, args.precision, args.seed
    run.dir = str(Path(args.run).expanduser().resolve()) if args.run else ""
    run.checkpoint_every_minutes = args.checkpoint_minutes
    run.metrics = list(args.metrics)
    return config.validate()


def _run_training(start) -> int:
    from .core.control import Control
    from .core.sinks import ConsoleSink
    control = Control()
    with _InterruptHandler(control):
        result = start(ConsoleSink(), control)
    return 0 if result is not None else EXIT_USER_ERROR


def _command_train(args: argparse.Namespace) -> int:
    from .core import engine
    config = _train_config(args)
    return _run_training(lambda sink, control: engine.run(config, sink, control))


def _command_resume(args: argparse.Namespace) -> int:
    from .core import engine
    return _run_training(lambda sink, control: engine.resume(args.run, sink, control, epochs=args.epochs,
                                                             steps=args.steps, minutes=args.minutes,
                                                             checkpoint=args.checkpoint))


def _command_check(args: argparse.Namespace) -> int:
    from .core.config import DataConfig
    from .core.data.cache import load_dataset
    from .core.data.scan import require_usable
    config = DataConfig(paths=list(args.paths), size=args.size, fit=args.fit)

    def progress(stage: str, done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{stage}: {done:,} of {total:,}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = load_dataset(config, progress, require=False).report
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_text())
    require_usable(report)
    return 0


def _command_generate(args: argparse.Namespace) -> int:
    from .core.generate import check_seeds, load_generator, write_seed_images
    from .core.sinks import epochs_done
    check_seeds(args.seed, args.count, args.grid)
    generator = load_generator(args.run, args.checkpoint, args.device)
    seeds = list(range(args.seed, args.seed + args.count))
    written = write_seed_images(generator, seeds, args.out, grid=args.grid, overwrite=args.overwrite)
    print(f"Wrote {len(written):,} files to {Path(args.out).expanduser().resolve()} "
          f"(run {generator.run_name}, {epochs_done(generator.epoch)}, step {generator.step:,}).")
    return 0


def _command_nearest(args: argparse.Namespace) -> int:
    from .core.errors import ConfigError
    from .core.generate import load_generator
    from .core.nearest import compare_seed
    from .core.printable import printable_name
    from .core.runs import RunFolder
    if args.out is None and Path(args.run).expanduser().is_file():
        raise ConfigError("Name a folder for the pictures with --out DIR; a checkpoint file has no run folder of its "
                          "own to put them in.")
    generator = load_generator(args.run, args.checkpoint, args.device)
    out = Path(args.out).expanduser() if args.out else RunFolder(args.run).exports_dir / f"nearest_seed_{args.seed}"
    stages = {"decoding": "decoding the training pictures", "features": "reading the training pictures' features"}

    def progress(stage: str, done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{stages.get(stage, stage)}: {done:,} of {total:,}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    comparison = compare_seed(generator, args.seed, args.count, out, overwrite=args.overwrite, progress=progress)
    if args.json:
        print(json.dumps({"run": generator.run_name, "checkpoint": generator.checkpoint_path.name,
                          "step": generator.step, **comparison.to_dict()}, indent=2))
        return 0
    shown = len(comparison.neighbours)
    print(f"Seed {args.seed} (run {generator.run_name}, step {generator.step:,}): its {shown:,} nearest of "
          f"{comparison.training_count:,} training pictures, by cosine distance (0 is the same picture; a training "
          f"picture is typically {comparison.typical_distance:.4f} from its nearest other):")
    for rank, neighbour in enumerate(comparison.neighbours, start=1):
        print(f"  {rank:>{len(str(shown))}}. {neighbour.distance:.4f}  {printable_name(neighbour.label)}")
    print(f"Wrote {len(comparison.files):,} files to {out.resolve()}.")
    return 0


def _command_score(args: argparse.Namespace) -> int:
    from .core.generate import load_generator
    from .core.printable import printable_name
    from .core.score import score_generator
    from .core.sinks import epochs_done
    generator = load_generator(args.run, args.checkpoint, args.device)
    stages = {"decoding": "decoding the training pictures", "real": "features of the training pictures",
              "features": "distances among the training pictures", "generated": "generated pictures"}

    def progress(stage: str, done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{stages.get(stage, stage)}: {done:,} of {total:,}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    result = score_generator(generator, args.count, progress)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"Run {result.run}, {result.checkpoint} ({epochs_done(result.epoch)}, step {result.step:,}): "
          f"{result.generated_count:,} generated pictures against {result.real_count:,} of the "
          f"{result.training_count:,} training pictures")
    print(f"  KID x 1,000:       {result.kid:.1f} (spread over subsets {result.kid_spread:.1f}; lower is better, "
          "about 0 looks like the training pictures)")
    if result.frechet is not None:
        print(f"  Fréchet distance:  {result.frechet:.2f} (lower is better)")
    else:
        print(f"  Fréchet distance:  {result.frechet_note}")
    print(f"  variety:           {result.variety:.2f} of the training pictures' spread")
    figure = result.memorisation
    print(f"  memorisation:      {figure.figure:.2f}, {figure.verdict}")
    print(f"  nearest to a training picture: seed {figure.closest_seed} ({figure.closest_distance:.4f} from "
          f"{printable_name(figure.closest_picture)}); `ganstudio nearest RUN --seed {figure.closest_seed}` shows them")
    return 0


def _command_animate(args: argparse.Namespace) -> int:
    from .core.animation import animate_run

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,} of {total:,} frames", end="" if done < total else "\n", file=sys.stderr, flush=True)

    written, generator = animate_run(args.run, args.out, args.from_seed, args.to_seed, args.frames, args.fps,
                                     checkpoint=args.checkpoint, device=args.device, overwrite=args.overwrite,
                                     progress=progress)
    print(f"Wrote {written.resolve()}: seed {args.from_seed} to {args.to_seed} and back, {2 * args.frames:,} "
          f"frames at {args.fps:g} fps (run {generator.run_name}, step {generator.step:,}).")
    return 0


def _command_bench(args: argparse.Namespace) -> int:
    from .core.bench import format_results, run_bench
    from .core.errors import ConfigError
    from .core.registry import recipes
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    known = [recipe.name for recipe in recipes() if recipe.bench_cases]
    unknown = [name for name in args.models or [] if name not in known]
    if unknown:
        raise ConfigError(f"No benchmark for {', '.join(unknown)}; the models with one are {', '.join(known)}.")
    results = run_bench(models=args.models, sizes=args.sizes, repeats=args.repeats, seconds=args.seconds, device=args.device,
                        precision=args.precision, tiny=args.tiny, compiled=args.compile,
                        progress=None if args.json else (lambda text: print(text, file=sys.stderr, flush=True)))
    print(json.dumps(results, indent=2) if args.json else format_results(results))
    return 0


def _command_translate(args: argparse.Namespace) -> int:
    from .core.errors import DataError
    from .core.translate import open_translator, translate_file, translate_folder
    translator = open_translator(weights=args.weights, run=args.run, direction=args.direction or "AtoB",
                                 device=args.device, checkpoint=args.checkpoint, scale=args.scale)
    if args.weights and args.direction and translator.direction is None:
        print(f"note: {Path(args.weights).name} is a single generator and converts the way it was trained; "
              "--direction is ignored.", file=sys.stderr)
    source = Path(args.input).expanduser()
    if not source.exists():
        raise DataError(f"{args.input} does not exist.")
    way = {"AtoB": " A to B", "BtoA": " B to A"}.get(translator.direction or "", "")
    if source.is_file() and source.suffix.lower() != ".zip":
        try:
            written = translate_file(translator, source, args.output, args.max_size, args.overwrite)
        except KeyboardInterrupt:
            print("ganstudio: interrupted; nothing was written.", file=sys.stderr)
            return EXIT_INTERRUPTED
        print(f"Converted {source.name}{way} with {translator.description}: {written}")
        return 0

    cancel = _CancelFlag()

    def progress(done: int, total: int, name: str) -> None:
        if sys.stderr.isatty():
            print(f"\r{done:,} of {total:,} converted", end="" if done < total else "\n", file=sys.stderr,
                  flush=True)

    with cancel:
        result = translate_folder(translator, source, args.output, progress, lambda: cancel.requested, args.max_size,
                                  args.overwrite)
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    for name, reason in result.skipped:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    output = result.output
    if result.cancelled:
        print(f"Cancelled: {len(result.written):,} of {result.total:,} pictures were converted into {output}.")
        return EXIT_INTERRUPTED
    if result.total == 0:
        raise DataError(f"There are no pictures in {args.input}.")
    if not result.written:
        raise DataError(f"None of the {result.total:,} files in {args.input} could be converted "
                        f"({result.skipped[0][0]}: {result.skipped[0][1]}).")
    skipped = f", {len(result.skipped):,} skipped" if result.skipped else ""
    count = len(result.written)
    print(f"Converted {count:,} picture{'' if count == 1 else 's'}{way} with {translator.description} into "
          f"{output}{skipped}.")
    return 0


class _CancelFlag:
    """Ctrl-C while converting a folder finishes the current picture, then stops; a second one quits at once."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "_CancelFlag":
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        signal.signal(signal.SIGINT, self.previous)


def _command_export_generator(args: argparse.Namespace) -> int:
    from .core.translate import export_generator
    written = export_generator(args.run, args.out, args.direction, args.checkpoint, args.overwrite)
    print(f"Exported the {args.direction} generator of {Path(args.run).name} to {written}.")
    return 0


def _open_app(parser: argparse.ArgumentParser) -> int:
    try:
        from .gui.app import main as gui_main
    except ImportError as exc:
        print(f"ganstudio: the desktop app cannot start: {exc}. Reinstall GAN Studio (pip install .), which brings "
              "PySide6 and pyqtgraph; the commands below work without them.\n", file=sys.stderr)
        parser.print_help()
        return EXIT_USER_ERROR
    return gui_main([])


COMMANDS = {"train": _command_train, "resume": _command_resume, "check": _command_check,
            "generate": _command_generate, "nearest": _command_nearest, "animate": _command_animate,
            "score": _command_score,
            "translate": _command_translate, "export-generator": _command_export_generator, "bench": _command_bench}


def _make_output_streams_safe() -> None:
    """Whatever is printed can be printed: a name that is not valid UTF-8 (held as surrogates) or a character the
    terminal's encoding lacks comes out as a backslash escape instead of ending the command."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass  # not a text stream of ours (None under pythonw, or a replaced stream): leave it be


def log_path() -> Path:
    """The command line's log of unexpected errors, beside the app's in the user data folder."""
    from .core.paths import data_dir
    return data_dir() / "logs" / "cli.log"


def _log_unexpected(error: BaseException, argv: list[str]) -> Path | None:
    """Append the traceback of an unexpected error to the log; its path, or None when it cannot be written."""
    path = log_path()
    entry = (f"{time.strftime('%Y-%m-%d %H:%M:%S')} ganstudio {__version__}: ganstudio {' '.join(argv)}\n"
             + "".join(traceback.format_exception(type(error), error, error.__traceback__)) + "\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > LOG_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
        # Appending, so that two commands failing at once each leave their whole entry.
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(entry)
    except OSError:
        return None
    return path


def _unexpected_error(error: Exception, argv: list[str]) -> int:
    """One sentence for a fault inside GAN Studio (a bug, not the user's doing), its details in the log."""
    first_line = (str(error).strip().splitlines() or [""])[0][:200]
    what = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    path = _log_unexpected(error, argv)
    where = (f"the details are in {path}" if path is not None
             else f"its details could not be written to {log_path()}")
    print(f"ganstudio: something went wrong inside GAN Studio ({what}); {where}. Please report it.",
          file=sys.stderr)
    return EXIT_USER_ERROR


def main(argv: list[str] | None = None) -> int:
    """Run one command; every error ends as one sentence on stderr, never a traceback."""
    _make_output_streams_safe()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _run_command(argv)
    except KeyboardInterrupt:
        print("ganstudio: interrupted.", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the one place every unexpected error becomes a sentence
        code = _unexpected_error(error, argv)
    return _end_process_after_a_process_group(code)


def _end_process_after_a_process_group(code: int) -> int:
    """`code`; but a process that trained under torchrun ends here, with it, skipping the interpreter's teardown.

    The run's files are written and closed by now; see distributed.must_skip_interpreter_teardown for the
    abort at teardown this avoids. Processes that never joined a group (the app, the suite) return as usual.
    """
    distributed = sys.modules.get("ganstudio.core.distributed")
    if distributed is None or not distributed.must_skip_interpreter_teardown():
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream has nothing left to say
    os._exit(code)


def _check_resume_folder(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """resume takes its folder as RUN or as --run-dir DIR: exactly one of them."""
    if args.run and args.run_dir and Path(args.run).expanduser().resolve() != Path(args.run_dir).expanduser().resolve():
        parser.error("give the run folder once: as RUN or as --run-dir, not both")
    args.run = args.run or args.run_dir
    if not args.run:
        parser.error("give the run folder to continue: ganstudio resume RUN (or --run-dir RUN)")


def _run_command(argv: list[str]) -> int:
    """Parse `argv` and run its command; errors the user can fix become their sentence here."""
    # Listing the models imports torch (seconds); only the train command needs them.
    parser = build_parser(with_models="train" in argv)
    args = parser.parse_args(argv)
    if args.command == "resume":
        _check_resume_folder(parser, args)
    if args.command == "train":
        _check_model_arguments(parser, args)
    if args.command is None:
        return _open_app(parser)
    from .core.errors import GanStudioError
    try:
        return COMMANDS[args.command](args)
    except GanStudioError as exc:
        print(f"ganstudio: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("ganstudio: interrupted; nothing was saved since the last checkpoint.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
