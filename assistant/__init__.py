"""baclofen-qa: answers questions about a medicine by quoting documents verbatim, with safety notices."""

__version__ = "0.1.0"
