"""``specstate report MODEL|RESULTS -o report.html``: one self-contained, interactive HTML page.

Examples
--------
::

    specstate report model.h5 -o model.html          # references, regions, fit plan
    specstate report results.nxs -o run.html         # the run (and the model it records)
    specstate report watch.csv --model model.h5 -o watch.html --plot panels/
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "an HTML report (one self-contained file) of a model file or a results file"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``specstate report``."""
    parser.add_argument("input", metavar="MODEL|RESULTS",
                        help="a model file (specstate fit -o) or a results file (classify or "
                             "watch -o: .nxs/.h5 or .csv)")
    parser.add_argument("-o", "--out", "--output", dest="output", metavar="FILE.html",
                        help="the report (default: the input's name with .html, here)")
    parser.add_argument("--model", metavar="MODEL",
                        help="results: the model to show (default: the one the results file "
                             "records, when it is there and unchanged)")
    parser.add_argument("--plot", metavar="DIR", type=Path,
                        help="also write each panel as a PNG file into DIR")
    parser.add_argument("--title", help="title of the page")


def run(args: argparse.Namespace) -> int:
    """Run ``specstate report``."""
    from ..exceptions import SpectraFileError
    from ..report.html import panels_of, report_html
    from ._common import check_output, check_output_folder, require

    require("bokeh", "report", "The HTML report")
    source = Path(args.input)
    if not source.is_file():
        raise SpectraFileError(f"The file '{source}' does not exist.")
    if args.model is not None and not Path(args.model).is_file():
        raise SpectraFileError(f"The model file '{args.model}' does not exist.")
    target = check_output(args.output or f"{source.stem}.html", ("report",))
    folder = check_output_folder(args.plot, option="--plot") if args.plot else None
    mp, rp, notes = panels_of(source, model=args.model)
    text = report_html(mp, rp, title=args.title or f"specstate report: {source.name}",
                       notes=notes)
    from ..io._files import atomic_write

    target.create_parent()
    with atomic_write(target.path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    for note in notes:
        print(f"note: {note}")
    print(f"Wrote {target.path} ({len(text.encode()) / 1e6:.1f} MB); open it in a browser.")
    if folder is not None:
        from ..report.png import save_panels

        folder.create_parent()
        files = save_panels(folder.path, mp, rp)
        print(f"Wrote {len(files)} panels into {folder.path}: "
              + ", ".join(f.name for f in files))
    return 0
