"""The workshop itself: the recipes, the one resolver of names to data sets, notebook setup, the
lessons check and the notebook runner.

>>> from rsna_workshop.workshop import get_recipe, open_data
>>> get_recipe("experiment2").counts
{'normal': 1000, 'hemorrhage': 30}
"""

from .original import ORIGINAL_RESULTS, OriginalResult
from .recipes import RECIPES, Recipe, get_recipe
from .resolve import BUILTIN, ORIGINAL, open_data, recipe_dataset

__all__ = ["BUILTIN", "ORIGINAL", "ORIGINAL_RESULTS", "OriginalResult", "RECIPES", "Recipe", "get_recipe", "open_data", "recipe_dataset"]
