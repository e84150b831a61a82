"""The model zoo. Importing this package imports every module in it, which registers its models.

To add a model, add a file here whose builders carry ``@register_model``; nothing else changes.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
