"""What the learner sees: figures, pictures, widgets, the "What to notice" sentences, the loss landscape.

Nothing here computes a model or a metric: it draws and words what :mod:`rsna_workshop.model` and
:mod:`rsna_workshop.evaluation` produced.
"""
