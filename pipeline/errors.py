"""The project's error types. Library code raises these; only the CLI turns them into exit codes.

- `InputError`: bad input or configuration (a params key, a spec line, a record column): the
  message names the file, the line or key, and the fix; nothing was written. Exit code 2.
- `Incomplete`: a stage stopped cleanly before finishing (the spending cap, requests that failed
  after every retry, executor tasks that failed); what was done is kept and a re-run continues.
  Exit code 3.
- `CheckFailed`: a check command (`msm spec lint`, `msm verify`) found faults and listed them.
  Exit code 1.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input or configuration; the message names the file, the line or key, and the fix."""


class ConfigError(InputError):
    """A bad `params.yaml`, `run.yaml` or resource file."""


class Incomplete(RuntimeError):
    """A stage stopped before finishing; everything done so far is kept, a re-run continues."""


class CheckFailed(RuntimeError):
    """A check found faults; they have been reported."""
