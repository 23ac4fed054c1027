"""History: what happened in each training epoch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from topokit._validation import check_real

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch training record; epoch ``e`` (1-based) is index ``e - 1`` of each list.

    Parameters
    ----------
    loss : list of float, optional
        Mean training loss over the epoch's minibatches (cross-entropy plus the L2
        penalty), measured as the minibatches went by.
    train_accuracy : list of float, optional
        Fraction of training samples classified right by the weights in force when
        each minibatch was seen.
    val_accuracy : list of float or None, optional
        Accuracy on the validation set after the epoch (None without one).
    seconds : list of float, optional
        Wall-clock seconds of the epoch's training steps, with the hooks called after
        them (validation and the end-of-epoch hooks excluded).
    learning_rate : list of float, optional
        Learning rate used in the epoch.

    Examples
    --------
    >>> from topokit.nn.history import History
    >>> h = History(loss=[1.0, 0.5], train_accuracy=[0.6, 0.9], val_accuracy=[None, None],
    ...             seconds=[0.1, 0.1], learning_rate=[0.01, 0.01])
    >>> h.epochs_to_reach(0.85), h.epochs_to_reach(0.95)
    (2, None)
    """

    loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    learning_rate: list = field(default_factory=list)

    @property
    def n_epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.loss)

    def epochs_to_reach(self, target) -> int | None:
        """First epoch (1-based) whose accuracy is at least ``target``; None if never.

        Validation accuracy is used where there is one, training accuracy otherwise.

        Parameters
        ----------
        target : float
            In [0, 1].

        Returns
        -------
        int or None
            The first epoch that reached ``target``, or None if none did.

        Raises
        ------
        TopokitError
            If ``target`` is not in [0, 1].

        Examples
        --------
        >>> from topokit.nn.history import History
        >>> h = History(loss=[1.0, 0.5], train_accuracy=[0.6, 0.9], val_accuracy=[0.5, 0.8],
        ...             seconds=[0.1, 0.1], learning_rate=[0.01, 0.01])
        >>> h.epochs_to_reach(0.8), h.epochs_to_reach(0.9)
        (2, None)
        """
        target = check_real("target_accuracy", target, low=0.0, high=1.0)
        for epoch, (val, train) in enumerate(
            zip(self.val_accuracy, self.train_accuracy, strict=True), start=1
        ):
            accuracy = train if val is None else val
            if accuracy is not None and accuracy >= target:
                return epoch
        return None

    def as_dict(self) -> dict:
        """The lists as a plain (JSON-ready) dict.

        Returns
        -------
        dict
            ``{"loss": [...], "train_accuracy": [...], "val_accuracy": [...],
            "seconds": [...], "learning_rate": [...]}``.

        Examples
        --------
        >>> from topokit.nn.history import History
        >>> History(loss=[0.5], train_accuracy=[0.9], val_accuracy=[None], seconds=[0.1],
        ...         learning_rate=[0.01]).as_dict()["val_accuracy"]
        [None]
        """
        return asdict(self)

    def _append(self, loss, train_accuracy, val_accuracy, seconds, learning_rate):
        self.loss.append(float(loss))
        self.train_accuracy.append(float(train_accuracy))
        self.val_accuracy.append(None if val_accuracy is None else float(val_accuracy))
        self.seconds.append(float(seconds))
        self.learning_rate.append(float(learning_rate))

    def __repr__(self):
        if not self.loss:
            return "History(n_epochs=0)"
        return (
            f"History(n_epochs={self.n_epochs}, loss={self.loss[-1]:.4g}, "
            f"train_accuracy={self.train_accuracy[-1]:.4g})"
        )
