"""The backup machinery's one error type."""


class BackupError(Exception):
    """A backup, copy, drill or restore step failed; the message names the step, never data."""
