"""The `--output` WAV file: checked before the conversation, written after it.

An `--output` naming the file that standard output goes to (`/dev/stdout`, `/dev/fd/1`,
or the file stdout is redirected to) gets the WAV alone, written to standard output as it
stands; the transcripts and summary that normally go there go to standard error instead
(`report_stream`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from .._wav import WavError, write_wav, write_wav_to
from ._errors import EXIT_FAILURE, EXIT_USAGE, CliError

__all__ = ["check_writable", "is_stdout", "report_stream", "write_output"]


def is_stdout(output: Path) -> bool:
    """Whether `output` is the file that standard output writes to."""
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(output))
    except (OSError, ValueError, AttributeError):  # no such file; stdout closed or no file
        return False


def report_stream(output: Path | None, out: TextIO | None) -> TextIO | None:
    """Where the conversation is printed: `out`, or standard error if the WAV takes stdout."""
    if out is None and output is not None and is_stdout(output):
        return sys.stderr
    return out


def check_writable(output: Path) -> None:
    """Fail before the conversation, not after it, when the WAV file cannot be written."""
    if is_stdout(output):
        return
    if output.is_dir():
        raise CliError(f"--output {output} is a directory", EXIT_USAGE)
    if output.exists():
        # A read-only file too: `write_wav` would rename a new file over it (the folder
        # allows that), and it refuses to; a pipe or a device is written to directly.
        if not os.access(output, os.W_OK):
            raise CliError(f"--output {output} is not writable", EXIT_USAGE)
        if not output.is_file():
            return
    # The folder the file will be made in: a symbolic link's target's (`write_wav` writes
    # there), not the link's.
    target = Path(os.path.realpath(output))
    folder = target.parent
    if not folder.is_dir():
        if not output.parent.is_dir():
            folder, link = output.parent, ""
        else:
            link = f" (it links to {target})"
        raise CliError(f"--output {output}: the folder {folder} does not exist{link}", EXIT_USAGE)
    if not os.access(folder, os.W_OK):
        raise CliError(f"--output {output}: the folder {folder} is not writable", EXIT_USAGE)


def write_output(output: Path, pcm: bytes, sample_rate: int) -> None:
    """Write the model's audio to `--output`; a failure is the run's (exit 1), one line.

    `WavError` is a configuration error (exit 2, like an unreadable input); a disk that
    fills up after the conversation is no bad argument. `write_wav` leaves any previous
    file as it was. Standard output is written to as it stands: a file it is redirected to
    is the shell's, and renaming the WAV over its path lost what was printed there (and
    with `>>`, what was there before).
    """
    try:
        if is_stdout(output):
            sys.stdout.flush()
            write_wav_to(sys.stdout.buffer, pcm, sample_rate=sample_rate, name=str(output))
        else:
            write_wav(output, pcm, sample_rate=sample_rate)
    except WavError as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
