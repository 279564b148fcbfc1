"""Planted cases by the kind of fact their rules read (see :mod:`simulate.scenarios`)."""
