"""Errors of the local stack."""


class StackError(RuntimeError):
    """A stack service could not be fetched, started, checked or stopped."""


class PortTakenError(StackError):
    """A port the stack needs is already bound by another process."""
