"""The registry of layer-graph families: names, parameters, and one dispatcher."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from topokit._errors import TopokitError
from topokit.graph import LayerGraph

__all__ = ["Family", "Param", "check_feasible", "families", "get_family", "layer_graph", "register"]


def _parse_ints(text):
    if isinstance(text, str):
        parts = [part for part in text.replace(" ", "").split(",") if part]
        try:
            return [int(part) for part in parts]
        except ValueError as exc:
            raise TopokitError(f"expected comma-separated integers, got {text!r}") from exc
    return list(text)


_PARSERS = {"int": int, "float": float, "ints": _parse_ints, "str": str}


@dataclass(frozen=True)
class Param:
    """One family-specific parameter.

    Parameters
    ----------
    name : str
        The keyword the family function takes (``"p"``, ``"q"``, ...).
    kind : {"int", "float", "ints", "str"}
        Its type; ``"ints"`` is a list of ints, or a comma-separated string on the
        command line.
    default : object
        The value used when it is not given (None where the family derives it).
    constraint : str
        What values are allowed, in words.
    doc : str
        One line saying what it does.

    Examples
    --------
    >>> from topokit import get_family
    >>> p = get_family("small_world").param("p")
    >>> p.kind, p.default
    ('float', 0.1)
    """

    name: str
    kind: str
    default: object
    constraint: str
    doc: str

    def parse(self, text: str):
        """Convert a command-line string (``--param name=text``) to this parameter's type.

        Parameters
        ----------
        text : str
            The value as typed, e.g. ``"0.1"`` or ``"4,4,4"``.

        Returns
        -------
        int, float, list of int or str
            The value as :attr:`kind` says.

        Raises
        ------
        TopokitError
            If ``text`` is not of the parameter's type; the message names the parameter,
            its type and constraint, and the text given.

        Examples
        --------
        >>> from topokit import get_family
        >>> get_family("radix").param("radices").parse("4,4,4")
        [4, 4, 4]
        """
        try:
            return _PARSERS[self.kind](text)
        except ValueError as exc:
            raise TopokitError(
                f"parameter {self.name} must be of type {self.kind} ({self.constraint}), "
                f"got {text!r}"
            ) from exc


@dataclass(frozen=True)
class Family:
    """A family of layer graphs: its builder function and what it accepts.

    Parameters
    ----------
    name : str
        The public name (``"erdos_renyi"``, ...).
    function : callable
        ``function(n_in=None, n_out=None, *, density=None, degree=None, rng=None, **params)``
        returning a :class:`~topokit.LayerGraph`.
    summary : str
        One line saying what the family is.
    sizes : str
        The sizes it allows, in words.
    params : tuple of Param
        Its own parameters (beyond sizes, density/degree and rng).
    edge_count : {"given", "fixed"}
        ``"given"``: needs ``density`` or ``degree``; ``"fixed"``: sizes and parameters
        fix the edge count (a ``density``/``degree`` that disagrees is an error).
    random : bool
        Whether ``rng`` matters.
    fixes_sizes : bool
        Whether ``n_in``/``n_out`` may be omitted (the parameters determine them).
    check : callable
        ``check(n_in=None, n_out=None, *, density=None, degree=None, **params)``: the
        family's own validation, which ``function`` runs first. It raises the
        :class:`~topokit.TopokitError` that ``function`` raises for these arguments,
        without building anything (:func:`check_feasible` calls it).

    Examples
    --------
    >>> from topokit import get_family
    >>> family = get_family("projective_plane")
    >>> family.edge_count, family.random, family.fixes_sizes
    ('fixed', False, True)
    """

    name: str
    function: Callable
    summary: str
    sizes: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    edge_count: str = "given"
    random: bool = True
    fixes_sizes: bool = False
    check: Callable | None = None

    def param(self, name: str) -> Param:
        """The :class:`Param` called ``name``.

        Parameters
        ----------
        name : str
            A parameter of this family.

        Returns
        -------
        Param

        Raises
        ------
        TopokitError
            If the family has no such parameter; the message lists the valid ones.

        Examples
        --------
        >>> from topokit import get_family
        >>> get_family("scale_free").param("exponent").kind
        'float'
        """
        for param in self.params:
            if param.name == name:
                return param
        valid = ", ".join(p.name for p in self.params) or "none"
        raise TopokitError(
            f"unknown parameter {name!r} for family {self.name!r}; valid parameters: {valid}"
        )

    def describe(self) -> dict:
        """A JSON-ready description (what ``topokit families --json`` prints).

        Returns
        -------
        dict
            ``name``, ``summary``, ``sizes``, ``edge_count``, ``random``, ``fixes_sizes``
            and ``params``, a list of one dict per parameter (``name``, ``type``,
            ``default``, ``constraint``, ``doc``).

        Examples
        --------
        >>> from topokit import get_family
        >>> get_family("dense").describe()["params"]
        []
        """
        return {
            "name": self.name,
            "summary": self.summary,
            "sizes": self.sizes,
            "edge_count": self.edge_count,
            "random": self.random,
            "fixes_sizes": self.fixes_sizes,
            "params": [
                {
                    "name": p.name,
                    "type": p.kind,
                    "default": p.default,
                    "constraint": p.constraint,
                    "doc": p.doc,
                }
                for p in self.params
            ],
        }


_FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add ``family`` to the registry (checks that its function and check take its params)."""
    own = {p.name for p in family.params}
    signature = inspect.signature(family.function).parameters
    missing = ({"n_in", "n_out", "density", "degree", "rng"} | own) - set(signature)
    if missing:
        raise TypeError(f"family {family.name!r}: function lacks parameters {sorted(missing)}")
    if family.check is None:
        raise TypeError(f"family {family.name!r}: needs a check (its feasibility test)")
    missing = ({"n_in", "n_out", "density", "degree"} | own) - set(
        inspect.signature(family.check).parameters
    )
    if missing:
        raise TypeError(f"family {family.name!r}: check lacks parameters {sorted(missing)}")
    _FAMILIES[family.name] = family
    return family


