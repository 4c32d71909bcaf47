"""One module per model family, each a class implementing `daybreak.models.forecasting.family.Family`.

The registry (`daybreak.models.forecasting.registry`) lists them by name; nothing else names them.
"""
