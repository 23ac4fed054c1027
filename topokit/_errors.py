"""The one exception type that topokit raises for bad input."""

__all__ = ["TopokitError"]


class TopokitError(ValueError):
    """Raised for input that topokit cannot accept.

    The message names the parameter, the constraint and the value given, and,
    where there is one, the nearest feasible choice.

    Examples
    --------
    >>> from topokit import TopokitError
    >>> issubclass(TopokitError, ValueError)
    True
    """