def families() -> list[str]:
    """Names of all layer-graph families, in the order of DESIGN.md's table.

    Returns
    -------
    list of str
        The names that :func:`get_family` and :func:`layer_graph` accept.

    Examples
    --------
    >>> import topokit
    >>> "erdos_renyi" in topokit.families()
    True
    """
    return list(_FAMILIES)


def get_family(name: str) -> Family:
    """The :class:`Family` record called ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`families`.

    Returns
    -------
    Family

    Raises
    ------
    TopokitError
        If there is no such family; the message lists the valid names.

    Examples
    --------
    >>> from topokit import get_family
    >>> get_family("dense").edge_count
    'fixed'
    """
    if not isinstance(name, str) or name not in _FAMILIES:
        raise TopokitError(f"unknown family {name!r}; valid families: {', '.join(_FAMILIES)}")
    return _FAMILIES[name]


def _checked_call(family: str, n_in, n_out, params: dict) -> Family:
    """The family's record, once its name, parameter names and given sizes are valid."""
    record = get_family(family)
    for name in params:
        record.param(name)
    if not record.fixes_sizes and (n_in is None or n_out is None):
        raise TopokitError(
            f"family {family!r} needs n_in and n_out, got n_in={n_in}, n_out={n_out}"
        )
    return record


def check_feasible(family: str, n_in=None, n_out=None, *, density=None, degree=None, **params):
    """Check that :func:`layer_graph` can build this layer, without building it.

    Runs the checks :func:`layer_graph` runs before it builds (the family's name and
    parameters, the sizes, the edge count, the family's own constraints), at a cost
    that does not grow with the graph: ``check_feasible("projective_plane", 64, 64,
    q=2)`` raises the error that building would, and a feasible layer of a billion
    edges is checked in microseconds.

    Parameters
    ----------
    family : str
        A name from :func:`families`.
    n_in, n_out : int, optional
        Number of input and output neurons (may be omitted where the family's
        parameters fix them).
    density : float in (0, 1], optional
        Edge count as ``round(density * n_in * n_out)``.
    degree : int, optional
        Edge count as ``degree * n_out``.
    **params
        The family's own parameters.

    Returns
    -------
    None
        When the layer can be built.

    Raises
    ------
    TopokitError
        The error :func:`layer_graph` raises for the same arguments, naming the
        parameter, its constraint and the value given. Two failures only building can
        show are not predicted: a ``ramanujan`` layer whose ``max_attempts`` samples all
        miss the bound, and running out of memory.

    Examples
    --------
    >>> from topokit import check_feasible
    >>> check_feasible("erdos_renyi", 100_000, 100_000, density=0.1)
    >>> check_feasible("small_world", 64, 32, density=0.1, p=2.0)
    Traceback (most recent call last):
        ...
    topokit._errors.TopokitError: p must be in [0.0, 1.0], got 2.0
    """
    record = _checked_call(family, n_in, n_out, params)
    record.check(n_in, n_out, density=density, degree=degree, **params)


def layer_graph(
    family: str, n_in=None, n_out=None, *, density=None, degree=None, rng=None, **params
) -> LayerGraph:
    """Build one layer graph of the named family.

    Parameters
    ----------
    family : str
        A name from :func:`families`.
    n_in, n_out : int, optional
        Number of input and output neurons (may be omitted where the family's
        parameters fix them).
    density : float in (0, 1], optional
        Edge count as ``round(density * n_in * n_out)``.
    degree : int, optional
        Edge count as ``degree * n_out`` (the fan-in of each output neuron).
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same graph.
    **params
        The family's own parameters (see ``get_family(family).params``).

    Returns
    -------
    LayerGraph

    Raises
    ------
    TopokitError
        For an unknown family or parameter, or parameters the family cannot satisfy.

    Examples
    --------
    >>> from topokit import layer_graph
    >>> layer_graph("dense", 3, 2).n_edges
    6
    """
    record = _checked_call(family, n_in, n_out, params)
    graph = record.function(n_in, n_out, density=density, degree=degree, rng=rng, **params)
    graph.family = record.name
    graph.params = {**graph.params, **params}
    if record.random and rng is not None and not hasattr(rng, "bit_generator"):
        graph.seed = rng
    return graph
