"""Errors raised by the models package."""


class PackError(ValueError):
    """A model pack (or an artifact being imported) is invalid.

    The message always starts with the file at fault and, where there is one, the field,
    e.g. ``pack.json: heads[1].activation: expected one of softmax, sigmoid, none, got 'relu'``.
    """
