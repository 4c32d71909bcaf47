"""The foundation every layer imports and that imports nothing else of Daybreak: the environment (`settings`), the
words config and code share (`vocabulary`), atomic files (`files`), spreadsheet-safe CSV (`spreadsheet`) and who
may do what (`roles`)."""
