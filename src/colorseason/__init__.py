"""colorseason: personal colour (seasonal colour) diagnosis from one face photo."""

__version__ = "0.1.0"
