"""The built-in rule pack. Importing these modules registers nothing: the
explicit list is ``checks.builtin.BUILTIN_RULES``."""
