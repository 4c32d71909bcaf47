"""The declarations of the tables Daybreak writes outside dbt, one module per warehouse schema; the index of them
all, and how a warehouse is brought to them, is `daybreak.warehouse.tables`."""
